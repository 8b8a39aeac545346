/**
 * Instance normalisation (Ulyanov, Vedaldi & Lempitsky 2016, "Instance Normalization: The Missing Ingredient for
 * Fast Stylization"): per image and channel, `gamma * (x − mean_hw) / sqrt(var_hw + eps) + beta`, with the
 * population variance over H×W. Statistics are always computed from the current image (training and inference),
 * as PyTorch's `nn.InstanceNorm2d(affine=True)` with track_running_stats=False does.
 */
import * as tf from '@tensorflow/tfjs-core';

/** x: [N,H,W,C]; gamma, beta: [C]. */
export function instanceNorm(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor4D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [1, 2], true);
    const normalized = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(normalized, gamma), beta) as tf.Tensor4D;
  });
}
