/**
 * Resolution consistency for pixel optimisation (Gatys et al. 2015, arXiv 1508.06576; the coarse-to-fine scheme
 * of Gatys et al. 2016, arXiv 1606.05897 section 3, and jcjohnson/neural-style's multires recipes): the loss
 * network's receptive fields are fixed in pixels, so a single run at 1024 px paints strokes half as big, relative to
 * the picture, as one at 512 px, and from noise it never finds the large-scale composition. Two fixes:
 * - the style image is resized relative to the output (its long edge = styleScale × the level's long edge), so
 *   the style's strokes keep their size relative to the picture at every resolution;
 * - coarse-to-fine: optimise at a small size, upsample the result, continue at the next size (each level doubles
 *   the long edge). By default (`scales: 0`) levels are added until the coarsest is at most 512 px, so a 512 px
 *   run is one level and a 1024 px run is the 512 px run refined at 1024.
 * The first level runs `iterations`; each finer level runs half as many as the one before (it starts close).
 */
import * as tf from '@tensorflow/tfjs-core';

export const AUTO_COARSEST = 512;
/**
 * Smallest long edge of a level or style image: VGG pools 4 times before relu5_1, and tfjs-backend-wasm 4.22's
 * MaxPool reads out of bounds on the 3×2 maps a 24×16 image gives (RuntimeError: memory access out of bounds).
 */
export const MIN_SIDE = 32;

export interface Level {
  width: number;
  height: number;
  /** Long edge of the style image(s) at this level. */
  styleLongEdge: number;
  iterations: number;
}

export interface PlanInput {
  /** Content image size (the aspect ratio to keep). */
  contentWidth: number;
  contentHeight: number;
  /** Long edge of the output. */
  size: number;
  /** Number of levels; 0 = auto (coarsest ≤ AUTO_COARSEST px). */
  scales: number;
  /** Style long edge relative to the output's (ignored when styleSize > 0). */
  styleScale: number;
  /** Fixed style long edge in pixels at every level (0 = relative, the default). */
  styleSize?: number;
  iterations: number;
}

export function autoScales(size: number): number {
  return size <= AUTO_COARSEST ? 1 : 1 + Math.ceil(Math.log2(size / AUTO_COARSEST));
}

export function dimsForLongEdge(width: number, height: number, long: number): { width: number; height: number } {
  return width >= height
    ? { width: long, height: Math.max(1, Math.round((long * height) / width)) }
    : { width: Math.max(1, Math.round((long * width) / height)), height: long };
}

/** Levels coarse to fine; the last one is exactly `size` on its long edge. */
export function planLevels(p: PlanInput): Level[] {
  const n = p.scales > 0 ? p.scales : autoScales(p.size);
  const levels: Level[] = [];
  for (let k = 0; k < n; k++) {
    const long = Math.max(MIN_SIDE, Math.round(p.size / 2 ** (n - 1 - k)));
    const dims = dimsForLongEdge(p.contentWidth, p.contentHeight, long);
    levels.push({
      ...dims,
      styleLongEdge: Math.max(MIN_SIDE, p.styleSize && p.styleSize > 0 ? p.styleSize : Math.round(long * p.styleScale)),
      iterations: Math.max(1, Math.round(p.iterations / 2 ** k)),
    });
  }
  return levels;
}

/**
 * Resize an NHWC image: area-average first when shrinking by 2× or more (integer box filter, so large paintings
 * do not alias), then bilinear with half-pixel centres to the exact size.
 */
export function resizeImage(x: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
  return tf.tidy(() => {
    let y = x;
    const [, h, w] = x.shape;
    const f = Math.floor(Math.min(h / height, w / width));
    if (f >= 2) y = tf.avgPool(y, [f, f], [f, f], 'valid');
    if (y.shape[1] === height && y.shape[2] === width) return y === x ? tf.clone(x) : y;
    return tf.image.resizeBilinear(y, [height, width], false, true);
  });
}
