/**
 * Memory estimate for pixel optimisation (Gatys et al. 2015, arXiv 1508.06576) before any heavy work: VGG
 * activations kept for the backward pass at the output size, the optimiser's state (L-BFGS keeps 2·history
 * image-sized vectors), and the largest single tensor (WebGPU caps one buffer). `largestFittingSize` turns a
 * budget into the biggest long edge that fits, so the error message can say what would work. Also the forward-only
 * estimate for a style image's Gram targets (`checkStyleFits`, used by `hokusai train` and `hokusai eval`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { totalmem } from 'node:os';
import { HokusaiError } from '@hokusai/errors';
import { VGG_LAYERS } from '@hokusai/losses';

type LossNetName = 'vgg16' | 'vgg19';

/** Conv layers per block and their channels (Simonyan & Zisserman 2014, configurations D and E). */
const BLOCKS: Record<LossNetName, { convs: number; channels: number }[]> = {
  vgg16: [
    { convs: 2, channels: 64 },
    { convs: 2, channels: 128 },
    { convs: 3, channels: 256 },
    { convs: 3, channels: 512 },
    { convs: 3, channels: 512 },
  ],
  vgg19: [
    { convs: 2, channels: 64 },
    { convs: 2, channels: 128 },
    { convs: 4, channels: 256 },
    { convs: 4, channels: 512 },
    { convs: 4, channels: 512 },
  ],
};

/** Live floats per conv output value during backward (fitted, see estimateMemory). */
const CONV_FLOATS = 9;
/** Constant kernel scratch (bytes). */
const SCRATCH_BYTES = 64 * 1024 ** 2;

export interface MemoryEstimateInput {
  lossNet: LossNetName;
  /** Output width and height (pixels) of the largest level. */
  width: number;
  height: number;
  /** Deepest layer used, e.g. relu5_1 (stops counting after it). */
  deepestLayer: string;
  optimizer: 'lbfgs' | 'adam';
  lbfgsHistory: number;
}

export interface MemoryEstimate {
  totalBytes: number;
  activationBytes: number;
  optimizerBytes: number;
  largestTensorBytes: number;
}

/**
 * Bytes needed for one forward+backward pass of the loss network plus the optimiser state. Fitted to tf.profile's
 * peak on wasm (test/optimize.test.ts measures 64×48 and checks the estimate): about 9 floats per conv output value
 * stay alive (conv, bias add and ReLU outputs for the backward pass, their gradients, the backprop-input kernel's
 * scratch), plus a constant ~64 MiB of kernel scratch (im2col chunks are capped at 32 MiB).
 */
export function estimateMemory(input: MemoryEstimateInput): MemoryEstimate {
  const m = /^relu(\d)_(\d)$/.exec(input.deepestLayer);
  const lastBlock = m ? Number(m[1]) : 5;
  const lastConv = m ? Number(m[2]) : 4;
  let floats = 0;
  let largest = 0;
  let h = input.height;
  let w = input.width;
  BLOCKS[input.lossNet].forEach((block, i) => {
    if (i + 1 > lastBlock) return;
    const convs = i + 1 === lastBlock ? Math.min(lastConv, block.convs) : block.convs;
    const size = block.channels * h * w;
    floats += convs * size * CONV_FLOATS;
    largest = Math.max(largest, size);
    if (i + 1 < lastBlock) floats += (block.channels * Math.ceil(h / 2) * Math.ceil(w / 2)) * 2; // pooling out + grad
    h = Math.ceil(h / 2);
    w = Math.ceil(w / 2);
  });
  const pixels = input.width * input.height * 3;
  const vectors = (input.optimizer === 'lbfgs' ? 2 * input.lbfgsHistory + 8 : 6) + 4; // + image, content, grads
  const activationBytes = floats * 4 + SCRATCH_BYTES;
  const optimizerBytes = vectors * pixels * 4;
  return { totalBytes: activationBytes + optimizerBytes, activationBytes, optimizerBytes, largestTensorBytes: largest * 4 };
}

export interface MemoryBudget {
  /** Backend shown in messages. */
  backend: string;
  totalBytes: number;
  /** Largest single buffer (WebGPU's maxStorageBufferBindingSize); undefined when only the total matters. */
  maxTensorBytes?: number;
}

export function fits(e: MemoryEstimate, b: MemoryBudget): boolean {
  return e.totalBytes <= b.totalBytes && (b.maxTensorBytes === undefined || e.largestTensorBytes <= b.maxTensorBytes);
}

/** Largest long edge (binary search; width/height = `aspect`) for which `fitsAt` holds; 0 when not even 16 px does. */
function largestLongEdge(aspect: number, fitsAt: (dims: { width: number; height: number }) => boolean): number {
  const dims = (long: number): { width: number; height: number } =>
    aspect >= 1 ? { width: long, height: Math.max(1, Math.round(long / aspect)) } : { width: Math.max(1, Math.round(long * aspect)), height: long };
  let lo = 0;
  let hi = 1 << 16;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (fitsAt(dims(mid))) lo = mid;
    else hi = mid;
  }
  return lo >= 16 ? lo : 0;
}

/** Largest long edge (same aspect ratio) whose estimate fits the budget; 0 when not even 16 px fits. */
export function largestFittingSize(input: Omit<MemoryEstimateInput, 'width' | 'height'> & { aspect: number }, budget: MemoryBudget): number {
  return largestLongEdge(input.aspect, (dims) => fits(estimateMemory({ ...input, ...dims }), budget));
}

/**
 * Why an estimate does not fit, for an OUT_OF_MEMORY message: the single-buffer limit when that is what it breaks,
 * else the total. `subject` starts each phrase (e.g. `its largest tensor` / `it needs`).
 */
export function shortfall(need: MemoryEstimate, budget: MemoryBudget, subject: { tensor: string; total: string }): string {
  return budget.maxTensorBytes !== undefined && need.largestTensorBytes > budget.maxTensorBytes
    ? `${subject.tensor} needs ${formatBytes(need.largestTensorBytes)} but ${budget.backend} allows ${formatBytes(budget.maxTensorBytes)} per buffer`
    : `${subject.total} about ${formatBytes(need.totalBytes)} but ${budget.backend} has ${formatBytes(budget.totalBytes)}`;
}

export const GIB = 1024 ** 3;

export function formatBytes(n: number): string {
  if (n >= GIB) return `${(n / GIB).toFixed(2)} GiB`;
  return `${(n / 1024 ** 2).toFixed(0)} MiB`;
}

/** Memory the backend can give (wasm: its 4 GiB heap; WebGPU: system memory and the largest storage buffer). */
export function memoryBudget(backend: string): MemoryBudget {
  const system = Math.floor(totalmem() * 0.8);
  if (backend === 'wasm') return { backend, totalBytes: Math.min(4 * GIB, system) };
  if (backend === 'webgpu') {
    const device = (tf.backend() as unknown as { device?: { limits?: { maxStorageBufferBindingSize?: number; maxBufferSize?: number } } }).device;
    const l = device?.limits;
    const maxTensorBytes = Math.min(l?.maxStorageBufferBindingSize ?? 128 * 1024 ** 2, l?.maxBufferSize ?? Infinity);
    return { backend, totalBytes: system, maxTensorBytes };
  }
  return { backend, totalBytes: system };
}

export function deepestLayer(net: 'vgg16' | 'vgg19', layers: string[]): string {
  const order = VGG_LAYERS[net];
  let best = -1;
  for (const l of layers) {
    const i = order.indexOf(l);
    if (i < 0) throw new HokusaiError('LAYER_UNKNOWN', `Layer '${l}': expected one of ${order.join(', ')} for ${net}`);
    best = Math.max(best, i);
  }
  return order[best] ?? order[order.length - 1] ?? 'relu5_1';
}

/**
 * Bytes for a forward pass only (a style image's Gram targets, computed in one tidy that holds every layer's
 * output): half the forward+backward activations. Measured on wasm with VGG19 to relu4_3: the starry-night painting
 * at 1024×640 (estimate 3.3 GiB) computes, at 1408×880 (6.0 GiB) the 4 GiB heap aborts.
 */
export function estimateForward(input: Omit<MemoryEstimateInput, 'optimizer' | 'lbfgsHistory'>): MemoryEstimate {
  const e = estimateMemory({ ...input, optimizer: 'adam', lbfgsHistory: 0 });
  return { totalBytes: e.activationBytes / 2, activationBytes: e.activationBytes / 2, optimizerBytes: 0, largestTensorBytes: e.largestTensorBytes };
}

/**
 * OUT_OF_MEMORY, naming the largest --style-size that fits, when the loss network's forward pass over a style image
 * (its Gram targets) cannot fit the engine: wasm otherwise aborts deep inside a kernel ("memory access out of
 * bounds"). Used by `hokusai train` and `hokusai eval` before the weights load.
 */
export function checkStyleFits(input: {
  file: string;
  image: { width: number; height: number };
  /** The --style-size asked for, if any (for the message). */
  styleSize: number | undefined;
  lossNet: LossNetName;
  styleLayers: string[];
  backend: string;
}): void {
  const budget = memoryBudget(input.backend);
  const deepest = deepestLayer(input.lossNet, input.styleLayers);
  const { width, height } = input.image;
  const need = estimateForward({ lossNet: input.lossNet, deepestLayer: deepest, width, height });
  if (fits(need, budget)) return;
  const largest = largestLongEdge(width / height, (dims) => fits(estimateForward({ lossNet: input.lossNet, deepestLayer: deepest, ...dims }), budget));
  const limit = shortfall(need, budget, { tensor: 'its largest feature map', total: 'its loss-network features need' });
  const at = input.styleSize !== undefined ? ` at --style-size ${input.styleSize}` : '';
  throw new HokusaiError(
    'OUT_OF_MEMORY',
    `--style ${input.file}${at} (${width}×${height}) does not fit in memory: ${limit}. ` +
      `Expected --style-size ≤ ${largest} on ${input.backend}, or an engine with more memory (--backend cpu, webgpu or tensorflow).`,
    { details: { neededBytes: need.totalBytes, budgetBytes: budget.totalBytes, largestStyleSize: largest } },
  );
}
