// Public entry of @hokusai/optimize: the per-image optimiser of Gatys et al. 2016 ("Image Style Transfer Using
// Convolutional Neural Networks"), the reference mode of `hokusai optimize`: L-BFGS and Adam over pixels,
// coarse-to-fine multiscale, colour transfer, memory planning, GIF and contact-sheet outputs.
export {
  GATYS_CONTENT_LAYERS,
  GATYS_STYLE_LAYERS,
  PixelObjective,
  initialImage,
  runOptimization,
  toTensor,
  type LossTerms,
  type OptimizeResult,
  type OptimizeSettings,
} from './optimize.ts';
export { planLevels } from './multiscale.ts';
export {
  checkStyleFits,
  deepestLayer,
  estimateMemory,
  fits,
  formatBytes,
  largestFittingSize,
  memoryBudget,
  shortfall,
  type MemoryBudget,
} from './memory-estimate.ts';
export { GifRecorder } from './gif.ts';
export { renderContactSheet, type SheetCell } from './contact-sheet.ts';
