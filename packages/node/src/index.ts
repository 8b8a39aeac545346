// Public entry of @hokusai/node.
export { writeFileAtomic } from './atomic-file.ts';
export { packageVersion } from './package-version.ts';
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
  formatFromPath,
  IMAGE_FORMATS,
  DEFAULT_MAX_PIXELS,
  type RgbImage,
  type ReadImageOptions,
} from './image-io.ts';
// The one image sniffer: format by magic bytes, strict header size, pixel limit (the server's upload gate uses it).
export {
  sniffImage,
  sniffImageSize,
  requireImageFormat,
  checkPixelLimit,
  type ImageFormat,
  type ImageHeader,
  type Sniffed,
} from './image-sniff.ts';
export {
  initBackend,
  probeWebGpu,
  gpuDeviceFiles,
  wasmBinaryDir,
  BACKEND_NAMES,
  type BackendName,
  type ConcreteBackendName,
  type BackendInfo,
  type WebGpuAdapterSummary,
} from './backend.ts';
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
// Video I/O with FFmpeg (issue 21): finding the program, probing, decoding to RGB frames, atomic encoding.
export { findFfmpeg, runFfmpeg, ffmpegTail, FFMPEG_ENV, type FfmpegBinary } from './video/ffmpeg-binary.ts';
export { probeVideo, parseFfmpegInfo, type VideoInfo } from './video/video-probe.ts';
export { decodeFrames, decodeArgs, type DecodeOptions } from './video/video-decode.ts';
export {
  createVideoEncoder,
  checkWritable,
  containerFromPath,
  needsEvenSize,
  encodeArgs,
  VIDEO_EXTENSIONS,
  type VideoContainer,
  type VideoEncoder,
  type EncodeOptions,
} from './video/video-encode.ts';
export { frameListFor, listFrameFiles, type FrameList } from './video/frame-folder.ts';
// Yielding to Node's event loop from long synchronous tensor loops (training steps, L-BFGS iterations).
export { yieldToEventLoop } from './event-loop.ts';
// Flicker of a network on video, measured without optical flow (issue 21): clips of known motion made from a still.
export { makeMotionClip, type MotionKind } from './video/motion-clip.ts';
export { flickerRatio, meanWarpedChange, measureFlicker, warpedDifference, type FlickerResult } from './video/flicker-measure.ts';
