// Public entry of @hokusai/train: the style-network trainer (Johnson et al. 2016, "Perceptual Losses for Real-Time
// Style Transfer and Super-Resolution"): options and presets, data pipeline, the training loop on tfjs or the
// WebGPU engine, run folders with exact resume. The `hokusai train` command (packages/cli) drives it.
export { trainSchema, type TrainOptions } from './options.ts';
export { PRESETS } from './presets.ts';
export {
  backendOption,
  cacheDirOption,
  defaultCacheDir,
  latticeWeightOption,
  lossNetOption,
  poolingOption,
  styleBlurOption,
  weightsOption,
  BACKENDS,
} from './common-options.ts';
export { preflight } from './preflight.ts';
export { TrainingData, decodeResized, holdOut, scanImages } from './dataset.ts';
export { Trainer, autoMicroBatch, type SampleImage, type TrainerConfig, type TrainerIO, type TrainResult } from './trainer.ts';
export { listCheckpoints, readJson, resolveResume, writeText } from './run-dir.ts';
export { chooseEngine, engineSupport, selectEngine, type EngineChoice, type EngineDeviceRequest, type EngineOptions } from './engine-step.ts';
export { runEngineTraining, type EngineRunConfig, type EngineRunOptions } from './engine-trainer.ts';
