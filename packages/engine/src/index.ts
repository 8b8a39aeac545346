/**
 * @hokusai/engine: Hokusai's own WebGPU engine for the Johnson et al. 2016 transformation network and its VGG
 * perceptual loss (inference and training), running under Dawn in Node and in browsers. The tfjs path stays the
 * reference; this engine is checked against it (see test/).
 */
export { GpuContext, STORAGE_USAGE, type Binding, type Dispatch, type GpuCounters } from './gpu-context.ts';
export {
  conv2d, conv2dOutSize, checkConv2dShape, defaultConvTiles, type Conv2dShape, type ConvTiles,
} from './kernels/conv2d.ts';
export {
  instanceNorm, instanceNormBackward, instanceNormScratchBytes, type InstanceNormShape,
} from './kernels/instance-norm.ts';
export { ParamLayout, PARAM_ALIGN_BYTES, type ParamEntry, type NamedWeights } from './param-layout.ts';
export {
  requestEngineDevice, describeEngineAdapter, limitsShortfall, checkMemoryPlan, formatBytes, ENGINE_MIN_LIMITS,
  type EngineDevice, type EngineAdapterInfo, type MemoryPlan,
} from './device.ts';
export { reflectIndexMap, noiseField, paddedSide, padInput, cropImage } from './kernels/pad-crop.ts';
export {
  TransformerGraph, johnsonStages, johnsonConfig, transformerGraphBytes, type BatchSize, type StagePlan, type JohnsonConfig,
} from './transformer-graph.ts';
export { TransformerForward, readNetWeights, checkForwardFits, type EngineNet } from './transformer-forward.ts';
export { defaultTiles, type GemmTiles } from './kernels/gemm-tile.ts';
export {
  conv2dBackpropInput, conv2dBackpropFilter, conv2dBackpropFilterScratchFloats, conv2dBackpropFilterSplit,
} from './kernels/conv2d-backprop.ts';
export { add, addInto, fill } from './kernels/elementwise.ts';
export {
  maxPool2x2, maxPool2x2Backward, avgPool2x2, avgPool2x2Backward, poolOutSize, type PoolShape,
} from './kernels/pool.ts';
export { matmul, type MatmulShape } from './kernels/matmul.ts';
export { gram, gramSplit, gramScratchFloats, type GramShape } from './kernels/gram.ts';
export { adam, adamHyper, ADAM_HYPER_FLOATS } from './kernels/adam.ts';
export { reduce, reduceScratchFloats, type ReduceOp, type ReduceShape } from './kernels/reduce.ts';
export { transformerBackward } from './transformer-backward.ts';
export { VggGraph, VggWeightsBuffer, vggConvsFromKeras, type VggConv } from './vgg-graph.ts';
export { LossGraph, type EngineLossSettings, type EngineLossValues } from './loss-graph.ts';
export { EngineTrainStep, type TrainStepSpec, type AdamSettings, type AdamMoments } from './train-step.ts';
export { trainStepMemory, checkTrainStepFits } from './memory-plan.ts';
