/**
 * 2×2 stride-2 pooling of VGG (Simonyan & Zisserman 2015) with Keras/tfjs 'valid' semantics: an odd last row or
 * column is dropped. Max pool backward recomputes each window's argmax from x and routes dy to the FIRST maximum
 * in row-major window order, as tfjs's cpu MaxPoolGrad (maxPoolPositions keeps the first strictly greater value).
 * Both backwards gather per input pixel (no atomics); pixels outside every window get 0.
 */
import type { Binding, Dispatch, GpuContext } from '../gpu-context.ts';
import { checkInts, u, type Param } from './common.ts';
import { elementwise } from './elementwise.ts';

export interface PoolShape {
  n: number;
  /** Input height, width and channels. */
  h: number;
  w: number;
  c: number;
}

/** Pooled height and width: floor(h/2), floor(w/2). */
export function poolOutSize(s: PoolShape): { outH: number; outW: number } {
  return { outH: Math.floor(s.h / 2), outW: Math.floor(s.w / 2) };
}

function checkPool(kernel: string, s: PoolShape): void {
  checkInts(kernel, s, ['n', 'c']);
  checkInts(kernel, s, ['h', 'w'], 2);
}

function perElement(ctx: GpuContext, label: string, count: number, params: Param[], head: string, body: string): Dispatch[] {
  return elementwise(ctx, label, count, params, body, { head, index: 'e' });
}

function consts(s: PoolShape): string {
  const { outH, outW } = poolOutSize(s);
  return `const H = ${u(s.h)}; const W = ${u(s.w)}; const C = ${u(s.c)}; const OH = ${u(outH)}; const OW = ${u(outW)};
fn xat(b: u32, y: u32, x: u32, ch: u32) -> u32 { return ((b * H + y) * W + x) * C + ch; }`;
}

/** Decomposes the output element e = ((b·OH + oy)·OW + ox)·C + ch. */
const OUT_INDEX = 'let ch = e % C; let p = e / C; let ox = p % OW; let oy = (p / OW) % OH; let b = p / (OW * OH);';
/** Decomposes the input element e = ((b·H + iy)·W + ix)·C + ch and finds its window. */
const IN_INDEX = `let ch = e % C; let p = e / C; let ix = p % W; let iy = (p / W) % H; let b = p / (W * H);
  let oy = iy / 2u; let ox = ix / 2u;
  if (oy >= OH || ox >= OW) { dx[e] = 0.0; return; }`;

/** y [n, h/2, w/2, c] = max over each 2×2 window of x [n, h, w, c]. */
export function maxPool2x2(ctx: GpuContext, s: PoolShape, b: { x: Binding; y: Binding }): Dispatch[] {
  checkPool('maxPool2x2', s);
  const { outH, outW } = poolOutSize(s);
  return perElement(ctx, 'max pool', s.n * outH * outW * s.c, [
    { name: 'x', access: 'read', binding: b.x },
    { name: 'y', access: 'read_write', binding: b.y },
  ], consts(s), `${OUT_INDEX}
  let y0 = oy * 2u; let x0 = ox * 2u;
  y[e] = max(max(x[xat(b, y0, x0, ch)], x[xat(b, y0, x0 + 1u, ch)]), max(x[xat(b, y0 + 1u, x0, ch)], x[xat(b, y0 + 1u, x0 + 1u, ch)]));`);
}

/** dx [n, h, w, c]: dy of each window goes to its first maximum in x; every other input gets 0. */
export function maxPool2x2Backward(ctx: GpuContext, s: PoolShape, b: { x: Binding; dy: Binding; dx: Binding }): Dispatch[] {
  checkPool('maxPool2x2Backward', s);
  return perElement(ctx, 'max pool backward', s.n * s.h * s.w * s.c, [
    { name: 'x', access: 'read', binding: b.x },
    { name: 'dy', access: 'read', binding: b.dy },
    { name: 'dx', access: 'read_write', binding: b.dx },
  ], consts(s), `${IN_INDEX}
  var best = x[xat(b, oy * 2u, ox * 2u, ch)]; var arg = 0u;
  for (var q = 1u; q < 4u; q++) {
    let v = x[xat(b, oy * 2u + q / 2u, ox * 2u + q % 2u, ch)];
    if (v > best) { best = v; arg = q; }
  }
  let mine = (iy % 2u) * 2u + ix % 2u;
  dx[e] = select(0.0, dy[((b * OH + oy) * OW + ox) * C + ch], mine == arg);`);
}

/** y [n, h/2, w/2, c] = mean of each 2×2 window of x. */
export function avgPool2x2(ctx: GpuContext, s: PoolShape, b: { x: Binding; y: Binding }): Dispatch[] {
  checkPool('avgPool2x2', s);
  const { outH, outW } = poolOutSize(s);
  return perElement(ctx, 'avg pool', s.n * outH * outW * s.c, [
    { name: 'x', access: 'read', binding: b.x },
    { name: 'y', access: 'read_write', binding: b.y },
  ], consts(s), `${OUT_INDEX}
  let y0 = oy * 2u; let x0 = ox * 2u;
  y[e] = 0.25 * ((x[xat(b, y0, x0, ch)] + x[xat(b, y0, x0 + 1u, ch)]) + (x[xat(b, y0 + 1u, x0, ch)] + x[xat(b, y0 + 1u, x0 + 1u, ch)]));`);
}

/** dx [n, h, w, c] = dy/4 of the window each input belongs to (0 outside every window). */
export function avgPool2x2Backward(ctx: GpuContext, s: PoolShape, b: { dy: Binding; dx: Binding }): Dispatch[] {
  checkPool('avgPool2x2Backward', s);
  return perElement(ctx, 'avg pool backward', s.n * s.h * s.w * s.c, [
    { name: 'dy', access: 'read', binding: b.dy },
    { name: 'dx', access: 'read_write', binding: b.dx },
  ], consts(s), `${IN_INDEX}
  dx[e] = 0.25 * dy[((b * OH + oy) * OW + ox) * C + ch];`);
}
