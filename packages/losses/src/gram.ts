/**
 * Gram matrix of feature maps (Gatys et al. 2016, "Image Style Transfer Using Convolutional Neural Networks";
 * normalised as in Johnson et al. 2016): G = F Fᵀ / (C·H·W), F the C×(H·W) feature matrix of each image.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@hokusai/errors';

/** `[N,H,W,C]` features → `[N,C,C]` Gram matrices, divided by C·H·W. */
export function gram(features: tf.Tensor4D): tf.Tensor3D {
  if (features.rank !== 4) {
    throw new InvalidArgumentError(`gram expects features [N,H,W,C], but got shape [${features.shape.join(', ')}]`);
  }
  const [n, h, w, c] = features.shape;
  return tf.tidy(() => {
    const f = tf.reshape(features, [n, h * w, c]) as tf.Tensor3D;
    return tf.div(tf.matMul(f, f, true, false), c * h * w) as tf.Tensor3D;
  });
}
