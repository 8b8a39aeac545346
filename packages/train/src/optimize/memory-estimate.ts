/**
 * Memory estimate for pixel optimisation (Gatys et al. 2015, arXiv 1508.06576) before any heavy work: VGG
 * activations kept for the backward pass at the output size, the optimiser's state (L-BFGS keeps 2·history
 * image-sized vectors), and the largest single tensor (WebGPU caps one buffer). `largestFittingSize` turns a
 * budget into the biggest long edge that fits, so the error message can say what would work.
 */
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

/** Largest long edge (same aspect ratio) whose estimate fits the budget; 0 when not even 16 px fits. */
export function largestFittingSize(input: Omit<MemoryEstimateInput, 'width' | 'height'> & { aspect: number }, budget: MemoryBudget): number {
  const dims = (long: number): { width: number; height: number } =>
    input.aspect >= 1
      ? { width: long, height: Math.max(1, Math.round(long / input.aspect)) }
      : { width: Math.max(1, Math.round(long * input.aspect)), height: long };
  let lo = 0;
  let hi = 1 << 16;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (fits(estimateMemory({ ...input, ...dims(mid) }), budget)) lo = mid;
    else hi = mid;
  }
  return lo >= 16 ? lo : 0;
}

export const GIB = 1024 ** 3;

export function formatBytes(n: number): string {
  if (n >= GIB) return `${(n / GIB).toFixed(2)} GiB`;
  return `${(n / 1024 ** 2).toFixed(0)} MiB`;
}
