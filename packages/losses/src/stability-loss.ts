/**
 * Stability loss of Gupta et al. 2017, "Characterizing and Improving Stability in Neural Style Transfer": the
 * network's output for a photo x and for x plus small Gaussian noise must match, so that frame-to-frame sensor
 * noise in a video does not change the painted texture: L = mean((f(x) − f(x + n))²), n ~ N(0, σ²) in grey levels
 * (0–255 inputs, clipped to that range), on the same 0–255 output scale as the other losses. Optionally with
 * Gupta et al.'s small shift: the noisy photo is also moved by a random whole number of pixels and the output
 * moved back, which for whole-pixel shifts is cropping both alike (`shiftCrop`); a network that paints on a fixed
 * 4-pixel grid (its ×4 down/upsampling) is penalised for it, the main source of flicker under motion
 * (docs/video.md). The crop's borders see different padding than the full image: a small floor the loss cannot
 * remove. `shiftWarp` is the sub-pixel form: a fractional offset, the window interpolated bilinearly from the four
 * whole-pixel windows around it, as a slow pan moves a video (docs/video.md's clips move 0.2–0.4 px per frame).
 * The difference is squared (Gupta et al.'s MSE) or taken absolute (`l1`): the form `hokusai flicker` measures,
 * which weighs the widespread small shimmer as much as a few large changes (docs/video.md).
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@hokusai/errors';
import { meanAll } from './reduce.ts';

/** x + N(0, σ²) noise, clipped to 0–255; `seed` makes the draw reproducible (a resumed run draws the same). */
export function addSensorNoise(x: tf.Tensor4D, sigma: number, seed: number): tf.Tensor4D {
  if (!(sigma >= 0)) throw new InvalidArgumentError(`stability noise σ: expected ≥ 0 grey levels, got ${sigma}`);
  return tf.tidy(() => (sigma === 0 ? tf.clone(x) : tf.clipByValue(tf.add(x, tf.randomNormal(x.shape, 0, sigma, 'float32', seed)), 0, 255)) as tf.Tensor4D);
}

/** How much shorter than the image a shifted window's sides are: `shift` rounded up to a multiple of 4. */
export function shiftCut(shift: number): number {
  return 4 * Math.ceil(shift / 4);
}

/**
 * The window of `t` ([N,H,W,C]) at offset (dy, dx) whose sides are `shift` rounded up to a multiple of 4 shorter
 * (so the transformation network maps it to an output of its own size); dy, dx in [0, shift].
 */
export function shiftCrop(t: tf.Tensor4D, dy: number, dx: number, shift: number): tf.Tensor4D {
  const [n, h, w, c] = t.shape;
  const cut = shiftCut(shift);
  if (!(dy >= 0 && dx >= 0 && dy <= shift && dx <= shift) || h - cut < 4 || w - cut < 4) {
    throw new InvalidArgumentError(`shiftCrop: expected offsets in [0, ${shift}] of an image larger than ${cut + 4}², got (${dy}, ${dx}) of ${h}×${w}`);
  }
  return tf.slice(t, [0, dy, dx, 0], [n, h - cut, w - cut, c]);
}

/**
 * shiftCrop at a fractional offset (dy, dx) in [0, shift]²: the window of the same size, bilinear between the
 * whole-pixel windows at floor and floor + 1 on each axis (a whole offset takes one window). Differentiable.
 */
export function shiftWarp(t: tf.Tensor4D, dy: number, dx: number, shift: number): tf.Tensor4D {
  const y0 = Math.floor(dy);
  const x0 = Math.floor(dx);
  const fy = dy - y0;
  const fx = dx - x0;
  return tf.tidy(() => {
    const along = (y: number): tf.Tensor4D => {
      const left = shiftCrop(t, y, x0, shift);
      return fx === 0 ? left : (tf.add(tf.mul(left, 1 - fx), tf.mul(shiftCrop(t, y, x0 + 1, shift), fx)) as tf.Tensor4D);
    };
    const top = along(y0);
    return fy === 0 ? top : (tf.add(tf.mul(top, 1 - fy), tf.mul(along(y0 + 1), fy)) as tf.Tensor4D);
  });
}

/**
 * `t` ([N,H,W,C]) without `margin` px on each side: the part of a shifted window's output compared by the stability
 * loss, where the window's borders saw other padding than the whole photo did (`--stability-margin`).
 */
export function innerWindow(t: tf.Tensor4D, margin: number): tf.Tensor4D {
  const [n, h, w, c] = t.shape;
  if (!(Number.isInteger(margin) && margin >= 0 && h - 2 * margin >= 1 && w - 2 * margin >= 1)) {
    throw new InvalidArgumentError(`innerWindow: expected a whole margin ≥ 0 that leaves pixels of ${h}×${w}, got ${margin}`);
  }
  return margin === 0 ? t : tf.slice(t, [0, margin, margin, 0], [n, h - 2 * margin, w - 2 * margin, c]);
}

/** How the stability loss compares the two outputs: Gupta et al.'s mean squared difference, or the mean absolute one. */
export const STABILITY_NORMS = ['mse', 'l1'] as const;
export type StabilityNorm = (typeof STABILITY_NORMS)[number];

/** mean((y − yNoisy)²), or mean|y − yNoisy| for `l1`, over the batch: the outputs for a photo and its noisy copy. */
export function stabilityLoss(y: tf.Tensor4D, yNoisy: tf.Tensor4D, norm: StabilityNorm = 'mse'): tf.Scalar {
  if (y.rank !== 4 || y.shape.join() !== yNoisy.shape.join()) {
    throw new InvalidArgumentError(`stabilityLoss expects two outputs of one shape [N,H,W,C], got [${y.shape.join(', ')}] and [${yNoisy.shape.join(', ')}]`);
  }
  if (!STABILITY_NORMS.includes(norm)) throw new InvalidArgumentError(`stabilityLoss: expected norm ${STABILITY_NORMS.join(' or ')}, got ${String(norm)}`);
  return tf.tidy(() => meanAll(norm === 'l1' ? tf.abs(tf.sub(y, yNoisy)) : tf.squaredDifference(y, yNoisy)) as tf.Scalar);
}
