/**
 * 2-D convolution forward as an implicit GEMM (the im2col matrix is never materialised): Y[M×N] = A[M×K]·W[K×N]
 * with M = n·outH·outW output pixels, N = outC, K = k·k·inC, W the tfjs [kh, kw, inC, outC] weights read as a
 * row-major K×N matrix. The input is nearest-upsampled and reflect/zero padded (PyTorch ReflectionPad2d, as in
 * the Johnson et al. 2016 transformation network) inside the A addressing, so no padded copy exists; bias and
 * ReLU are fused into the store. Tiles of A and W are staged in workgroup memory; each thread owns RM×RN outputs.
 */
import type { Binding, Dispatch, GpuContext } from '../gpu-context.ts';
import { check, checkInts, declare, bindings, grid1d, LINEAR_WG, u, type Param } from './common.ts';

export interface Conv2dShape {
  n: number;
  inH: number;
  inW: number;
  inC: number;
  outC: number;
  /** Square kernel size. */
  k: number;
  stride: number;
  /** Padding on every side, applied after upsampling. */
  pad: number;
  padMode: 'reflect' | 'zero';
  /** Nearest-neighbour upsampling factor applied to x before padding. */
  upsample: 1 | 2;
  relu?: boolean;
}

/** GEMM tiling: a TM×TN output tile per workgroup, RM×RN per thread, K staged TK at a time. */
export interface ConvTiles {
  tm: number;
  tn: number;
  tk: number;
  rm: number;
  rn: number;
}

/** Output height and width of `s`: floor((in·upsample + 2·pad − k)/stride) + 1. */
export function conv2dOutSize(s: Conv2dShape): { outH: number; outW: number } {
  return {
    outH: Math.floor((s.inH * s.upsample + 2 * s.pad - s.k) / s.stride) + 1,
    outW: Math.floor((s.inW * s.upsample + 2 * s.pad - s.k) / s.stride) + 1,
  };
}

/** Throws INVALID_ARGUMENT unless `s` is a convolution this engine can run. */
export function checkConv2dShape(kernel: string, s: Conv2dShape): void {
  checkInts(kernel, s, ['n', 'inH', 'inW', 'inC', 'outC', 'k', 'stride']);
  checkInts(kernel, s, ['pad'], 0);
  check(kernel, s.upsample === 1 || s.upsample === 2, `upsample must be 1 or 2, got ${String(s.upsample)}`);
  check(kernel, s.padMode === 'reflect' || s.padMode === 'zero', `padMode must be 'reflect' or 'zero', got ${String(s.padMode)}`);
  const h = s.inH * s.upsample;
  const w = s.inW * s.upsample;
  if (s.padMode === 'reflect') {
    check(kernel, s.pad < h && s.pad < w, `reflect padding ${s.pad} needs an (upsampled) input larger than it, got ${h}x${w}`);
  }
  const { outH, outW } = conv2dOutSize(s);
  check(kernel, outH >= 1 && outW >= 1, `kernel ${s.k} does not fit the padded ${h}x${w} input (pad ${s.pad})`);
}

/** Default tiles: 256 threads; TN follows outC (so the 3-channel layers do not waste 60 of 64 columns). */
export function defaultConvTiles(outC: number): ConvTiles {
  let tn = 4;
  while (tn < outC && tn < 64) tn *= 2;
  const wgx = Math.min(16, tn);
  const rn = tn / wgx;
  const rm = 4;
  const tm = (256 / wgx) * rm;
  const tk = (tm + tn) * 16 * 4 <= 16384 ? 16 : 8;
  return { tm, tn, tk, rm, rn };
}

function checkTiles(kernel: string, t: ConvTiles): void {
  checkInts(kernel, t, ['tm', 'tn', 'tk', 'rm', 'rn']);
  check(kernel, t.tm % t.rm === 0 && t.tn % t.rn === 0, `tile ${t.tm}x${t.tn} must be a multiple of ${t.rm}x${t.rn}`);
  const threads = (t.tm / t.rm) * (t.tn / t.rn);
  check(kernel, threads <= 256, `tile ${t.tm}x${t.tn} with ${t.rm}x${t.rn} per thread needs ${threads} threads (> 256)`);
  check(kernel, (t.tm + t.tn) * t.tk * 4 <= 16384, `tile needs ${(t.tm + t.tn) * t.tk * 4} bytes of workgroup memory (> 16384)`);
}

/**
 * WGSL function `src_index(b, py, px, ci) -> i32`: the index into the NHWC input x of the padded, upsampled
 * image's pixel (py, px) (i32, may be outside), or −1 where zero padding reads a zero.
 */
export function sourceIndexWgsl(s: Conv2dShape): string {
  const uh = s.inH * s.upsample;
  const uw = s.inW * s.upsample;
  const fold = (v: string, size: number): string =>
    s.padMode === 'reflect'
      ? `var ${v} = ${v}0; if (${v} < 0) { ${v} = -${v}; } if (${v} >= ${size}) { ${v} = ${2 * (size - 1)} - ${v}; }`
      : `let ${v} = ${v}0; if (${v} < 0 || ${v} >= ${size}) { return -1; }`;
  return `
fn src_index(b: u32, py: i32, px: i32, ci: u32) -> i32 {
  let y0 = py - ${s.pad}; let x0 = px - ${s.pad};
  ${fold('y', uh)}
  ${fold('x', uw)}
  let sy = u32(y) / ${u(s.upsample)}; let sx = u32(x) / ${u(s.upsample)};
  return i32(((b * ${u(s.inH)} + sy) * ${u(s.inW)} + sx) * ${u(s.inC)} + ci);
}`;
}

function conv2dWgsl(s: Conv2dShape, t: ConvTiles, params: readonly Param[], hasBias: boolean): string {
  const { outH, outW } = conv2dOutSize(s);
  const M = s.n * outH * outW;
  const N = s.outC;
  const K = s.k * s.k * s.inC;
  const wgx = t.tn / t.rn;
  const wgy = t.tm / t.rm;
  const threads = wgx * wgy;
  return `
${declare(params)}
const M = ${u(M)}; const N = ${u(N)}; const K = ${u(K)};
const TM = ${u(t.tm)}; const TN = ${u(t.tn)}; const TK = ${u(t.tk)};
const RM = ${t.rm}; const RN = ${t.rn}; const WGX = ${u(wgx)}; const WGY = ${u(wgy)};
const TILES_M = ${u(Math.ceil(M / t.tm))};
var<workgroup> As: array<f32, ${t.tk * t.tm}>;
var<workgroup> Bs: array<f32, ${t.tk * t.tn}>;
${sourceIndexWgsl(s)}
fn load_a(m: u32, kk: u32) -> f32 {
  if (m >= M || kk >= K) { return 0.0; }
  let b = m / ${u(outH * outW)}; let r = m % ${u(outH * outW)};
  let oy = r / ${u(outW)}; let ox = r % ${u(outW)};
  let ci = kk % ${u(s.inC)}; let tap = kk / ${u(s.inC)};
  let kh = tap / ${u(s.k)}; let kw = tap % ${u(s.k)};
  let i = src_index(b, i32(oy * ${u(s.stride)} + kh), i32(ox * ${u(s.stride)} + kw), ci);
  if (i < 0) { return 0.0; }
  return x[i];
}
@compute @workgroup_size(${wgx}, ${wgy})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let tile_m = ${LINEAR_WG};
  if (tile_m >= TILES_M) { return; }
  let m0 = tile_m * TM; let n0 = wg.z * TN;
  var acc: array<f32, ${t.rm * t.rn}>;
  for (var k0 = 0u; k0 < K; k0 += TK) {
    for (var i = li; i < TM * TK; i += ${u(threads)}) {
      let mm = i / TK; let kk = i % TK;
      As[kk * TM + mm] = load_a(m0 + mm, k0 + kk);
    }
    for (var i = li; i < TK * TN; i += ${u(threads)}) {
      let kk = i / TN; let nn = i % TN;
      let gk = k0 + kk; let gn = n0 + nn;
      var v = 0.0;
      if (gk < K && gn < N) { v = w[gk * N + gn]; }
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
      if (m < M && n < N) {
        var v = acc[r * RN + c];
        ${hasBias ? 'v += bias[n];' : ''}
        ${s.relu === true ? 'v = max(v, 0.0);' : ''}
        y[m * N + n] = v;
      }
    }
  }
}`;
}

/**
 * y = [ReLU](conv(pad(upsample(x))) + bias). x: [n, inH, inW, inC]; w: [k, k, inC, outC]; bias: [outC];
 * y: [n, outH, outW, outC] (see conv2dOutSize). `tiles` overrides the GEMM tiling (for benchmarks).
 */
export function conv2d(
  ctx: GpuContext,
  s: Conv2dShape,
  b: { x: Binding; w: Binding; bias?: Binding; y: Binding },
  tiles: ConvTiles = defaultConvTiles(s.outC),
): Dispatch[] {
  checkConv2dShape('conv2d', s);
  checkTiles('conv2d', tiles);
  const params: Param[] = [
    { name: 'x', access: 'read', binding: b.x },
    { name: 'w', access: 'read', binding: b.w },
  ];
  if (b.bias !== undefined) params.push({ name: 'bias', access: 'read', binding: b.bias });
  params.push({ name: 'y', access: 'read_write', binding: b.y });
  const { outH, outW } = conv2dOutSize(s);
  const tilesM = Math.ceil((s.n * outH * outW) / tiles.tm);
  const [gx, gy] = grid1d(tilesM);
  const code = conv2dWgsl(s, tiles, params, b.bias !== undefined);
  return [ctx.dispatch(`conv2d ${s.k}x${s.k}/${s.stride} ${s.inC}->${s.outC}`, code, bindings(params), [gx, gy, Math.ceil(s.outC / tiles.tn)])];
}
