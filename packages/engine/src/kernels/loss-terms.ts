/**
 * Glue kernels of the perceptual loss of Johnson et al. 2016 ("Perceptual Losses for Real-Time Style Transfer and
 * Super-Resolution"; definitions in docs/losses.md) on the engine: the VGG "caffe" preprocessing (RGB → BGR minus
 * the ImageNet mean), the ReLU gradient mask, the content difference and its gradient, Gram minus its target (the
 * style gradient's scale goes into the matmul's alpha), and total variation with its gradient, which also turns
 * VGG's BGR input gradient back into the RGB gradient of the network's output. Per-element loss terms are left in
 * buffers for `reduce`; every loss is a sum of squares or a sum over a buffer.
 */
import type { Binding, Dispatch, GpuContext } from '../gpu-context.ts';
import { f, u } from './common.ts';
import { elementwise } from './elementwise.ts';

/** ImageNet mean, BGR order (Keras "caffe" preprocessing). */
export const IMAGENET_MEAN_BGR: readonly [number, number, number] = [103.939, 116.779, 123.68];

/** y[p, c] = x[p, 2 − c] − meanBGR[c] over `pixels` RGB pixels (0–255) → VGG's BGR input. */
export function vggPreprocess(ctx: GpuContext, s: { pixels: number }, b: { x: Binding; y: Binding }): Dispatch[] {
  const [m0, m1, m2] = IMAGENET_MEAN_BGR;
  return elementwise(
    ctx,
    'vggPreprocess',
    s.pixels * 3,
    [
      { name: 'x', access: 'read', binding: b.x },
      { name: 'y', access: 'read_write', binding: b.y },
    ],
    `  let c = i % 3u;
  let mean = select(select(${f(m2)}, ${f(m1)}, c == 1u), ${f(m0)}, c == 0u);
  y[i] = x[i - c + 2u - c] - mean;`,
  );
}

/** In place: g[i] = y[i] > 0 ? g[i] : 0 (the gradient through a ReLU whose output is y). */
export function reluBackward(ctx: GpuContext, s: { count: number }, b: { g: Binding; y: Binding }): Dispatch[] {
  return elementwise(
    ctx,
    'reluBackward',
    s.count,
    [
      { name: 'g', access: 'read_write', binding: b.g },
      { name: 'y', access: 'read', binding: b.y },
    ],
    `  if (y[i] <= 0.0) { g[i] = 0.0; }`,
  );
}

/**
 * Content loss at one layer: diff = fy − fc (its sum of squares / count is the loss); grad (+)= scale·diff with
 * scale = 2·contentWeight·w_l / count, the gradient of the weighted mean square.
 */
export function contentDiff(
  ctx: GpuContext,
  s: { count: number; scale: number; accumulate: boolean },
  b: { fy: Binding; fc: Binding; diff: Binding; grad: Binding },
): Dispatch[] {
  return elementwise(
    ctx,
    'contentDiff',
    s.count,
    [
      { name: 'fy', access: 'read', binding: b.fy },
      { name: 'fc', access: 'read', binding: b.fc },
      { name: 'diff', access: 'read_write', binding: b.diff },
      { name: 'grad', access: 'read_write', binding: b.grad },
    ],
    `  let d = fy[i] - fc[i];
  diff[i] = d;
  grad[i] = ${s.accumulate ? 'grad[i] + ' : ''}${f(s.scale)} * d;`,
  );
}

/** In place over n Gram matrices [n, c, c]: g[b] −= target (one [c, c] target for the batch). */
export function gramMinusTarget(ctx: GpuContext, s: { n: number; c: number }, b: { gram: Binding; target: Binding }): Dispatch[] {
  return elementwise(
    ctx,
    'gramMinusTarget',
    s.n * s.c * s.c,
    [
      { name: 'gram', access: 'read_write', binding: b.gram },
      { name: 'tgt', access: 'read', binding: b.target },
    ],
    `  gram[i] = gram[i] - tgt[i % ${u(s.c * s.c)}];`,
  );
}

export interface TvShape {
  n: number;
  h: number;
  w: number;
  /** tvWeight: the gradient added is tvWeight · ∂tv/∂y. */
  weight: number;
}

/**
 * Total variation of y [n, h, w, 3] and the output gradient: terms[i] = (right difference)²/Cx + (down
 * difference)²/Cy (their sum is tv; Cx = n·h·(w−1)·3, Cy = n·(h−1)·w·3), and
 * dy[i] = dBgr[i with its channel reversed] + weight · ∂tv/∂y[i], VGG's BGR input gradient back in RGB order.
 */
export function tvAndOutputGrad(ctx: GpuContext, s: TvShape, b: { y: Binding; dBgr: Binding; dy: Binding; terms: Binding }): Dispatch[] {
  const cx = 1 / (s.n * s.h * (s.w - 1) * 3);
  const cy = 1 / (s.n * (s.h - 1) * s.w * 3);
  const row = 3 * s.w;
  return elementwise(
    ctx,
    'tvAndOutputGrad',
    s.n * s.h * s.w * 3,
    [
      { name: 'y', access: 'read', binding: b.y },
      { name: 'dBgr', access: 'read', binding: b.dBgr },
      { name: 'dy', access: 'read_write', binding: b.dy },
      { name: 'terms', access: 'read_write', binding: b.terms },
    ],
    `  let c = i % 3u;
  let col = (i / 3u) % ${u(s.w)};
  let r = (i / ${u(row)}) % ${u(s.h)};
  let v = y[i];
  var term = 0.0;
  var g = 0.0;
  if (col + 1u < ${u(s.w)}) { let d = y[i + 3u] - v; term = term + d * d * ${f(cx)}; g = g - d * ${f(2 * cx)}; }
  if (col > 0u) { g = g + (v - y[i - 3u]) * ${f(2 * cx)}; }
  if (r + 1u < ${u(s.h)}) { let d = y[i + ${u(row)}] - v; term = term + d * d * ${f(cy)}; g = g - d * ${f(2 * cy)}; }
  if (r > 0u) { g = g + (v - y[i - ${u(row)}]) * ${f(2 * cy)}; }
  terms[i] = term;
  dy[i] = dBgr[i - c + 2u - c] + ${f(s.weight)} * g;`,
  );
}
