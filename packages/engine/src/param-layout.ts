/**
 * The flat parameter buffer: every trainable tensor of a network at a 256-byte aligned offset of ONE buffer (the
 * WebGPU minimum storage-buffer offset alignment), so gradients, Adam moments and the update address one buffer
 * each and a kernel binds a tensor as a `{buffer, offset, size}` range. Packs named weights into the flat array and
 * unpacks it back; the gaps between tensors stay zero (their gradient is zero, so Adam leaves them zero).
 */
import { shapeSize, type WeightSpec } from '@hokusai/model';
import { WeightsError } from '@hokusai/errors';
import type { Binding } from './gpu-context.ts';

/** Bytes between tensor starts are a multiple of this (WebGPU's minStorageBufferOffsetAlignment default). */
export const PARAM_ALIGN_BYTES = 256;
const ALIGN_FLOATS = PARAM_ALIGN_BYTES / 4;

export interface ParamEntry {
  readonly name: string;
  readonly shape: readonly number[];
  /** Number of floats. */
  readonly size: number;
  /** Offset in floats (a multiple of 64). */
  readonly offset: number;
}

/** Named float32 weights, e.g. a TransformerNet's weights read back with `data()`. */
export type NamedWeights = Record<string, Float32Array>;

export class ParamLayout {
  readonly entries: readonly ParamEntry[];
  /** Floats in the flat buffer, a multiple of 64. */
  readonly totalFloats: number;
  private readonly byName: Map<string, ParamEntry>;

  constructor(specs: readonly Pick<WeightSpec, 'name' | 'shape'>[]) {
    let offset = 0;
    this.entries = specs.map((s) => {
      const size = shapeSize(s.shape);
      const entry = { name: s.name, shape: [...s.shape], size, offset };
      offset += Math.ceil(size / ALIGN_FLOATS) * ALIGN_FLOATS;
      return entry;
    });
    this.totalFloats = Math.max(ALIGN_FLOATS, offset);
    this.byName = new Map(this.entries.map((e) => [e.name, e]));
  }

  get totalBytes(): number {
    return this.totalFloats * 4;
  }

  entry(name: string): ParamEntry {
    const e = this.byName.get(name);
    if (e === undefined) throw new WeightsError(`No parameter '${name}' in this layout (${this.entries.length} tensors)`);
    return e;
  }

  /** The range of `buffer` (a buffer laid out by this layout) holding tensor `name`. */
  binding(buffer: GPUBuffer, name: string): Binding {
    const e = this.entry(name);
    return { buffer, offset: e.offset * 4, size: e.size * 4 };
  }

  /** Named weights → the flat array; every tensor must be present with its exact size. */
  pack(weights: NamedWeights): Float32Array {
    const flat = new Float32Array(this.totalFloats);
    for (const e of this.entries) {
      const w = weights[e.name];
      if (w === undefined) throw new WeightsError(`Missing weight '${e.name}' (expected shape [${e.shape.join(',')}])`);
      if (w.length !== e.size) {
        throw new WeightsError(`Weight '${e.name}': expected ${e.size} values (shape [${e.shape.join(',')}]), got ${w.length}`);
      }
      flat.set(w, e.offset);
    }
    return flat;
  }

  /** The flat array → named weights (copies). */
  unpack(flat: Float32Array): NamedWeights {
    if (flat.length < this.totalFloats) {
      throw new WeightsError(`Expected a flat parameter array of ${this.totalFloats} floats, got ${flat.length}`);
    }
    const out: NamedWeights = {};
    for (const e of this.entries) out[e.name] = flat.slice(e.offset, e.offset + e.size);
    return out;
  }
}
