/**
 * The tiled GEMM skeleton behind every matrix-shaped kernel (conv forward, both conv gradients, matmul): a TM×TN
 * tile of C per workgroup, staged TK at a time through workgroup memory, RM×RN accumulators per thread. The
 * caller supplies WGSL functions `load_a(z, m, k) -> f32`, `load_b(z, k, n) -> f32` (return 0 outside the matrix)
 * and `store(z, m, n, v)`; z is the batch (or split-K chunk) index. This is what makes the convolutions implicit
 * GEMMs: their loaders address the input directly instead of an im2col copy.
 */
import type { Dispatch, GpuContext } from '../gpu-context.ts';
import { bindings, check, checkInts, declare, grid1d, LINEAR_WG, u, type Param } from './common.ts';

/** GEMM tiling: a TM×TN output tile per workgroup, RM×RN per thread, K staged TK at a time. */
export interface GemmTiles {
  tm: number;
  tn: number;
  tk: number;
  rm: number;
  rn: number;
}

/** Default tiles for N columns: 256 threads; TN follows N (so 3-column layers do not waste 61 of 64 columns). */
export function defaultTiles(n: number): GemmTiles {
  let tn = 4;
  while (tn < n && tn < 64) tn *= 2;
  const wgx = Math.min(16, tn);
  const rn = tn / wgx;
  const rm = 4;
  const tm = (256 / wgx) * rm;
  const tk = (tm + tn) * 16 * 4 <= 16384 ? 16 : 8;
  return { tm, tn, tk, rm, rn };
}

export function checkTiles(kernel: string, t: GemmTiles): void {
  checkInts(kernel, t, ['tm', 'tn', 'tk', 'rm', 'rn']);
  check(kernel, t.tm % t.rm === 0 && t.tn % t.rn === 0, `tile ${t.tm}x${t.tn} must be a multiple of ${t.rm}x${t.rn}`);
  const threads = (t.tm / t.rm) * (t.tn / t.rn);
  check(kernel, threads <= 256, `tile ${t.tm}x${t.tn} with ${t.rm}x${t.rn} per thread needs ${threads} threads (> 256)`);
  check(kernel, (t.tm + t.tn) * t.tk * 4 <= 16384, `tile needs ${(t.tm + t.tn) * t.tk * 4} bytes of workgroup memory (> 16384)`);
}

export interface GemmSpec {
  label: string;
  /** Rows, columns and reduction length of each of the `batch` products. */
  m: number;
  n: number;
  k: number;
  batch: number;
  tiles: GemmTiles;
  params: readonly Param[];
  /** WGSL constants and the functions load_a, load_b, store (and any helpers they use). */
  functions: string;
}

/** One dispatch of the tiled GEMM described by `g`. */
export function gemmDispatch(ctx: GpuContext, g: GemmSpec): Dispatch {
  const t = g.tiles;
  checkTiles(g.label, t);
  const wgx = t.tn / t.rn;
  const wgy = t.tm / t.rm;
  const tilesM = Math.ceil(g.m / t.tm);
  const tilesN = Math.ceil(g.n / t.tn);
  check(g.label, g.batch * tilesN <= 65535, `batch ${g.batch} × ${tilesN} column tiles exceeds 65535 workgroups`);
  const code = `
${declare(g.params)}
const GM = ${u(g.m)}; const GN = ${u(g.n)}; const GK = ${u(g.k)};
const TM = ${u(t.tm)}; const TN = ${u(t.tn)}; const TK = ${u(t.tk)};
const RM = ${t.rm}; const RN = ${t.rn}; const WGX = ${u(wgx)}; const WGY = ${u(wgy)};
const TILES_M = ${u(tilesM)}; const TILES_N = ${u(tilesN)};
var<workgroup> As: array<f32, ${t.tk * t.tm}>;
var<workgroup> Bs: array<f32, ${t.tk * t.tn}>;
${g.functions}
@compute @workgroup_size(${wgx}, ${wgy})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let tile_m = ${LINEAR_WG};
  if (tile_m >= TILES_M) { return; }
  let z = wg.z / TILES_N;
  let m0 = tile_m * TM; let n0 = (wg.z % TILES_N) * TN;
  var acc: array<f32, ${t.rm * t.rn}>;
  for (var k0 = 0u; k0 < GK; k0 += TK) {
    for (var i = li; i < TM * TK; i += ${u(wgx * wgy)}) {
      let mm = i / TK; let kk = i % TK;
      var v = 0.0;
      if (m0 + mm < GM && k0 + kk < GK) { v = load_a(z, m0 + mm, k0 + kk); }
      As[kk * TM + mm] = v;
    }
    for (var i = li; i < TK * TN; i += ${u(wgx * wgy)}) {
      let kk = i / TN; let nn = i % TN;
      var v = 0.0;
      if (k0 + kk < GK && n0 + nn < GN) { v = load_b(z, k0 + kk, n0 + nn); }
      Bs[i] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      var a: array<f32, RM>; var bv: array<f32, RN>;
      for (var r = 0; r < RM; r++) { a[r] = As[kk * TM + lid.y + u32(r) * WGY]; }
      for (var c = 0; c < RN; c++) { bv[c] = Bs[kk * TN + lid.x + u32(c) * WGX]; }
      for (var r = 0; r < RM; r++) {
        for (var c = 0; c < RN; c++) { acc[r * RN + c] = fma(a[r], bv[c], acc[r * RN + c]); }
      }
    }
    workgroupBarrier();
  }
  for (var r = 0; r < RM; r++) {
    let m = m0 + lid.y + u32(r) * WGY;
    for (var c = 0; c < RN; c++) {
      let n = n0 + lid.x + u32(c) * WGX;
      if (m < GM && n < GN) { store(z, m, n, acc[r * RN + c]); }
    }
  }
}`;
  const [gx, gy] = grid1d(tilesM);
  return ctx.dispatch(g.label, code, bindings(g.params), [gx, gy, g.batch * tilesN]);
}

