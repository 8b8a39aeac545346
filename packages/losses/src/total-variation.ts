/**
 * Total-variation regulariser (Mahendran & Vedaldi 2015; used by Johnson et al. 2016): mean of squared horizontal
 * neighbour differences plus mean of squared vertical neighbour differences, on the 0–255 RGB image batch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@hokusai/errors';
import { meanAll } from './reduce.ts';

export function totalVariation(images: tf.Tensor4D): tf.Scalar {
  const [n, h, w, c] = images.shape;
  if (images.rank !== 4 || h < 2 || w < 2) {
    throw new InvalidArgumentError(`totalVariation expects images [N,H,W,C] with H,W >= 2, but got [${images.shape.join(', ')}]`);
  }
  return tf.tidy(() => {
    const dx = tf.sub(tf.slice(images, [0, 0, 1, 0], [n, h, w - 1, c]), tf.slice(images, [0, 0, 0, 0], [n, h, w - 1, c]));
    const dy = tf.sub(tf.slice(images, [0, 1, 0, 0], [n, h - 1, w, c]), tf.slice(images, [0, 0, 0, 0], [n, h - 1, w, c]));
    return tf.add(meanAll(tf.square(dx)), meanAll(tf.square(dy))) as tf.Scalar;
  });
}
