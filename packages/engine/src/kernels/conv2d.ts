/**
 * 2-D convolution forward as an implicit GEMM (the im2col matrix is never materialised): Y[M×N] = A[M×K]·W[K×N]
 * with M = n·outH·outW output pixels, N = outC, K = k·k·inC, W the tfjs [kh, kw, inC, outC] weights read as a
 * row-major K×N matrix. The input is nearest-upsampled and reflect/zero padded (PyTorch ReflectionPad2d, as in
 * the Johnson et al. 2016 transformation network) inside the A addressing, so no padded copy exists; bias and
 * ReLU are fused into the store. Tiles of A and W are staged in workgroup memory; each thread owns RM×RN outputs.
 */
import type { Binding, Dispatch, GpuContext } from '../gpu-context.ts';
import { check, checkInts, u, type Param } from './common.ts';
import { defaultTiles, gemmDispatch, type GemmTiles } from './gemm-tile.ts';

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

/** GEMM tiling of a convolution (see gemm-tile.ts). */
export type ConvTiles = GemmTiles;

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

/** Default tiles for a convolution with outC output channels. */
export function defaultConvTiles(outC: number): ConvTiles {
  return defaultTiles(outC);
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

/** WGSL `im2col(m, kk)`: element (output pixel m, tap·channel kk) of the forward's implicit im2col matrix. */
export function im2colWgsl(s: Conv2dShape): string {
  const { outH, outW } = conv2dOutSize(s);
  return `${sourceIndexWgsl(s)}
fn im2col(m: u32, kk: u32) -> f32 {
  let b = m / ${u(outH * outW)}; let r = m % ${u(outH * outW)};
  let oy = r / ${u(outW)}; let ox = r % ${u(outW)};
  let ci = kk % ${u(s.inC)}; let tap = kk / ${u(s.inC)};
  let kh = tap / ${u(s.k)}; let kw = tap % ${u(s.k)};
  let i = src_index(b, i32(oy * ${u(s.stride)} + kh), i32(ox * ${u(s.stride)} + kw), ci);
  if (i < 0) { return 0.0; }
  return x[i];
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
  const params: Param[] = [
    { name: 'x', access: 'read', binding: b.x },
    { name: 'w', access: 'read', binding: b.w },
  ];
  if (b.bias !== undefined) params.push({ name: 'bias', access: 'read', binding: b.bias });
  params.push({ name: 'y', access: 'read_write', binding: b.y });
  const { outH, outW } = conv2dOutSize(s);
  const functions = `${im2colWgsl(s)}
fn load_a(z: u32, m: u32, k: u32) -> f32 { return im2col(m, k); }
fn load_b(z: u32, k: u32, n: u32) -> f32 { return w[k * GN + n]; }
fn store(z: u32, m: u32, n: u32, acc: f32) {
  var v = acc;
  ${b.bias !== undefined ? 'v += bias[n];' : ''}
  ${s.relu === true ? 'v = max(v, 0.0);' : ''}
  y[m * GN + n] = v;
}`;
  return [
    gemmDispatch(ctx, {
      label: `conv2d ${s.k}x${s.k}/${s.stride} ${s.inC}->${s.outC}`,
      m: s.n * outH * outW, n: s.outC, k: s.k * s.k * s.inC, batch: 1, tiles, params, functions,
    }),
  ];
}
