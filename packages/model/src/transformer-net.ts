/**
 * The feed-forward style transformation network of Johnson, Alahi & Fei-Fei 2016 ("Perceptual Losses for
 * Real-Time Style Transfer and Super-Resolution"), as implemented in pytorch/examples fast_neural_style
 * (transformer_net.py): reflection padding, conv 9×9/1 c1 → 3×3/2 c2 → 3×3/2 c3 → R residual blocks
 * (conv-IN-ReLU-conv-IN + x) → nearest ×2 + conv 3×3 c2 → nearest ×2 + conv 3×3 c1 → conv 9×9 3, instance norm
 * (Ulyanov et al. 2016) with affine parameters and eps 1e-5, ReLU after every IN except the residual's second half.
 *
 * `TransformerNet` also runs the Engstrom variant (config `{arch:'engstrom'}`, see engstrom-net.ts); it dispatches
 * on `config.arch`.
 *
 * Conventions:
 * - Input and output are NHWC RGB on the 0–255 scale. Like the PyTorch example, the 0–255 input is fed to the first
 *   conv as is (no /255, no mean subtraction), so weights converted from that example work unchanged; the output
 *   is the last conv's raw value, unclamped (stylizeTensor clips).
 * - Weight names are the PyTorch state_dict names (`conv1.conv2d.weight`, `in1.weight`, `res1.conv1.conv2d.bias`,
 *   …) but kernels use tfjs layout [kh, kw, in, out] (PyTorch's [out, in, kh, kw] transposed by (2, 3, 1, 0)).
 * - Any H×W: the input is reflection-padded to a multiple of 4 (at least 8) split evenly between both sides, and
 *   the output cropped back to H×W.
 * - `inputNoise: σ` in the config adds σ × a fixed Gaussian field to the input first (input-noise.ts).
 * - Nearest ×2 upsampling uses reshape + tile (exact gradients on every backend), not resizeNearestNeighbor,
 *   whose cpu gradient is wrong for batch > 1.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, WeightsError } from '@hokusai/errors';
import { instanceNorm } from './instance-norm.ts';
import { reflectionPad2d } from './reflection-pad.ts';
import { NetConfigSchema, describeNetConfig, type NetConfig } from './net-config.ts';
import { convSpecs, normSpecs, shapeSize, type WeightSpec } from './weight-spec.ts';
import { engstromForward, engstromWeightSpecs } from './engstrom-net.ts';
import { inputNoiseField } from './input-noise.ts';

export const JOHNSON_IN_EPS = 1e-5;

/** Weight specs of a Johnson net, in a stable order (the PyTorch state_dict order). */
export function johnsonWeightSpecs(channels: readonly [number, number, number], residualBlocks: number): WeightSpec[] {
  const [c1, c2, c3] = channels;
  const specs: WeightSpec[] = [
    ...convSpecs('conv1.conv2d', 9, 3, c1, true),
    ...normSpecs('in1', c1),
    ...convSpecs('conv2.conv2d', 3, c1, c2, true),
    ...normSpecs('in2', c2),
    ...convSpecs('conv3.conv2d', 3, c2, c3, true),
    ...normSpecs('in3', c3),
  ];
  for (let r = 1; r <= residualBlocks; r++) {
    specs.push(...convSpecs(`res${r}.conv1.conv2d`, 3, c3, c3, true), ...normSpecs(`res${r}.in1`, c3));
    specs.push(...convSpecs(`res${r}.conv2.conv2d`, 3, c3, c3, true), ...normSpecs(`res${r}.in2`, c3));
  }
  specs.push(...convSpecs('deconv1.conv2d', 3, c3, c2, true), ...normSpecs('in4', c2));
  specs.push(...convSpecs('deconv2.conv2d', 3, c2, c1, true), ...normSpecs('in5', c1));
  specs.push(...convSpecs('deconv3.conv2d', 9, c1, 3, true));
  return specs;
}

/** Weight specs (names, shapes, initialisers) of any architecture, in the network's stable order. */
export function weightSpecs(config: NetConfig): WeightSpec[] {
  return config.arch === 'johnson' ? johnsonWeightSpecs(config.channels, config.residualBlocks) : engstromWeightSpecs();
}

/** Nearest-neighbour ×2 upsampling of [N,H,W,C] with reshape + tile (rank ≤ 4, so tile's gradient exists). */
export function upsampleNearest2x(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const wide = tf.reshape(tf.tile(tf.reshape(x, [n * h, w, 1, c]), [1, 1, 2, 1]), [n, h, 1, 2 * w * c]);
    return tf.reshape(tf.tile(wide, [1, 1, 2, 1]), [n, 2 * h, 2 * w, c]);
  });
}

/**
 * Plan for reflection-padding one dimension from n to target pixels, split evenly (extra pixel after): a list of
 * reflection steps (each pad < the current size), whether size 1 is first duplicated, and where the original
 * pixels start in the result.
 */
export function planReflectPad(n: number, target: number): { duplicate: boolean; steps: Array<[number, number]>; offset: number } {
  let size = n;
  const duplicate = n === 1 && target > 1;
  if (duplicate) size = 2;
  const steps: Array<[number, number]> = [];
  let offset = 0;
  while (size < target) {
    const d = Math.min(target - size, 2 * (size - 1));
    const before = Math.floor(d / 2);
    steps.push([before, d - before]);
    offset += before;
    size += d;
  }
  return { duplicate, steps, offset };
}

/**
 * Reflection-pads the spatial dims of x to exactly (th, tw) ≥ its size, split evenly (extra pixel after);
 * dimensions too small for one reflection step are padded in several steps (size 1 is first duplicated).
 * Returns the padded tensor and the offsets of the original pixels in it.
 */
export function padSpatialTo(x: tf.Tensor4D, th: number, tw: number): { padded: tf.Tensor4D; top: number; left: number } {
  const [, h, w] = x.shape;
  const ph = planReflectPad(h, th);
  const pw = planReflectPad(w, tw);
  const padded = tf.tidy(() => {
    let y = x;
    if (ph.duplicate) y = tf.concat([y, y], 1);
    if (pw.duplicate) y = tf.concat([y, y], 2);
    for (let i = 0; i < Math.max(ph.steps.length, pw.steps.length); i++) {
      const [top, bottom] = ph.steps[i] ?? [0, 0];
      const [left, right] = pw.steps[i] ?? [0, 0];
      y = reflectionPad2d(y, top, bottom, left, right);
    }
    return y === x ? tf.clone(x) : y;
  });
  return { padded, top: ph.offset, left: pw.offset };
}

type Get = (name: string) => tf.Tensor;

function convLayer(x: tf.Tensor4D, w: Get, prefix: string, stride: number): tf.Tensor4D {
  const kernel = w(`${prefix}.weight`) as tf.Tensor4D;
  const pad = Math.floor((kernel.shape[0] ?? 1) / 2);
  const y = tf.conv2d(reflectionPad2d(x, pad), kernel, stride, 'valid');
  return tf.add(y, w(`${prefix}.bias`)) as tf.Tensor4D;
}

function norm(x: tf.Tensor4D, w: Get, prefix: string): tf.Tensor4D {
  return instanceNorm(x, w(`${prefix}.weight`) as tf.Tensor1D, w(`${prefix}.bias`) as tf.Tensor1D, JOHNSON_IN_EPS);
}

function johnsonForward(input: tf.Tensor4D, w: Get, residualBlocks: number, noise: tf.Tensor4D | null): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, wd] = input.shape;
    const x: tf.Tensor4D = noise !== null ? tf.add(input, noise) : input;
    const th = Math.max(8, Math.ceil(h / 4) * 4);
    const tw = Math.max(8, Math.ceil(wd / 4) * 4);
    const { padded, top, left } = padSpatialTo(x, th, tw);
    let y = padded;
    y = tf.relu(norm(convLayer(y, w, 'conv1.conv2d', 1), w, 'in1'));
    y = tf.relu(norm(convLayer(y, w, 'conv2.conv2d', 2), w, 'in2'));
    y = tf.relu(norm(convLayer(y, w, 'conv3.conv2d', 2), w, 'in3'));
    for (let r = 1; r <= residualBlocks; r++) {
      const t = tf.relu(norm(convLayer(y, w, `res${r}.conv1.conv2d`, 1), w, `res${r}.in1`));
      y = tf.add(y, norm(convLayer(t, w, `res${r}.conv2.conv2d`, 1), w, `res${r}.in2`));
    }
    y = tf.relu(norm(convLayer(upsampleNearest2x(y), w, 'deconv1.conv2d', 1), w, 'in4'));
    y = tf.relu(norm(convLayer(upsampleNearest2x(y), w, 'deconv2.conv2d', 1), w, 'in5'));
    y = convLayer(y, w, 'deconv3.conv2d', 1);
    if (th === h && tw === wd) return y;
    return tf.slice(y, [0, top, left, 0], [-1, h, wd, -1]);
  });
}

function parseConfig(config: unknown): NetConfig {
  const result = NetConfigSchema.safeParse(config);
  if (!result.success) {
    throw new InvalidArgumentError(
      `Invalid network config: expected {arch:'johnson', channels:[c1,c2,c3], residualBlocks} or {arch:'engstrom'}, ` +
        `got ${JSON.stringify(config)} (${result.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; ')})`,
    );
  }
  return result.data;
}

/** A transformation network (Johnson or Engstrom architecture) owning its weights as tf.Variables. */
export class TransformerNet {
  readonly config: NetConfig;
  /** Trainable variables in the stable order of `weightSpecs(config)`. */
  readonly variables: tf.Variable[];
  private readonly byName: Map<string, tf.Variable>;
  private disposed = false;
  private noise: { h: number; w: number; field: tf.Tensor4D } | undefined;

  private constructor(config: NetConfig, names: string[], variables: tf.Variable[]) {
    this.config = config;
    this.variables = variables;
    this.byName = new Map(names.map((n, i) => [n, variables[i] as tf.Variable]));
  }

  /** Fresh network with PyTorch's default initialisation, deterministic for a given seed. */
  static create(config: NetConfig, seed = 0): TransformerNet {
    const cfg = parseConfig(config);
    if (!Number.isFinite(seed)) throw new InvalidArgumentError(`Seed must be a finite number, got ${seed}`);
    const specs = weightSpecs(cfg);
    const variables = specs.map((s, i) =>
      tf.tidy(() => {
        let init: tf.Tensor;
        if (s.init === 'ones') init = tf.ones(s.shape);
        else if (s.init === 'zeros') init = tf.zeros(s.shape);
        else {
          const bound = 1 / Math.sqrt(s.fanIn);
          init = tf.randomUniform(s.shape, -bound, bound, 'float32', seed * 1009 + i + 1);
        }
        return tf.variable(init, true);
      }),
    );
    return new TransformerNet(cfg, specs.map((s) => s.name), variables);
  }

  /**
   * Network from existing tensors (copied; the caller keeps ownership of `weights`). Names and shapes must match
   * `weightSpecs(config)` exactly: missing, extra or misshapen tensors and non-float32 dtypes are WeightsErrors.
   */
  static fromWeights(config: NetConfig, weights: Record<string, tf.Tensor>): TransformerNet {
    const cfg = parseConfig(config);
    const specs = weightSpecs(cfg);
    const expected = new Set(specs.map((s) => s.name));
    const missing = specs.filter((s) => !(s.name in weights)).map((s) => s.name);
    const extra = Object.keys(weights).filter((n) => !expected.has(n));
    if (missing.length > 0 || extra.length > 0) {
      throw new WeightsError(
        `Weights do not match a ${describeNetConfig(cfg)} network: ` +
          [
            missing.length > 0 ? `missing ${missing.length} (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''})` : '',
            extra.length > 0 ? `unexpected ${extra.length} (${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', …' : ''})` : '',
          ]
            .filter(Boolean)
            .join('; '),
      );
    }
    for (const s of specs) {
      const t = weights[s.name] as tf.Tensor;
      if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
        throw new WeightsError(`Weight ${s.name}: expected shape [${s.shape.join(',')}], got [${t.shape.join(',')}]`);
      }
      if (t.dtype !== 'float32') throw new WeightsError(`Weight ${s.name}: expected dtype float32, got ${t.dtype}`);
    }
    const variables = specs.map((s) => tf.tidy(() => tf.variable(tf.clone(weights[s.name] as tf.Tensor), true)));
    return new TransformerNet(cfg, specs.map((s) => s.name), variables);
  }

  /** Weight specs of this network's architecture. */
  specs(): WeightSpec[] {
    return weightSpecs(this.config);
  }

  /** name → variable (no copy: do not dispose them). */
  namedWeights(): Record<string, tf.Tensor> {
    this.assertAlive();
    return Object.fromEntries(this.byName);
  }

  parameterCount(): number {
    return this.variables.reduce((sum, v) => sum + shapeSize(v.shape), 0);
  }

  /** [N,H,W,3] RGB 0–255 → [N,H,W,3] stylised, unclamped. Any H, W ≥ 1. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    this.assertAlive();
    if (x.rank !== 4 || x.shape[3] !== 3) {
      throw new InvalidArgumentError(`TransformerNet.apply expects an [N,H,W,3] tensor, got shape [${x.shape.join(',')}]`);
    }
    if (x.shape.some((d) => d < 1)) {
      throw new InvalidArgumentError(`TransformerNet.apply expects non-empty dimensions, got [${x.shape.join(',')}]`);
    }
    const get: Get = (name) => {
      const v = this.byName.get(name);
      if (v === undefined) throw new Error(`internal: no weight ${name}`);
      return v;
    };
    const noise = this.noiseFor(x.shape[1], x.shape[2]);
    return tf.tidy(() => {
      const input = x.dtype === 'float32' ? x : tf.cast(x, 'float32');
      return this.config.arch === 'johnson'
        ? johnsonForward(input, get, this.config.residualBlocks, noise)
        : engstromForward(input, get);
    });
  }

  /**
   * The input-noise field for an h×w input, or null without one. The last size's field is kept (a video's frames
   * all have one size), owned by the network and released by dispose().
   */
  private noiseFor(h: number, w: number): tf.Tensor4D | null {
    const sigma = this.config.arch === 'johnson' ? (this.config.inputNoise ?? 0) : 0;
    if (sigma <= 0) return null;
    if (this.noise?.h === h && this.noise.w === w) return this.noise.field;
    this.noise?.field.dispose();
    // kept: apply may run inside a caller's tidy (a training step), which must not dispose the cached field
    this.noise = { h, w, field: tf.keep(inputNoiseField(h, w, sigma)) };
    return this.noise.field;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.variables) v.dispose();
    this.noise?.field.dispose();
    this.noise = undefined;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private assertAlive(): void {
    if (this.disposed) throw new InvalidArgumentError('TransformerNet was used after dispose()');
  }
}
