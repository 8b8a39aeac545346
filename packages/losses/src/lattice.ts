/**
 * Lattice penalty: how much of an image is a pattern periodic with the transformation network's stride.
 *
 * The image transformation network of Johnson et al. 2016 downsamples by 4 and upsamples back (nearest-neighbour
 * resize then convolution, Odena et al. 2016, "Deconvolution and Checkerboard Artifacts"), so it is equivariant only
 * to shifts by multiples of 4 and can paint a pattern of period 4 (or 2) anchored to the pixel grid: the
 * checkerboard. Short CPU runs draw one from the style loss (docs/training.md, "starry-night's lattice"). TV
 * penalises all fine detail alike; this term penalises only the part of it that repeats with that period.
 *
 * Definition: cut the image into windows of `cells`×`cells` blocks of `period`×`period` pixels; in each window and
 * channel take the mean of each of the period² phases (pixels at the same position within their block) and the mean
 * of those means; the penalty is the mean squared difference between the two (units of TV: 0–255 RGB squared). A
 * lattice of amplitude A scores about A²/2; brush strokes, texture and noise have phase means that differ only by
 * their sampling noise, about variance/cells². Default 32 cells (128 px windows, a whole training crop): on kodim23
 * at 512 px the photo scores 0.4, the great-wave network's output 1.1, The Starry Night 2.2, and the output of a
 * network that paints a visible period-4 weave 4.5 (with 8 cells the photo's edges alone score 6.4).
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@hokusai/errors';
import { meanAll } from './reduce.ts';

export interface LatticeOptions {
  /** Period in pixels: the network's total stride. Default 4 (Johnson's network: two stride-2 layers). */
  period?: number;
  /** Window side in blocks (the phase means are taken per window). Default 32; smaller for images under period·cells. */
  cells?: number;
}

/** Lattice penalty of an image batch `[N,H,W,C]` (0–255); differentiable; see the module comment. */
export function latticePenalty(images: tf.Tensor4D, opts: LatticeOptions = {}): tf.Scalar {
  const period = opts.period ?? 4;
  const wantCells = opts.cells ?? 32;
  if (!Number.isInteger(period) || period < 2) {
    throw new InvalidArgumentError(`latticePenalty expects an integer period >= 2, but got ${String(period)}`);
  }
  if (!Number.isInteger(wantCells) || wantCells < 1) {
    throw new InvalidArgumentError(`latticePenalty expects an integer cells >= 1, but got ${String(wantCells)}`);
  }
  const [n, h, w, c] = images.shape;
  if (images.rank !== 4 || h < 2 * period || w < 2 * period) {
    throw new InvalidArgumentError(
      `latticePenalty expects images [N,H,W,C] with H,W >= ${2 * period} (twice the period), but got [${images.shape.join(', ')}]`,
    );
  }
  // At least two blocks per window: with one, the "phase means" are single pixels and all detail would count.
  const cells = Math.max(2, Math.min(wantCells, Math.floor(Math.min(h, w) / period)));
  const k = period * cells;
  const rows = Math.floor(h / k);
  const cols = Math.floor(w / k);
  return tf.tidy(() => {
    // Windows that do not fit whole at the right and bottom edges are left out. Reshapes and means only (every
    // backend has their gradients): [N, rows, cells, period, cols, cells, period, C], merged where contiguous.
    const x = tf.slice(images, [0, 0, 0, 0], [n, rows * k, cols * k, c]);
    const blocks = tf.reshape(x, [n * rows, cells, period, cols, cells, period * c]);
    const means = tf.reshape(tf.mean(blocks, [1, 4]), [n * rows, period, cols, period, c]);
    const centred = tf.sub(means, tf.mean(means, [1, 3], true));
    return meanAll(tf.square(centred));
  });
}
