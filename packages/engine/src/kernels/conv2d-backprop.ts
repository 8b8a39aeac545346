/**
 * The two gradients of conv2d (kernels/conv2d.ts), both implicit GEMMs on the gemm-tile skeleton.
 * Input gradient: dx[n·inH·inW × inC] = A·B with K = k·k·outC, B[(kh,kw,co), ci] = w[kh,kw,ci,co], and A gathering
 * dy: element ((b,iy,ix), (kh,kw,co)) sums dy[b, oy, ox, co] over every padded, upsampled position (py, px) whose
 * source pixel is (iy, ix) (its nearest-upsample copies and their reflections) with py = oy·stride + kh. By
 * linearity this folds the padding and upsampling gradients into the GEMM: no padded scratch, one dispatch.
 * Filter gradient: dW = im2col(x)ᵀ·dY, split-K over the n·outH·outW output pixels (one GEMM per chunk into a
 * partial buffer, then a reduce); a row of ones appended to im2col(x)ᵀ gives dBias in the same product.
 */
import type { Binding, Dispatch, GpuContext } from '../gpu-context.ts';
import { bindingBytes, bindings, check, declare, grid1d, LINEAR_WG, u, type Param } from './common.ts';
import { checkConv2dShape, conv2dOutSize, defaultConvTiles, im2colWgsl, type Conv2dShape, type ConvTiles } from './conv2d.ts';
import { gemmDispatch } from './gemm-tile.ts';

/** WGSL `cand_<d>(i, kt) -> Cands`: the conv output rows (or columns) that read input row i through tap kt. */
function candidatesWgsl(d: 'y' | 'x', s: Conv2dShape, size: number, out: number): string {
  const us = size * s.upsample;
  const reflect = s.padMode === 'reflect'
    ? `if (uy >= 1 && uy <= ${s.pad}) { ps[np] = ${s.pad} - uy; np++; }
       if (uy >= ${us - 1 - s.pad} && uy <= ${us - 2}) { ps[np] = ${s.pad + 2 * (us - 1)} - uy; np++; }`
    : '';
  return `
fn cand_${d}(i: u32, kt: u32) -> Cands {
  var c: Cands; c.n = 0u;
  for (var j = 0u; j < ${u(s.upsample)}; j++) {
    let uy = i32(i * ${u(s.upsample)} + j);
    var ps: array<i32, 3>; var np = 1u;
    ps[0] = uy + ${s.pad};
    ${reflect}
    for (var q = 0u; q < np; q++) {
      let dd = ps[q] - i32(kt);
      if (dd >= 0 && dd % ${s.stride} == 0 && dd / ${s.stride} < ${out}) { c.v[c.n] = u32(dd / ${s.stride}); c.n++; }
    }
  }
  return c;
}`;
}

/**
 * dx = ∂L/∂x of conv2d for dy = ∂L/∂y. dy: [n, outH, outW, outC]; w: [k, k, inC, outC]; dx: [n, inH, inW, inC]
 * (the original input's shape), written (not accumulated). With `reluMaskY` (a tensor of dx's shape, e.g. the
 * ReLU output that was this conv's input), dx is zeroed where reluMaskY ≤ 0: the previous ReLU's gradient, fused.
 */
export function conv2dBackpropInput(
  ctx: GpuContext,
  s: Conv2dShape,
  b: { dy: Binding; w: Binding; dx: Binding; reluMaskY?: Binding },
  tiles: ConvTiles = defaultConvTiles(s.inC),
): Dispatch[] {
  checkConv2dShape('conv2dBackpropInput', s);
  const { outH, outW } = conv2dOutSize(s);
  const params: Param[] = [
    { name: 'dy', access: 'read', binding: b.dy },
    { name: 'w', access: 'read', binding: b.w },
  ];
  if (b.reluMaskY !== undefined) params.push({ name: 'mask_y', access: 'read', binding: b.reluMaskY });
  params.push({ name: 'dx', access: 'read_write', binding: b.dx });
  const functions = `
struct Cands { n: u32, v: array<u32, ${3 * s.upsample}> }
${candidatesWgsl('y', s, s.inH, outH)}
${candidatesWgsl('x', s, s.inW, outW)}
fn load_a(z: u32, m: u32, kk: u32) -> f32 {
  let bi = m / ${u(s.inH * s.inW)}; let r = m % ${u(s.inH * s.inW)};
  let iy = r / ${u(s.inW)}; let ix = r % ${u(s.inW)};
  let co = kk % ${u(s.outC)}; let tap = kk / ${u(s.outC)};
  let cy = cand_y(iy, tap / ${u(s.k)}); let cx = cand_x(ix, tap % ${u(s.k)});
  var acc = 0.0;
  for (var a = 0u; a < cy.n; a++) {
    let row = (bi * ${u(outH)} + cy.v[a]) * ${u(outW)};
    for (var c = 0u; c < cx.n; c++) { acc += dy[(row + cx.v[c]) * ${u(s.outC)} + co]; }
  }
  return acc;
}
fn load_b(z: u32, kk: u32, ci: u32) -> f32 {
  return w[((kk / ${u(s.outC)}) * ${u(s.inC)} + ci) * ${u(s.outC)} + kk % ${u(s.outC)}];
}
fn store(z: u32, m: u32, ci: u32, v: f32) {
  ${b.reluMaskY !== undefined ? 'if (mask_y[m * GN + ci] <= 0.0) { dx[m * GN + ci] = 0.0; return; }' : ''}
  dx[m * GN + ci] = v;
}`;
  return [
    gemmDispatch(ctx, {
      label: `conv2d dx ${s.k}x${s.k}/${s.stride} ${s.inC}<-${s.outC}`,
      m: s.n * s.inH * s.inW, n: s.inC, k: s.k * s.k * s.outC, batch: 1, tiles, params, functions,
    }),
  ];
}

/** How the filter gradient splits its reduction over the n·outH·outW output pixels. */
export function conv2dBackpropFilterSplit(s: Conv2dShape, tiles: ConvTiles = defaultConvTiles(s.outC)): { chunks: number; chunkLength: number } {
  const { outH, outW } = conv2dOutSize(s);
  const pixels = s.n * outH * outW;
  const tilesPerChunk = Math.ceil((s.k * s.k * s.inC + 1) / tiles.tm) * Math.ceil(s.outC / tiles.tn);
  const wanted = Math.max(1, Math.min(Math.round(2048 / tilesPerChunk), Math.ceil(pixels / 64), Math.floor(65535 / Math.ceil(s.outC / tiles.tn))));
  const chunkLength = Math.ceil(pixels / wanted);
  return { chunks: Math.ceil(pixels / chunkLength), chunkLength };
}

/** Floats of the `partial` buffer conv2dBackpropFilter needs for `s` (with the same tiles). */
export function conv2dBackpropFilterScratchFloats(s: Conv2dShape, tiles: ConvTiles = defaultConvTiles(s.outC)): number {
  return conv2dBackpropFilterSplit(s, tiles).chunks * (s.k * s.k * s.inC + 1) * s.outC;
}

/**
 * dw = ∂L/∂w [k, k, inC, outC] and dbias = ∂L/∂bias [outC] of conv2d, for its input x and dy = ∂L/∂y (the ReLU,
 * if any, already applied to dy by the caller). Written, not accumulated. `partial`: at least
 * conv2dBackpropFilterScratchFloats(s) floats, may be shared by every layer (dispatches run in order).
 * Two dispatches: the split-K GEMM into partial, and the reduce over chunks.
 */
export function conv2dBackpropFilter(
  ctx: GpuContext,
  s: Conv2dShape,
  b: { x: Binding; dy: Binding; dw: Binding; dbias?: Binding; partial: Binding },
  tiles: ConvTiles = defaultConvTiles(s.outC),
): Dispatch[] {
  checkConv2dShape('conv2dBackpropFilter', s);
  const { outH, outW } = conv2dOutSize(s);
  const pixels = s.n * outH * outW;
  const kf = s.k * s.k * s.inC;
  const rows = kf + (b.dbias !== undefined ? 1 : 0);
  const { chunks, chunkLength } = conv2dBackpropFilterSplit(s, tiles);
  const need = conv2dBackpropFilterScratchFloats(s, tiles);
  const have = bindingBytes(b.partial);
  check('conv2dBackpropFilter', have === undefined || have >= need * 4, `partial must hold ${need} floats, got ${(have ?? 0) / 4}`);
  const gemmParams: Param[] = [
    { name: 'x', access: 'read', binding: b.x },
    { name: 'dy', access: 'read', binding: b.dy },
    { name: 'partial', access: 'read_write', binding: b.partial },
  ];
  const functions = `${im2colWgsl(s)}
fn load_a(z: u32, r: u32, j: u32) -> f32 {
  let gm = z * ${u(chunkLength)} + j;
  if (gm >= ${u(pixels)}) { return 0.0; }
  if (r == ${u(kf)}) { return 1.0; }
  return im2col(gm, r);
}
fn load_b(z: u32, j: u32, co: u32) -> f32 {
  let gm = z * ${u(chunkLength)} + j;
  if (gm >= ${u(pixels)}) { return 0.0; }
  return dy[gm * GN + co];
}
fn store(z: u32, r: u32, co: u32, v: f32) { partial[(z * GM + r) * GN + co] = v; }`;
  const reduceParams: Param[] = [
    { name: 'partial', access: 'read', binding: b.partial },
    { name: 'dw', access: 'read_write', binding: b.dw },
  ];
  if (b.dbias !== undefined) reduceParams.push({ name: 'dbias', access: 'read_write', binding: b.dbias });
  const total = rows * s.outC;
  const reduce = `
${declare(reduceParams)}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let e = ${LINEAR_WG} * 256u + li;
  if (e >= ${u(total)}) { return; }
  var acc = 0.0;
  for (var c = 0u; c < ${u(chunks)}; c++) { acc += partial[c * ${u(total)} + e]; }
  ${b.dbias !== undefined ? `if (e >= ${u(kf * s.outC)}) { dbias[e - ${u(kf * s.outC)}] = acc; return; }` : ''}
  dw[e] = acc;
}`;
  const label = `conv2d dw ${s.k}x${s.k}/${s.stride} ${s.inC}->${s.outC}`;
  return [
    gemmDispatch(ctx, { label, m: rows, n: s.outC, k: chunkLength, batch: chunks, tiles, params: gemmParams, functions }),
    ctx.dispatch(`${label} reduce`, reduce, bindings(reduceParams), grid1d(Math.ceil(total / 256))),
  ];
}
