/**
 * Our fast-loading format for converted VGG weights: a tfjs-style weights manifest (JSON) plus one binary file of
 * little-endian float32 (or float16, tfjs `quantization: {dtype: 'float16'}`) values, so a run does not parse HDF5
 * every time. Pure functions (no file I/O): the Node weights store writes the pieces; a browser can fetch them.
 */
import { z } from 'zod';
import { WeightsError } from '@hokusai/errors';
import type { ConvWeights, VggWeights } from './keras-h5.ts';
import { convSpecs, LOSS_NETS } from './layers.ts';

export const VGG_WEIGHTS_FORMAT = 'hokusai-vgg-weights';
export const VGG_WEIGHTS_BIN = 'weights.bin';

const EntrySchema = z.object({
  name: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  dtype: z.literal('float32'),
  quantization: z.object({ dtype: z.literal('float16') }).optional(),
});

export const VggWeightsManifestSchema = z.object({
  format: z.literal(VGG_WEIGHTS_FORMAT),
  formatVersion: z.literal(1),
  net: z.enum(LOSS_NETS as ['vgg16', 'vgg19']),
  sha256: z.string().optional(),
  official: z.boolean().optional(),
  weightsManifest: z.array(z.object({ paths: z.array(z.string()), weights: z.array(EntrySchema) })).length(1),
});
export type VggWeightsManifest = z.infer<typeof VggWeightsManifestSchema>;

/** IEEE half from float (round to nearest even). */
function toHalf(value: number): number {
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  e = half;
  return sign | e;
}

function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

let halfTable: Float32Array | null = null;
/** All 65536 half values as float32 (built once): decoding is then one lookup per value. */
function halfToFloatTable(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = fromHalf(h);
  }
  return halfTable;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Manifest JSON + binary of `w` (all its convs in forward order), float32 or float16. */
export function serializeVggWeights(w: VggWeights, opts: { float16?: boolean } = {}): { manifestJson: string; weightsBin: Uint8Array } {
  const entries: z.infer<typeof EntrySchema>[] = [];
  const arrays: Float32Array[] = [];
  for (const spec of convSpecs(w.net)) {
    const cw = w.layers.get(spec.conv);
    if (!cw) continue;
    entries.push({ name: `${spec.conv}/kernel`, shape: cw.kernelShape, dtype: 'float32' }, { name: `${spec.conv}/bias`, shape: [cw.bias.length], dtype: 'float32' });
    arrays.push(cw.kernel, cw.bias);
  }
  if (opts.float16) for (const e of entries) e.quantization = { dtype: 'float16' };
  const total = arrays.reduce((n, a) => n + a.length, 0);
  const bytesPer = opts.float16 ? 2 : 4;
  const bin = new Uint8Array(total * bytesPer);
  const view = new DataView(bin.buffer);
  let offset = 0;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++, offset += bytesPer) {
      if (opts.float16) view.setUint16(offset, toHalf(a[i]!), true);
      else view.setFloat32(offset, a[i]!, true);
    }
  }
  const manifest: VggWeightsManifest = {
    format: VGG_WEIGHTS_FORMAT,
    formatVersion: 1,
    net: w.net,
    ...(w.sha256 ? { sha256: w.sha256 } : {}),
    ...(w.official !== undefined ? { official: w.official } : {}),
    weightsManifest: [{ paths: [VGG_WEIGHTS_BIN], weights: entries }],
  };
  return { manifestJson: JSON.stringify(manifest, null, 1), weightsBin: bin };
}

/** Parses converted weights; throws WEIGHTS_INVALID naming what was expected and found. */
export function parseVggWeights(manifest: unknown, bin: Uint8Array): VggWeights {
  let raw = manifest;
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch (cause) {
      throw new WeightsError(`Expected a ${VGG_WEIGHTS_FORMAT} manifest (JSON), but it does not parse: ${String(cause)}`, { cause });
    }
  }
  const parsed = VggWeightsManifestSchema.safeParse(raw);
  if (!parsed.success) {
    throw new WeightsError(
      `Expected a ${VGG_WEIGHTS_FORMAT} manifest, but: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const m = parsed.data;
  const entries = m.weightsManifest[0]!.weights;
  const byName = new Map(entries.map((e) => [e.name, e]));
  const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  // Offsets in manifest order.
  const offsets = new Map<string, number>();
  let offset = 0;
  for (const e of entries) {
    offsets.set(e.name, offset);
    offset += e.shape.reduce((a, b) => a * b, 1) * (e.quantization ? 2 : 4);
  }
  if (offset !== bin.byteLength) {
    throw new WeightsError(`Expected ${offset} bytes of converted ${m.net} weights as the manifest lists, but got ${bin.byteLength}`);
  }
  const read = (name: string, shape: number[]): Float32Array => {
    const e = byName.get(name);
    if (!e) throw new WeightsError(`Expected converted ${m.net} weights to hold '${name}', but the manifest lacks it`);
    if (e.shape.join() !== shape.join()) {
      throw new WeightsError(`Expected '${name}' of shape [${shape.join(', ')}], but the manifest says [${e.shape.join(', ')}]`);
    }
    const n = shape.reduce((a, b) => a * b, 1);
    const start = offsets.get(name)!;
    const at = bin.byteOffset + start;
    if (e.quantization) {
      const table = halfToFloatTable();
      const out = new Float32Array(n);
      if (LITTLE_ENDIAN && at % 2 === 0) {
        const halves = new Uint16Array(bin.buffer, at, n);
        for (let i = 0; i < n; i++) out[i] = table[halves[i]!]!;
      } else {
        for (let i = 0; i < n; i++) out[i] = table[view.getUint16(start + 2 * i, true)]!;
      }
      return out;
    }
    // Fast path: copy the bytes (aligned or not) and view them as float32 (the format is little-endian).
    if (LITTLE_ENDIAN) return new Float32Array(bin.buffer.slice(at, at + 4 * n));
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = view.getFloat32(start + 4 * i, true);
    return out;
  };
  const layers = new Map<string, ConvWeights>();
  for (const spec of convSpecs(m.net)) {
    if (!byName.has(`${spec.conv}/kernel`)) continue; // partial files are allowed; Vgg.create names what is missing
    const kernelShape = [3, 3, spec.inChannels, spec.outChannels];
    layers.set(spec.conv, { kernel: read(`${spec.conv}/kernel`, kernelShape), kernelShape, bias: read(`${spec.conv}/bias`, [spec.outChannels]) });
  }
  return { net: m.net, layers, ...(m.sha256 ? { sha256: m.sha256 } : {}), ...(m.official !== undefined ? { official: m.official } : {}) };
}
