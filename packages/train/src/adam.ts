/**
 * Adam (Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization"), written out so its whole state
 * (step count and both moment estimates) can be saved with a checkpoint and restored bit for bit: a run
 * resumed from a checkpoint makes exactly the same updates as one never stopped. The update is PyTorch's:
 *   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  p ← p − (lr/(1−β1^t)) · m / (√v/√(1−β2^t) + ε)
 */
import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError } from '@hokusai/errors';

export interface AdamConfig {
  beta1: number;
  beta2: number;
  epsilon: number;
}

export const ADAM_DEFAULTS: AdamConfig = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

/** JSON half of the serialised state; the moments go in the binary half (m then v per variable, float32 LE). */
export interface AdamStateJson {
  kind: 'adam';
  t: number;
  config: AdamConfig;
  variables: { name: string; shape: number[] }[];
}

export class Adam {
  readonly config: AdamConfig;
  /** Number of updates applied so far. */
  t = 0;
  private readonly vars: tf.Variable[];
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];

  constructor(variables: tf.Variable[], config: Partial<AdamConfig> = {}) {
    this.config = { ...ADAM_DEFAULTS, ...config };
    this.vars = variables;
    this.m = variables.map((x) => tf.tidy(() => tf.variable(tf.zerosLike(x), false)));
    this.v = variables.map((x) => tf.tidy(() => tf.variable(tf.zerosLike(x), false)));
  }

  /** One update with gradients in the same order as the variables. Does not dispose the gradients. */
  apply(grads: tf.Tensor[], lr: number): void {
    if (grads.length !== this.vars.length) {
      throw new Error(`Adam.apply: expected ${this.vars.length} gradients, got ${grads.length}`);
    }
    this.t += 1;
    const { beta1, beta2, epsilon } = this.config;
    const bc1 = 1 - Math.pow(beta1, this.t);
    const bc2 = Math.sqrt(1 - Math.pow(beta2, this.t));
    tf.tidy(() => {
      const b1 = tf.scalar(beta1);
      const b1c = tf.scalar(1 - beta1);
      const b2 = tf.scalar(beta2);
      const b2c = tf.scalar(1 - beta2);
      const stepSize = tf.scalar(lr / bc1);
      const sqrtBc2 = tf.scalar(bc2);
      const eps = tf.scalar(epsilon);
      for (let i = 0; i < this.vars.length; i++) {
        const g = grads[i]!;
        const m = this.m[i]!;
        const v = this.v[i]!;
        const p = this.vars[i]!;
        const m1 = tf.add(tf.mul(b1, m), tf.mul(b1c, g));
        const v1 = tf.add(tf.mul(b2, v), tf.mul(b2c, tf.square(g)));
        const denom = tf.add(tf.div(tf.sqrt(v1), sqrtBc2), eps);
        const p1 = tf.sub(p, tf.mul(stepSize, tf.div(m1, denom)));
        m.assign(m1);
        v.assign(v1);
        p.assign(p1);
      }
    });
  }

  /** The state as JSON plus one binary blob (m and v of each variable, float32). */
  async serialize(): Promise<{ json: AdamStateJson; bin: Uint8Array }> {
    const parts: Float32Array[] = [];
    for (let i = 0; i < this.vars.length; i++) {
      parts.push((await this.m[i]!.data()) as Float32Array, (await this.v[i]!.data()) as Float32Array);
    }
    return {
      json: {
        kind: 'adam',
        t: this.t,
        config: { ...this.config },
        variables: this.vars.map((x) => ({ name: x.name, shape: [...x.shape] })),
      },
      bin: concatFloat32(parts),
    };
  }

  /** Restore a state written by `serialize` (shapes must match the variables this optimiser updates). */
  restore(json: AdamStateJson, bin: Uint8Array): void {
    if (json.kind !== 'adam' || json.variables.length !== this.vars.length) {
      throw new CheckpointError(
        `Optimizer state: expected Adam state for ${this.vars.length} variables, got ${json.kind} with ${json.variables?.length} variables`,
      );
    }
    const floats = toFloat32(bin);
    let offset = 0;
    for (let i = 0; i < this.vars.length; i++) {
      const shape = this.vars[i]!.shape;
      const size = this.vars[i]!.size;
      const saved = json.variables[i]!.shape;
      if (saved.length !== shape.length || saved.some((d, k) => d !== shape[k])) {
        throw new CheckpointError(
          `Optimizer state: variable ${i} (${this.vars[i]!.name}) has shape [${shape}] but the state holds [${saved}]`,
        );
      }
      if (offset + 2 * size > floats.length) {
        throw new CheckpointError(`Optimizer state: binary is ${bin.byteLength} bytes, too short for the variables`);
      }
      const mi = floats.subarray(offset, offset + size);
      const vi = floats.subarray(offset + size, offset + 2 * size);
      tf.tidy(() => {
        this.m[i]!.assign(tf.tensor(mi, shape));
        this.v[i]!.assign(tf.tensor(vi, shape));
      });
      offset += 2 * size;
    }
    if (offset !== floats.length) {
      throw new CheckpointError(`Optimizer state: binary holds ${floats.length} floats, expected ${offset}`);
    }
    this.t = json.t;
    Object.assign(this.config, json.config);
  }

  dispose(): void {
    for (const x of this.m) x.dispose();
    for (const x of this.v) x.dispose();
  }
}

export function concatFloat32(parts: Float32Array[]): Uint8Array {
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = new Float32Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return new Uint8Array(out.buffer);
}

export function toFloat32(bin: Uint8Array): Float32Array {
  if (bin.byteLength % 4 !== 0) throw new CheckpointError(`Expected a float32 blob, got ${bin.byteLength} bytes`);
  const copy = new Uint8Array(bin.byteLength);
  copy.set(bin);
  return new Float32Array(copy.buffer);
}
