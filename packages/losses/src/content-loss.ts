/**
 * Feature reconstruction (content) loss of Johnson et al. 2016: at layer l, the mean over N·C·H·W of
 * (φ_l(y) − φ_l(c))², i.e. the batch mean of the per-image mean over C·H·W.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@hokusai/errors';
import { meanAll } from './reduce.ts';

export function contentLoss(features: tf.Tensor4D, target: tf.Tensor4D): tf.Scalar {
  if (features.shape.join() !== target.shape.join()) {
    throw new InvalidArgumentError(
      `contentLoss expects features and target of the same shape, but got [${features.shape.join(', ')}] and [${target.shape.join(', ')}]`,
    );
  }
  return tf.tidy(() => meanAll(tf.squaredDifference(features, target)));
}
