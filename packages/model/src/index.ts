// Public entry of @hokusai/model: the transformation networks, checkpoint format, pre/post-processing, errors.
// Gradients: tfjs-core's own first, then our exact MirrorPad gradient replaces its lossy one (order matters).
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { registerMirrorPadGradient } from './reflection-pad.ts';

registerMirrorPadGradient();

export * from './errors.ts';
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
export { engstromWeightSpecs, ENGSTROM_IN_EPS } from './engstrom-net.ts';
export { instanceNorm } from './instance-norm.ts';
export { reflectionPad2d, mirrorPadBackward, mirrorPadGradConfig, registerMirrorPadGradient } from './reflection-pad.ts';
