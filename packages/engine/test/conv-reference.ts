// The reference convolution the kernel tests compare against: tfjs ops (cpu backend) for nearest upsample,
// mirror/zero padding, conv2d valid, bias and ReLU, with the same semantics as the engine's Conv2dShape.
import * as tf from '@tensorflow/tfjs-core';
import type { Conv2dShape } from '../src/kernels/conv2d.ts';

/**
 * pad(upsample(x)) as a tf op chain (used inside tf.tidy / tf.grad). Nearest upsampling by reshape + tile, not
 * tf.image.resizeNearestNeighbor: the cpu backend's gradient of that op is wrong for batch > 1 (measured here:
 * batch 2 differs from the two images' gradients computed one at a time by 177%).
 */
export function padUpsample(s: Conv2dShape, x: tf.Tensor4D): tf.Tensor4D {
  let t = x;
  if (s.upsample === 2) {
    // Columns, then rows (tile's gradient exists up to rank 4).
    const cols = tf.tile(tf.reshape(t, [s.n * s.inH, s.inW, 1, s.inC]), [1, 1, 2, 1]);
    const rows = tf.tile(tf.reshape(cols, [s.n * s.inH, 1, 2 * s.inW * s.inC]), [1, 2, 1]);
    t = tf.reshape(rows, [s.n, s.inH * 2, s.inW * 2, s.inC]);
  }
  if (s.pad > 0) {
    const p: [number, number][] = [[0, 0], [s.pad, s.pad], [s.pad, s.pad], [0, 0]];
    t = s.padMode === 'reflect' ? tf.mirrorPad(t, p, 'reflect') : tf.pad(t, p);
  }
  return t;
}

/** The full forward as a tf op chain. */
export function convOp(s: Conv2dShape, x: tf.Tensor4D, w: tf.Tensor4D, bias?: tf.Tensor1D): tf.Tensor4D {
  let y = tf.conv2d(padUpsample(s, x), w, s.stride, 'valid');
  if (bias !== undefined) y = tf.add(y, bias);
  if (s.relu === true) y = tf.relu(y);
  return y;
}

export function conv2dReference(s: Conv2dShape, x: Float32Array, w: Float32Array, bias?: Float32Array): Float32Array {
  return tf.tidy(() => {
    const y = convOp(
      s,
      tf.tensor4d(x, [s.n, s.inH, s.inW, s.inC]),
      tf.tensor4d(w, [s.k, s.k, s.inC, s.outC]),
      bias === undefined ? undefined : tf.tensor1d(bias),
    );
    return y.dataSync() as Float32Array;
  });
}
