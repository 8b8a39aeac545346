/**
 * Stability loss of Gupta et al. 2017, "Characterizing and Improving Stability in Neural Style Transfer": the
 * network's output for a photo x and for x plus small Gaussian noise must match, so that frame-to-frame sensor
 * noise in a video does not change the painted texture: L = mean((f(x) − f(x + n))²), n ~ N(0, σ²) in grey levels
 * (0–255 inputs, clipped to that range), on the same 0–255 output scale as the other losses.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@hokusai/model';
import { meanAll } from './reduce.ts';

/** x + N(0, σ²) noise, clipped to 0–255; `seed` makes the draw reproducible (a resumed run draws the same). */
export function addSensorNoise(x: tf.Tensor4D, sigma: number, seed: number): tf.Tensor4D {
  if (!(sigma >= 0)) throw new InvalidArgumentError(`stability noise σ: expected ≥ 0 grey levels, got ${sigma}`);
  return tf.tidy(() => (sigma === 0 ? tf.clone(x) : tf.clipByValue(tf.add(x, tf.randomNormal(x.shape, 0, sigma, 'float32', seed)), 0, 255)) as tf.Tensor4D);
}

/** mean((y − yNoisy)²) over the batch: the outputs for a photo and for its noisy copy. */
export function stabilityLoss(y: tf.Tensor4D, yNoisy: tf.Tensor4D): tf.Scalar {
  if (y.rank !== 4 || y.shape.join() !== yNoisy.shape.join()) {
    throw new InvalidArgumentError(`stabilityLoss expects two outputs of one shape [N,H,W,C], got [${y.shape.join(', ')}] and [${yNoisy.shape.join(', ')}]`);
  }
  return tf.tidy(() => meanAll(tf.squaredDifference(y, yNoisy)) as tf.Scalar);
}
