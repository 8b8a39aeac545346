// Public entry of @hokusai/model: the transformation networks, checkpoint format, pre/post-processing.
// Gradients: tfjs-core's own first, then our exact MirrorPad gradient replaces its lossy one (order matters).
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { registerMirrorPadGradient } from './reflection-pad.ts';

registerMirrorPadGradient();

export { FULL_NET, HALF_NET, NetConfigSchema, describeNetConfig, type NetConfig } from './net-config.ts';
export { type WeightSpec, shapeSize } from './weight-spec.ts';
export {
  TransformerNet,
  weightSpecs,
  johnsonWeightSpecs,
  upsampleNearest2x,
  padSpatialTo,
  planReflectPad,
  JOHNSON_IN_EPS,
} from './transformer-net.ts';
export { noiseTile, inputNoiseField, gaussianSampler, NOISE_TILE } from './input-noise.ts';
export { engstromWeightSpecs, convTranspose3x3Stride2, ENGSTROM_IN_EPS } from './engstrom-net.ts';
export { instanceNorm } from './instance-norm.ts';
export {
  reflectionPad2d,
  mirrorPadBackward,
  mirrorPadGradConfig,
  registerMirrorPadGradient,
  ensureMirrorPadGradient,
} from './reflection-pad.ts';
export {
  CheckpointMetaSchema,
  StyleImageRefSchema,
  CHECKPOINT_META_FORMAT_VERSION,
  defaultCheckpointMeta,
  type CheckpointMeta,
  type StyleImageRef,
} from './checkpoint-meta.ts';
export {
  serializeCheckpoint,
  serializeCheckpointAsync,
  parseCheckpoint,
  parseModelJson,
  parseCheckpointMeta,
  decodeWeights,
  loadCheckpointFromUrl,
  unsafeManifestPathReason,
  ModelJsonSchema,
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  CHECKPOINT_FILES,
  type CheckpointFiles,
  type ModelJson,
  type WeightEntry,
} from './checkpoint.ts';
export { encodeFloat16, decodeFloat16, float32ToFloat16Bits, float16BitsToFloat32, FLOAT16_MAX } from './float16.ts';
export {
  stylizeTensor,
  validateStylizeOptions,
  luminance,
  rgbToYCbCr,
  yCbCrToRgb,
  transferLuminance,
  type StylizeOptions,
} from './stylize.ts';
export { finishPixels } from './pixel-finish.ts';
export { importMl5, ml5VariableName } from './ml5-import.ts';
