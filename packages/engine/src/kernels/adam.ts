/**
 * One Adam step (Kingma & Ba 2015) over a flat parameter buffer, in PyTorch's form and in the same float32
 * operation order as packages/train/src/adam.ts (no weight decay):
 *   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  p ← p − (lr/(1−β1^t)) · m / (√v/√(1−β2^t) + ε)
 * The step-dependent scalars live in a small `hyper` storage buffer (adamHyper) that the caller writes once per
 * step: the only per-step upload of a training step.
 */
import type { Binding, Dispatch, GpuContext } from '../gpu-context.ts';
import { check, type Param } from './common.ts';
import { elementwise } from './elementwise.ts';

/** Floats in the hyper buffer: β1, 1−β1, β2, 1−β2, lr/(1−β1^t), √(1−β2^t), ε, (unused). */
export const ADAM_HYPER_FLOATS = 8;

/** The hyper buffer's contents for step t (1-based: the t-th update), computed in float64 as adam.ts does. */
export function adamHyper(h: { beta1: number; beta2: number; epsilon: number; lr: number; t: number }): Float32Array {
  check('adamHyper', Number.isInteger(h.t) && h.t >= 1, `t must be an integer ≥ 1 (the step about to be applied), got ${h.t}`);
  const bc1 = 1 - Math.pow(h.beta1, h.t);
  const bc2 = Math.sqrt(1 - Math.pow(h.beta2, h.t));
  return Float32Array.from([h.beta1, 1 - h.beta1, h.beta2, 1 - h.beta2, h.lr / bc1, bc2, h.epsilon, 0]);
}

/** Updates param, m and v in place from grad, for `count` floats. */
export function adam(
  ctx: GpuContext,
  s: { count: number },
  b: { param: Binding; grad: Binding; m: Binding; v: Binding; hyper: Binding },
): Dispatch[] {
  const params: Param[] = [
    { name: 'p', access: 'read_write', binding: b.param },
    { name: 'g', access: 'read', binding: b.grad },
    { name: 'm', access: 'read_write', binding: b.m },
    { name: 'v', access: 'read_write', binding: b.v },
    { name: 'hyper', access: 'read', binding: b.hyper },
  ];
  return elementwise(ctx, 'adam', s.count, params, /* wgsl */ `
  let gi = g[i];
  let m1 = hyper[0] * m[i] + hyper[1] * gi;
  let v1 = hyper[2] * v[i] + hyper[3] * (gi * gi);
  let denom = sqrt(v1) / hyper[5] + hyper[6];
  p[i] = p[i] - hyper[4] * (m1 / denom);
  m[i] = m1;
  v[i] = v1;`);
}
