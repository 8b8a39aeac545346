/**
 * Accurate mean of all elements: one axis at a time (innermost first), so each step sums at most one dimension's
 * worth of values. A single float32 reduction over ~10⁶ elements (tfjs wasm sums sequentially) drifts by ~1e-3
 * relative; averaging means of equal-sized groups is the same value with rounding error of only the largest axis.
 */
import * as tf from '@tensorflow/tfjs-core';

export function meanAll(x: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    let y = x;
    while (y.rank > 1) y = tf.mean(y, -1);
    return tf.mean(y) as tf.Scalar;
  });
}
