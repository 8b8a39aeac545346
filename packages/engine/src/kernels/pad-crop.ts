/**
 * Glue kernels around the transformation network (Johnson et al. 2016 as in transformer-net.ts): the input
 * noise add + reflection pad to a multiple of 4 (one gather through per-axis source-index tables, which express
 * any chain of reflection steps, including the size-1 duplication of `planReflectPad`), and the crop back to the
 * input size.
 */
import { noiseTile, NOISE_TILE, planReflectPad } from '@hokusai/model';
import type { Binding, Dispatch, GpuContext } from '../gpu-context.ts';
import { u, type Param } from './common.ts';
import { elementwise } from './elementwise.ts';

/**
 * Source index of every padded position along one axis of size n padded to `target` the way padSpatialTo does
 * (duplicate a size-1 axis, then reflection steps split evenly, extra pixel after).
 */
export function reflectIndexMap(n: number, target: number): Int32Array {
  const plan = planReflectPad(n, target);
  let map: number[] = Array.from({ length: n }, (_, i) => i);
  if (plan.duplicate) map = [0, 0];
  for (const [before, after] of plan.steps) {
    const size = map.length;
    const head = Array.from({ length: before }, (_, i) => map[before - i] as number);
    const tail = Array.from({ length: after }, (_, i) => map[size - 2 - i] as number);
    map = [...head, ...map, ...tail];
  }
  return Int32Array.from(map);
}

/** The padded size the network runs at: a multiple of 4, at least 8. */
export function paddedSide(n: number): number {
  return Math.max(8, Math.ceil(n / 4) * 4);
}

/** σ × the fixed noise tile repeated over h×w, [h, w, 3] (inputNoiseField's values, without tfjs). */
export function noiseField(h: number, w: number, sigma: number): Float32Array {
  const tile = noiseTile();
  const out = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const src = ((y % NOISE_TILE) * NOISE_TILE + (x % NOISE_TILE)) * 3;
      for (let c = 0; c < 3; c++) out[(y * w + x) * 3 + c] = (tile[src + c] as number) * sigma;
    }
  }
  return out;
}

export interface PadInputShape {
  n: number;
  h: number;
  w: number;
  /** Padded size. */
  th: number;
  tw: number;
  /** Whether a noise field [h, w, 3] is added before padding. */
  noise: boolean;
}

/**
 * y[b, i, j, c] = x[b, mapH[i], mapW[j], c] (+ noise[mapH[i], mapW[j], c]); `maps` holds mapH (th int32) then
 * mapW (tw int32), from `reflectIndexMap`.
 */
export function padInput(
  ctx: GpuContext,
  s: PadInputShape,
  b: { x: Binding; maps: Binding; noise?: Binding; y: Binding },
): Dispatch[] {
  const params: Param[] = [{ name: 'x', access: 'read', binding: b.x }];
  if (s.noise) {
    if (b.noise === undefined) throw new Error('padInput: noise binding missing');
    params.push({ name: 'noise', access: 'read', binding: b.noise });
  }
  params.push({ name: 'y', access: 'read_write', binding: b.y }, { name: 'maps', access: 'read', binding: b.maps, type: 'i32' });
  return elementwise(ctx, 'padInput', s.n * s.th * s.tw * 3, params, /* wgsl */ `
  let c = i % 3u;
  let col = (i / 3u) % ${u(s.tw)};
  let row = (i / ${u(3 * s.tw)}) % ${u(s.th)};
  let img = i / ${u(3 * s.tw * s.th)};
  let sr = u32(maps[row]);
  let sc = u32(maps[${u(s.th)} + col]);
  let src = (sr * ${u(s.w)} + sc) * 3u + c;
  var v = x[img * ${u(s.h * s.w * 3)} + src];
  ${s.noise ? 'v = v + noise[src];' : ''}
  y[i] = v;`);
}

export interface CropShape {
  n: number;
  /** Source size. */
  th: number;
  tw: number;
  /** Crop size and origin. */
  h: number;
  w: number;
  top: number;
  left: number;
  c: number;
}

/** y[b, i, j, c] = x[b, top + i, left + j, c]. */
export function cropImage(ctx: GpuContext, s: CropShape, b: { x: Binding; y: Binding }): Dispatch[] {
  const params: Param[] = [
    { name: 'x', access: 'read', binding: b.x },
    { name: 'y', access: 'read_write', binding: b.y },
  ];
  return elementwise(ctx, 'cropImage', s.n * s.h * s.w * s.c, params, /* wgsl */ `
  let c = i % ${u(s.c)};
  let col = (i / ${u(s.c)}) % ${u(s.w)};
  let row = (i / ${u(s.c * s.w)}) % ${u(s.h)};
  let img = i / ${u(s.c * s.w * s.h)};
  y[i] = x[((img * ${u(s.th)} + row + ${u(s.top)}) * ${u(s.tw)} + col + ${u(s.left)}) * ${u(s.c)} + c];`);
}
