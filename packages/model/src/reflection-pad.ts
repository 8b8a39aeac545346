/**
 * Reflection padding (PyTorch `nn.ReflectionPad2d`, TF `MirrorPad` in REFLECT mode) and an exact gradient for
 * tfjs's `MirrorPad` kernel.
 *
 * tfjs-core 4.22's MirrorPad gradient only slices the centre out of dy, dropping the gradient that flows into the
 * reflected border pixels. `mirrorPadGradConfig` folds the padded borders back onto the pixels they were copied
 * from (what PyTorch's ReflectionPad2d backward does), for both 'reflect' (offset 1) and 'symmetric' (offset 0).
 * `registerMirrorPadGradient()` installs it in the global gradient registry; index.ts calls it after importing
 * tfjs-core's register_all_gradients so ours wins.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@hokusai/errors';

type Paddings = Array<[number, number]>;

/** Gradient of MirrorPad w.r.t. its input: dy (padded shape) → dx (input shape), borders folded back. */
export function mirrorPadBackward(
  dy: tf.Tensor,
  xShape: readonly number[],
  paddings: Paddings,
  mode: 'reflect' | 'symmetric',
): tf.Tensor {
  const offset = mode === 'reflect' ? 1 : 0;
  return tf.tidy(() => {
    let g = dy;
    for (let axis = 0; axis < xShape.length; axis++) {
      const [before, after] = paddings[axis] ?? [0, 0];
      if (before === 0 && after === 0) continue;
      const n = xShape[axis] ?? 0;
      const size = (start: number, len: number): { begin: number[]; size: number[] } => {
        const begin = g.shape.map(() => 0);
        const sz = g.shape.map((d) => d);
        begin[axis] = start;
        sz[axis] = len;
        return { begin, size: sz };
      };
      const zeroPads = (lo: number, hi: number): Array<[number, number]> =>
        g.shape.map((_, i) => (i === axis ? [lo, hi] : [0, 0]) as [number, number]);
      const c = size(before, n);
      let folded = tf.slice(g, c.begin, c.size);
      if (before > 0) {
        const l = size(0, before);
        const left = tf.reverse(tf.slice(g, l.begin, l.size), axis);
        folded = tf.add(folded, tf.pad(left, zeroPads(offset, n - offset - before)));
      }
      if (after > 0) {
        const r = size(before + n, after);
        const right = tf.reverse(tf.slice(g, r.begin, r.size), axis);
        folded = tf.add(folded, tf.pad(right, zeroPads(n - offset - after, offset)));
      }
      g = folded;
    }
    return g === dy ? tf.clone(dy) : g;
  });
}

/** Exact gradient config for tfjs's 'MirrorPad' kernel (both modes). */
export const mirrorPadGradConfig: tf.GradConfig = {
  kernelName: tf.MirrorPad,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const x = saved[0];
    if (x === undefined || Array.isArray(dy)) throw new Error('MirrorPad gradient: expected one input and one dy');
    const { paddings, mode } = attrs as unknown as { paddings: Paddings; mode: 'reflect' | 'symmetric' };
    return { x: () => mirrorPadBackward(dy, x.shape, paddings, mode) };
  },
};

/** Installs the exact MirrorPad gradient (idempotent; call after tfjs-core's own gradients are registered). */
export function registerMirrorPadGradient(): void {
  tf.registerGradient(mirrorPadGradConfig);
}

/**
 * Re-installs our gradient if something registered another one since (e.g. @tensorflow/tfjs-node's bundle, which
 * registers all of tfjs's gradients when it is loaded after this package). One map lookup; called on every pad.
 */
export function ensureMirrorPadGradient(): void {
  if (tf.getGradient(tf.MirrorPad) !== mirrorPadGradConfig) tf.registerGradient(mirrorPadGradConfig);
}

/**
 * Reflection-pads the spatial dims of an NHWC tensor (PyTorch ReflectionPad2d semantics: the edge pixel is not
 * repeated). Each pad must be smaller than the padded dimension.
 */
export function reflectionPad2d(
  x: tf.Tensor4D,
  top: number,
  bottom: number = top,
  left: number = top,
  right: number = left,
): tf.Tensor4D {
  const [, h, w] = x.shape;
  if (Math.max(top, bottom) >= h || Math.max(left, right) >= w) {
    throw new InvalidArgumentError(
      `Reflection padding needs each pad smaller than the dimension it pads: got height ${h} with pads ` +
        `${top}/${bottom}, width ${w} with pads ${left}/${right}`,
    );
  }
  if (top === 0 && bottom === 0 && left === 0 && right === 0) return x;
  ensureMirrorPadGradient();
  return tf.mirrorPad(
    x,
    [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ],
    'reflect',
  );
}
