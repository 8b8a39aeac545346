/**
 * Gram matrices of the style loss (Gatys et al. 2016): G = alpha·FᵀF per image, F = [HW, C] (NHWC features), with
 * the HW-long reduction split into chunks (split-K). Without the split, relu1_2's Gram at 256² batch 4 is four
 * 64×64 tiles each looping over 65,536 pixels: 4 workgroups on a GPU with a hundred-odd cores, the step's single
 * most expensive dispatch on the H200 (14% of its GPU time, docs/backends.md). With it, each (image, chunk) gets its
 * own tiles, written to a scratch `partial`, and a second dispatch sums the chunks in a fixed order (deterministic,
 * no atomics). Small reductions take one chunk and one dispatch, straight into G.
 */
import type { Binding, Dispatch, GpuContext } from '../gpu-context.ts';
import { bindingBytes, bindings, check, checkInts, declare, f, grid1d, LINEAR_WG, u, type Param } from './common.ts';
import { defaultTiles, gemmDispatch, type GemmTiles } from './gemm-tile.ts';

export interface GramShape {
  /** Images, channels, pixels per image (h·w). */
  n: number;
  c: number;
  hw: number;
  alpha: number;
}

/** Workgroups the split aims for across the whole batch: enough to fill a large GPU. */
const WANTED_WORKGROUPS = 1024;
/** No chunk is shorter than this many pixels (the reduce would then cost more than it saves). */
const MIN_CHUNK = 256;

/** How the Gram splits each image's HW reduction: `chunks` of `chunkLength` pixels (the last may be shorter). */
export function gramSplit(s: Omit<GramShape, 'alpha'>, tiles: GemmTiles = defaultTiles(s.c)): { chunks: number; chunkLength: number } {
  const tilesPerImage = Math.ceil(s.c / tiles.tm) * Math.ceil(s.c / tiles.tn);
  const wanted = Math.max(1, Math.min(Math.round(WANTED_WORKGROUPS / (tilesPerImage * s.n)), Math.floor(s.hw / MIN_CHUNK)));
  const chunkLength = Math.ceil(s.hw / wanted);
  return { chunks: Math.ceil(s.hw / chunkLength), chunkLength };
}

/** Floats of the `partial` scratch `gram` needs for `s` (0 when it runs unsplit). */
export function gramScratchFloats(s: Omit<GramShape, 'alpha'>, tiles: GemmTiles = defaultTiles(s.c)): number {
  const { chunks } = gramSplit(s, tiles);
  return chunks > 1 ? s.n * chunks * s.c * s.c : 0;
}

/**
 * gram[n, c, c] = alpha·FᵀF of f [n, hw, c]. `partial` (at least gramScratchFloats(s) floats, shareable between
 * layers: dispatches run in order) is needed only when the reduction is split.
 */
export function gram(
  ctx: GpuContext,
  s: GramShape,
  b: { f: Binding; gram: Binding; partial?: Binding },
  tiles: GemmTiles = defaultTiles(s.c),
): Dispatch[] {
  checkInts('gram', s, ['n', 'c', 'hw']);
  check('gram', Number.isFinite(s.alpha), `alpha must be finite, got ${s.alpha}`);
  const { chunks, chunkLength } = gramSplit(s, tiles);
  const split = chunks > 1;
  const need = gramScratchFloats(s, tiles);
  const have = b.partial === undefined ? 0 : (bindingBytes(b.partial) ?? need * 4);
  check('gram', !split || have >= need * 4, `partial must hold ${need} floats, got ${have / 4}`);
  const out: Binding = split ? b.partial! : b.gram;
  const params: Param[] = [
    { name: 'f', access: 'read', binding: b.f },
    { name: 'out', access: 'read_write', binding: out },
  ];
  // z = image·chunks + chunk; F stored [hw, c] per image, read transposed for the left operand.
  const functions = `
fn at(z: u32, p: u32, ch: u32) -> f32 {
  let chunk = z % ${u(chunks)};
  let pixel = chunk * ${u(chunkLength)} + p;
  if (pixel >= ${u(s.hw)}) { return 0.0; }
  return f[((z / ${u(chunks)}) * ${u(s.hw)} + pixel) * ${u(s.c)} + ch];
}
fn load_a(z: u32, m: u32, k: u32) -> f32 { return at(z, k, m); }
fn load_b(z: u32, k: u32, n: u32) -> f32 { return at(z, k, n); }
fn store(z: u32, m: u32, n: u32, v: f32) { out[(z * GM + m) * GN + n] = ${split ? 'v' : `${f(s.alpha)} * v`}; }`;
  const label = `gram ${s.n}x${s.c}x${s.c} hw ${s.hw}${split ? ` in ${chunks} chunks` : ''}`;
  const gemm = gemmDispatch(ctx, { label, m: s.c, n: s.c, k: chunkLength, batch: s.n * chunks, tiles, params, functions });
  if (!split) return [gemm];
  const cc = s.c * s.c;
  const reduceParams: Param[] = [
    { name: 'partial', access: 'read', binding: out },
    { name: 'gram', access: 'read_write', binding: b.gram },
  ];
  const reduce = `
${declare(reduceParams)}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let e = ${LINEAR_WG} * 256u + li;
  if (e >= ${u(s.n * cc)}) { return; }
  let image = e / ${u(cc)};
  let base = image * ${u(chunks * cc)} + e % ${u(cc)};
  var acc = 0.0;
  for (var k = 0u; k < ${u(chunks)}; k++) { acc += partial[base + k * ${u(cc)}]; }
  gram[e] = ${f(s.alpha)} * acc;
}`;
  return [gemm, ctx.dispatch(`${label} reduce`, reduce, bindings(reduceParams), grid1d(Math.ceil((s.n * cc) / 256)))];
}
