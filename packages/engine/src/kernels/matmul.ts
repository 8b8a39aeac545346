/**
 * Batched GEMM C = alpha·op(A)·op(B) (+ C when accumulating) on the gemm-tile skeleton, row-major, op = optional
 * transpose. Used for the gradient of the style loss's Gram matrices (Gatys et al. 2016), dF = F·(dG + dGᵀ)·alpha;
 * the Gram G = FᵀF/(C·H·W) itself, whose reduction over HW is long, is kernels/gram.ts (split-K).
 */
import type { Binding, Dispatch, GpuContext } from '../gpu-context.ts';
import { check, checkInts, f, u, type Param } from './common.ts';
import { defaultTiles, gemmDispatch, type GemmTiles } from './gemm-tile.ts';

export interface MatmulShape {
  batch: number;
  /** C is m×n per batch; the reduction is k long. */
  m: number;
  n: number;
  k: number;
  /** A is stored [k, m] (else [m, k]); B is stored [n, k] (else [k, n]). */
  transA: boolean;
  transB: boolean;
  alpha: number;
  /** C += alpha·op(A)·op(B) instead of C = … */
  accumulate?: boolean;
}

/** c[batch, m, n] = alpha·op(a)·op(b) (+ c). a, b, c must not alias c (except through accumulate's read of c). */
export function matmul(
  ctx: GpuContext,
  s: MatmulShape,
  b: { a: Binding; b: Binding; c: Binding },
  tiles: GemmTiles = defaultTiles(s.n),
): Dispatch[] {
  checkInts('matmul', s, ['batch', 'm', 'n', 'k']);
  check('matmul', Number.isFinite(s.alpha), `alpha must be finite, got ${s.alpha}`);
  const params: Param[] = [
    { name: 'a', access: 'read', binding: b.a },
    { name: 'b', access: 'read', binding: b.b },
    { name: 'c', access: 'read_write', binding: b.c },
  ];
  const mk = u(s.m * s.k);
  const kn = u(s.k * s.n);
  const functions = `
fn load_a(z: u32, m: u32, k: u32) -> f32 { return a[z * ${mk} + ${s.transA ? `k * GM + m` : `m * GK + k`}]; }
fn load_b(z: u32, k: u32, n: u32) -> f32 { return b[z * ${kn} + ${s.transB ? `n * GK + k` : `k * GN + n`}]; }
fn store(z: u32, m: u32, n: u32, v: f32) {
  let i = (z * GM + m) * GN + n;
  c[i] = ${s.accumulate === true ? 'c[i] + ' : ''}${f(s.alpha)} * v;
}`;
  return [
    gemmDispatch(ctx, {
      label: `matmul ${s.batch}x${s.m}x${s.n}x${s.k}${s.transA ? ' Aᵀ' : ''}${s.transB ? ' Bᵀ' : ''}`,
      m: s.m, n: s.n, k: s.k, batch: s.batch, tiles, params, functions,
    }),
  ];
}
