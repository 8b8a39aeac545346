// Public entry of @hokusai/node.
export { writeFileAtomic } from './atomic-file.ts';
// Checkpoint folders: atomic, crash-safe save; load repairs an interrupted save; a missing one lists those that exist.
export {
  saveCheckpointDir,
  loadCheckpointDir,
  readCheckpointMeta,
  recoverCheckpointDir,
  checkpointNotFoundError,
  listCheckpointDirs,
  bundledCheckpointsDir,
} from './checkpoint-store.ts';
export {
  readImage,
  probeImage,
  encodeImage,
  writeImage,
  rgbToTensor,
  tensorToRgb,
  tensorToRgbAsync,
  sniffImage,
  formatFromPath,
  IMAGE_FORMATS,
  DEFAULT_MAX_PIXELS,
  type RgbImage,
  type ImageFormat,
  type ReadImageOptions,
} from './image-io.ts';
export {
  initBackend,
  probeWebGpu,
  wasmBinaryDir,
  BACKEND_NAMES,
  type BackendName,
  type ConcreteBackendName,
  type BackendInfo,
  type WebGpuAdapterSummary,
} from './backend.ts';
export {
  registerKernelFixes,
  unregisterKernelFixes,
  builtinKernel,
  setIm2colChunkFloats,
  KERNEL_FIXES,
  type KernelFix,
} from './kernels/index.ts';
export { download, md5File, type DownloadOptions } from './download.ts';
// Where the shared data (weights, sample images, reference models) lives: $HOKUSAI_SHARED or ../shared.
export { sharedDataDir, sharedPath, SHARED_DATA_ENV } from './shared-data.ts';
export {
  loadLossWeights,
  importLossWeights,
  listLossWeights,
  fetchLossWeights,
  weightsCacheDir,
  OFFICIAL_WEIGHTS,
  type OfficialWeights,
  type CachedWeights,
  type ImportOptions,
  type LoadLossWeightsOptions,
  type FetchOptions,
} from './weights-store.ts';
