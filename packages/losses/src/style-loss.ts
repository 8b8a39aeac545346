/**
 * Style reconstruction loss of Johnson et al. 2016 (after Gatys et al. 2016): at layer l, the mean over C·C of
 * (G_l(y) − G_l(s))², averaged over the batch; G normalised by C·H·W (see gram.ts), so the loss does not depend on
 * the image size.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@hokusai/errors';
import { meanAll } from './reduce.ts';
import { gram } from './gram.ts';

/** `grams` `[N,C,C]`, `target` `[C,C]` (shared by the batch) or `[N,C,C]`. */
export function styleLossFromGrams(grams: tf.Tensor3D, target: tf.Tensor2D | tf.Tensor3D): tf.Scalar {
  const c = grams.shape[2];
  const t = target.shape;
  if (t[t.length - 1] !== c || t[t.length - 2] !== c || (t.length === 3 && t[0] !== grams.shape[0])) {
    throw new InvalidArgumentError(
      `styleLoss expects a Gram target [${c}, ${c}] or [${grams.shape.join(', ')}], but got [${t.join(', ')}]`,
    );
  }
  return tf.tidy(() => meanAll(tf.squaredDifference(grams, target)));
}

/** Style loss of features `[N,H,W,C]` against a Gram target. */
export function styleLoss(features: tf.Tensor4D, target: tf.Tensor2D | tf.Tensor3D): tf.Scalar {
  return tf.tidy(() => styleLossFromGrams(gram(features), target));
}
