/**
 * Builds an ONNX graph (opset 17, IR 8) that computes exactly what `TransformerNet.apply` computes, from a
 * network's weights, so onnxruntime can run our checkpoints. Both architectures:
 * - Johnson et al. 2016 ("Perceptual Losses for Real-Time Style Transfer and Super-Resolution", pytorch/examples
 *   fast_neural_style): the fixed input noise field if the network has one (a constant tile, Tile + Slice),
 *   reflection pad to a multiple of 4 (≥ 8), reflect-padded convs, InstanceNormalization
 *   (eps 1e-5), ReLU, residual Adds, nearest ×2 Resize + conv, crop back with Slice.
 * - Engstrom's fast-style-transfer: SAME zero-padded convs, IN (eps 1e-3), ConvTranspose ×2, tanh·150 + 127.5,
 *   crop keeping the last rows/columns.
 * Graph I/O follows the project convention: input `image` [N,H,W,3] float32 RGB 0–255 (dynamic N, H, W), output
 * `stylized` [N,H,W,3] clipped to 0–255. The Johnson graph needs H, W ≥ 4 (reflection needs a pad smaller than the
 * side); the Engstrom graph takes any size.
 */
import { NOISE_TILE, noiseTile, type TransformerNet } from '@hokusai/model';
import { DataType, encodeModel, type NodeSpec, type TensorSpec } from './onnx-proto.ts';

export const ONNX_INPUT = 'image';
export const ONNX_OUTPUT = 'stylized';
export const ONNX_OPSET = 17;
/** Smallest side the Johnson graph accepts (the reflection pads must be smaller than the padded side). */
export const ONNX_MIN_SIDE = 4;

/** A weight as the exporter sees it: shape (tfjs layout) and float32 data. */
export interface RawWeight {
  shape: readonly number[];
  data: Float32Array;
}

/** Permutes a 4-D [a,b,c,d] tensor's data by `perm` (output dim i = input dim perm[i]). */
function transpose4(w: RawWeight, perm: readonly [number, number, number, number]): RawWeight {
  const s = w.shape;
  const inStrides = [s[1]! * s[2]! * s[3]!, s[2]! * s[3]!, s[3]!, 1];
  const outShape = perm.map((p) => s[p]!);
  const out = new Float32Array(w.data.length);
  const [o0, o1, o2, o3] = outShape as [number, number, number, number];
  const st = perm.map((p) => inStrides[p]!) as [number, number, number, number];
  let k = 0;
  for (let a = 0; a < o0; a++)
    for (let b = 0; b < o1; b++)
      for (let c = 0; c < o2; c++)
        for (let d = 0; d < o3; d++) out[k++] = w.data[a * st[0] + b * st[1] + c * st[2] + d * st[3]]!;
  return { shape: outShape, data: out };
}

class GraphBuilder {
  readonly nodes: NodeSpec[] = [];
  readonly initializers: TensorSpec[] = [];
  private counter = 0;

  constructor(private readonly weights: Record<string, RawWeight>) {}

  fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  constF(name: string, dims: number[], values: Float32Array | number[]): string {
    this.initializers.push({ name, dims, data: values instanceof Float32Array ? values : Float32Array.from(values) });
    return name;
  }

  constI(name: string, values: number[]): string {
    this.initializers.push({ name, dims: [values.length], data: BigInt64Array.from(values.map((v) => BigInt(v))) });
    return name;
  }

  op(op: string, inputs: string[], attrs?: NodeSpec['attrs'], hint = op.toLowerCase()): string {
    const out = this.fresh(hint);
    this.nodes.push({ op, inputs, outputs: [out], name: out, ...(attrs ? { attrs } : {}) });
    return out;
  }

  weight(name: string): RawWeight {
    const w = this.weights[name];
    if (!w) throw new Error(`internal: ONNX export needs weight ${name}, which the network does not have`);
    return w;
  }

  /** tfjs conv kernel [kh,kw,in,out] (or transposed-conv kernel [kh,kw,out,in]) → ONNX [out|in, in|out, kh, kw]. */
  kernel(name: string): { name: string; k: number } {
    const t = transpose4(this.weight(name), [3, 2, 0, 1]);
    this.constF(name, [...t.shape], t.data);
    return { name, k: t.shape[2]! };
  }

  vector(name: string): string {
    const w = this.weight(name);
    return this.constF(name, [...w.shape], w.data);
  }
}

/** Johnson layer: reflection pad k//2, conv (stride s) + bias. */
function johnsonConv(g: GraphBuilder, x: string, prefix: string, stride: number): string {
  const { name, k } = g.kernel(`${prefix}.weight`);
  const p = Math.floor(k / 2);
  let y = x;
  if (p > 0) y = g.op('Pad', [x, g.constI(g.fresh('pads'), [0, 0, p, p, 0, 0, p, p])], { mode: { string: 'reflect' } });
  return g.op('Conv', [y, name, g.vector(`${prefix}.bias`)], { kernel_shape: { ints: [k, k] }, strides: { ints: [stride, stride] } });
}

function inorm(g: GraphBuilder, x: string, prefix: string, eps: number): string {
  return g.op('InstanceNormalization', [x, g.vector(`${prefix}.weight`), g.vector(`${prefix}.bias`)], { epsilon: { float: eps } });
}

/** σ × the model package's fixed noise tile as an NCHW constant, repeated to cover H×W and cropped (input-noise.ts). */
function noiseField(g: GraphBuilder, hw: string, sigma: number): string {
  const t = noiseTile();
  const chw = new Float32Array(t.length);
  const plane = NOISE_TILE * NOISE_TILE;
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) chw[c * plane + p] = sigma * t[p * 3 + c]!;
  const tile = g.constF('c_noise_tile', [1, 3, NOISE_TILE, NOISE_TILE], chw);
  const size = g.constI('c_noise_size', [NOISE_TILE, NOISE_TILE]);
  const reps = g.op('Div', [g.op('Add', [hw, g.constI('c_noise_round', [NOISE_TILE - 1, NOISE_TILE - 1])]), size]);
  const tiled = g.op('Tile', [tile, g.op('Concat', [g.constI('c_one2', [1, 1]), reps], { axis: { int: 0 } })]);
  return g.op('Slice', [tiled, g.constI('c_zero2', [0, 0]), hw, g.constI('c_axes_hw', [2, 3])]);
}

function johnsonGraph(g: GraphBuilder, input: string, hw: string, residualBlocks: number, noise: number): string {
  const x = noise > 0 ? g.op('Add', [input, noiseField(g, hw, noise)]) : input;
  // Target size: max(8, 4·ceil(h/4)); split the padding evenly (extra after), as padSpatialTo does.
  const four = g.constI('c_four', [4, 4]);
  const target = g.op('Max', [g.op('Mul', [g.op('Div', [g.op('Add', [hw, g.constI('c_three', [3, 3])]), four]), four]), g.constI('c_eight', [8, 8])]);
  const diff = g.op('Sub', [target, hw]);
  const before = g.op('Div', [diff, g.constI('c_two', [2, 2])]);
  const after = g.op('Sub', [diff, before]);
  const zeros = g.constI('c_zero2', [0, 0]);
  const pads = g.op('Concat', [zeros, before, zeros, after], { axis: { int: 0 } });
  let y = g.op('Pad', [x, pads], { mode: { string: 'reflect' } });

  const relu = (t: string) => g.op('Relu', [t]);
  y = relu(inorm(g, johnsonConv(g, y, 'conv1.conv2d', 1), 'in1', 1e-5));
  y = relu(inorm(g, johnsonConv(g, y, 'conv2.conv2d', 2), 'in2', 1e-5));
  y = relu(inorm(g, johnsonConv(g, y, 'conv3.conv2d', 2), 'in3', 1e-5));
  for (let r = 1; r <= residualBlocks; r++) {
    const t = relu(inorm(g, johnsonConv(g, y, `res${r}.conv1.conv2d`, 1), `res${r}.in1`, 1e-5));
    y = g.op('Add', [y, inorm(g, johnsonConv(g, t, `res${r}.conv2.conv2d`, 1), `res${r}.in2`, 1e-5)]);
  }
  const scales = g.constF('c_upsample_scales', [4], [1, 1, 2, 2]);
  const up = (t: string) =>
    g.op('Resize', [t, '', scales], {
      mode: { string: 'nearest' },
      coordinate_transformation_mode: { string: 'asymmetric' },
      nearest_mode: { string: 'floor' },
    });
  y = relu(inorm(g, johnsonConv(g, up(y), 'deconv1.conv2d', 1), 'in4', 1e-5));
  y = relu(inorm(g, johnsonConv(g, up(y), 'deconv2.conv2d', 1), 'in5', 1e-5));
  y = johnsonConv(g, y, 'deconv3.conv2d', 1);
  // Crop back to H×W from (top, left).
  return g.op('Slice', [y, before, g.op('Add', [before, hw]), g.constI('c_axes_hw', [2, 3])]);
}

function engstromGraph(g: GraphBuilder, x: string, hw: string): string {
  const eps = 1e-3;
  const conv = (t: string, prefix: string, norm: string, stride: number, relu: boolean): string => {
    const { name, k } = g.kernel(`${prefix}.weight`);
    const c = g.op('Conv', [t, name], { kernel_shape: { ints: [k, k] }, strides: { ints: [stride, stride] }, auto_pad: { string: 'SAME_UPPER' } });
    const n = inorm(g, c, norm, eps);
    return relu ? g.op('Relu', [n]) : n;
  };
  const deconv = (t: string, prefix: string, norm: string): string => {
    const { name, k } = g.kernel(`${prefix}.weight`);
    // TF conv2d_transpose 'same', stride 2, output 2H: pad 0 before, 1 after (see SOURCE.md of the reference nets).
    const c = g.op('ConvTranspose', [t, name], { kernel_shape: { ints: [k, k] }, strides: { ints: [2, 2] }, pads: { ints: [0, 0, 1, 1] } });
    return g.op('Relu', [inorm(g, c, norm, eps)]);
  };
  let y = conv(x, 'conv1', 'in1', 1, true);
  y = conv(y, 'conv2', 'in2', 2, true);
  y = conv(y, 'conv3', 'in3', 2, true);
  for (let r = 1; r <= 5; r++) {
    const t = conv(y, `res${r}.conv1`, `res${r}.in1`, 1, true);
    y = g.op('Add', [y, conv(t, `res${r}.conv2`, `res${r}.in2`, 1, false)]);
  }
  y = deconv(y, 'deconv1', 'in4');
  y = deconv(y, 'deconv2', 'in5');
  y = conv(y, 'deconv3', 'in6', 1, false);
  y = g.op('Add', [g.op('Mul', [g.op('Tanh', [y]), g.constF('c_150', [], [150])]), g.constF('c_127_5', [], [127.5])]);
  // Output is 4·ceil(H/4) × 4·ceil(W/4): keep the last H rows and W columns.
  const outHw = g.op('Slice', [g.op('Shape', [y]), g.constI('c_s2', [2]), g.constI('c_s4', [4])]);
  return g.op('Slice', [y, g.op('Sub', [outHw, hw]), outHw, g.constI('c_axes_hw', [2, 3])]);
}

export interface OnnxExportOptions {
  /** Written into the model's metadata_props (e.g. style name, checkpoint step). */
  metadata?: Record<string, string>;
  producerVersion?: string;
}

/** ONNX model bytes for a network described by its config and raw weights (tfjs layouts). */
export function buildOnnxModel(
  config: TransformerNet['config'],
  weights: Record<string, RawWeight>,
  opts: OnnxExportOptions = {},
): Uint8Array {
  const g = new GraphBuilder(weights);
  const nchw = g.op('Transpose', [ONNX_INPUT], { perm: { ints: [0, 3, 1, 2] } }, 'nchw');
  const hw = g.op('Slice', [g.op('Shape', [nchw]), g.constI('c_s2', [2]), g.constI('c_s4', [4])], undefined, 'hw');
  const y =
    config.arch === 'johnson'
      ? johnsonGraph(g, nchw, hw, config.residualBlocks, config.inputNoise ?? 0)
      : engstromGraph(g, nchw, hw);
  const clipped = g.op('Clip', [y, g.constF('c_min', [], [0]), g.constF('c_max', [], [255])]);
  g.nodes.push({ op: 'Transpose', inputs: [clipped], outputs: [ONNX_OUTPUT], name: 'to_nhwc', attrs: { perm: { ints: [0, 2, 3, 1] } } });
  // Deduplicate constants that were declared twice under the same name (e.g. shared axes).
  const seen = new Set<string>();
  const initializers = g.initializers.filter((t) => (seen.has(t.name) ? false : (seen.add(t.name), true)));
  return encodeModel({
    graphName: config.arch === 'johnson' ? 'hokusai_johnson' : 'hokusai_engstrom',
    nodes: g.nodes,
    initializers,
    inputs: [{ name: ONNX_INPUT, elemType: DataType.FLOAT, shape: ['N', 'H', 'W', 3] }],
    outputs: [{ name: ONNX_OUTPUT, elemType: DataType.FLOAT, shape: ['N', 'H', 'W', 3] }],
    opset: ONNX_OPSET,
    irVersion: 8,
    producerName: 'hokusai',
    producerVersion: opts.producerVersion ?? '0.1.0',
    docString: 'Hokusai style transfer network: input image [N,H,W,3] RGB 0-255 float32, output stylized [N,H,W,3] 0-255.',
    metadata: { architecture: JSON.stringify(config), ...(opts.metadata ?? {}) },
  });
}

/** ONNX model bytes for a loaded TransformerNet (reads its weights; the net is not modified or disposed). */
export function exportOnnx(net: TransformerNet, opts: OnnxExportOptions = {}): Uint8Array {
  const weights: Record<string, RawWeight> = {};
  for (const [name, t] of Object.entries(net.namedWeights())) {
    weights[name] = { shape: t.shape, data: t.dataSync() as Float32Array };
  }
  return buildOnnxModel(net.config, weights, opts);
}
