/**
 * Pre/post-processing around a transformation network: run it on one HWC 0–255 image, optionally keep the input's
 * colours (luminance-only transfer, Gatys, Bethge, Hertzmann & Shechtman 2016, "Preserving Color in Neural
 * Artistic Style Transfer": output's Y with the input's Cb/Cr in JPEG/BT.601 full-range YCbCr), blend with the
 * input by `strength`, and clip to 0–255.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@hokusai/errors';
import type { TransformerNet } from './transformer-net.ts';

export interface StylizeOptions {
  /** 0 = the input unchanged, 1 = fully stylised (default 1); linear blend in between. */
  strength?: number;
  /** Keep the input's colours: take only the luminance (Y of YCbCr) from the stylised output. */
  preserveColors?: boolean;
}

/** JPEG (BT.601 full-range) luma of an [..., 3] RGB tensor. */
export function luminance(rgb: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sum(tf.mul(rgb, tf.tensor1d([0.299, 0.587, 0.114])), -1, true));
}

/** RGB → YCbCr (JPEG full range, Cb/Cr centred on 128), [..., 3] → [..., 3]. */
export function rgbToYCbCr(rgb: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const m = tf.tensor2d(
      [
        [0.299, -0.168736, 0.5],
        [0.587, -0.331264, -0.418688],
        [0.114, 0.5, -0.081312],
      ],
      [3, 3],
    );
    const flat = tf.reshape(rgb, [-1, 3]);
    return tf.reshape(tf.add(tf.matMul(flat, m), tf.tensor1d([0, 128, 128])), rgb.shape);
  });
}

/** YCbCr (JPEG full range) → RGB, [..., 3] → [..., 3]. */
export function yCbCrToRgb(ycc: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const m = tf.tensor2d(
      [
        [1, 1, 1],
        [0, -0.344136, 1.772],
        [1.402, -0.714136, 0],
      ],
      [3, 3],
    );
    const flat = tf.sub(tf.reshape(ycc, [-1, 3]), tf.tensor1d([0, 128, 128]));
    return tf.reshape(tf.matMul(flat, m), ycc.shape);
  });
}

/** Output's luminance with the input's chroma: YCbCr(Y of styled, CbCr of original) → RGB. */
export function transferLuminance(styled: tf.Tensor, original: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const s = rgbToYCbCr(styled);
    const o = rgbToYCbCr(original);
    const last = s.rank - 1;
    const y = tf.slice(s, s.shape.map(() => 0), [...s.shape.slice(0, last), 1]);
    const cbcr = tf.slice(o, [...o.shape.slice(0, last).map(() => 0), 1], [...o.shape.slice(0, last), 2]);
    return yCbCrToRgb(tf.concat([y, cbcr], last));
  });
}

export function validateStylizeOptions(opts: StylizeOptions): { strength: number; preserveColors: boolean } {
  const strength = opts.strength ?? 1;
  if (typeof strength !== 'number' || !Number.isFinite(strength) || strength < 0 || strength > 1) {
    throw new InvalidArgumentError(`strength must be a number in [0, 1], got ${String(strength)}`);
  }
  const preserveColors = opts.preserveColors ?? false;
  if (typeof preserveColors !== 'boolean') {
    throw new InvalidArgumentError(`preserveColors must be a boolean, got ${JSON.stringify(preserveColors)}`);
  }
  return { strength, preserveColors };
}

/**
 * Stylises one image: [H,W,3] RGB 0–255 (any numeric dtype) → [H,W,3] float32 0–255, clipped.
 * Order: network → clip → (preserveColors) luminance transfer → blend with the input by strength → clip.
 */
export function stylizeTensor(net: TransformerNet, image: tf.Tensor3D, opts: StylizeOptions = {}): tf.Tensor3D {
  const { strength, preserveColors } = validateStylizeOptions(opts);
  if (image.rank !== 3 || image.shape[2] !== 3) {
    throw new InvalidArgumentError(`stylizeTensor expects an [H,W,3] RGB image tensor, got shape [${image.shape.join(',')}]`);
  }
  if (image.shape[0] < 1 || image.shape[1] < 1) {
    throw new InvalidArgumentError(`stylizeTensor expects a non-empty image, got shape [${image.shape.join(',')}]`);
  }
  return tf.tidy(() => {
    const x = image.dtype === 'float32' ? image : tf.cast(image, 'float32');
    if (strength === 0) return tf.clipByValue(x, 0, 255) as tf.Tensor3D;
    let y: tf.Tensor = tf.clipByValue(tf.squeeze(net.apply(tf.expandDims(x, 0) as tf.Tensor4D), [0]), 0, 255);
    if (preserveColors) y = transferLuminance(y, x);
    if (strength < 1) y = tf.add(tf.mul(y, strength), tf.mul(x, 1 - strength));
    return tf.clipByValue(y, 0, 255) as tf.Tensor3D;
  });
}
