// Public entry of @hokusai/node.
export { writeFileAtomic } from './atomic-file.ts';
export { saveCheckpointDir, loadCheckpointDir } from './checkpoint-dir.ts';
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
