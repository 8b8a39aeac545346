/**
 * Layer tables of the VGG loss networks (Simonyan & Zisserman 2014, "Very Deep Convolutional Networks for
 * Large-Scale Image Recognition", arXiv:1409.1556): the public layer names (`relu1_1` …) used by the losses, and
 * their Keras conv layer names (`block1_conv1` …) used by the weight files.
 */
import { HokusaiError } from '@hokusai/errors';

export type LossNetName = 'vgg16' | 'vgg19';

export const LOSS_NETS: readonly LossNetName[] = ['vgg16', 'vgg19'];

/** Number of 3×3 convs in each of the 5 blocks. */
export const BLOCK_CONVS: Record<LossNetName, readonly number[]> = {
  vgg16: [2, 2, 3, 3, 3],
  vgg19: [2, 2, 4, 4, 4],
};

/** Output channels of every conv in each block. */
export const BLOCK_CHANNELS: readonly number[] = [64, 128, 256, 512, 512];

export interface ConvSpec {
  /** Keras layer name, e.g. `block2_conv1`. */
  conv: string;
  /** Public name of the ReLU after it, e.g. `relu2_1`. */
  relu: string;
  block: number;
  index: number;
  inChannels: number;
  outChannels: number;
  /** True when this conv is the last of its block (a pooling layer follows). */
  lastInBlock: boolean;
}

/** Every conv of the network in forward order. */
export function convSpecs(net: LossNetName): ConvSpec[] {
  const specs: ConvSpec[] = [];
  let inChannels = 3;
  BLOCK_CONVS[net].forEach((count, b) => {
    const out = BLOCK_CHANNELS[b] ?? 0;
    for (let i = 1; i <= count; i++) {
      specs.push({
        conv: `block${b + 1}_conv${i}`,
        relu: `relu${b + 1}_${i}`,
        block: b + 1,
        index: i,
        inChannels,
        outChannels: out,
        lastInBlock: i === count,
      });
      inChannels = out;
    }
  });
  return specs;
}

/** Public layer names, `relu1_1 … relu5_3` (vgg16) / `relu1_1 … relu5_4` (vgg19). */
export const VGG_LAYERS: Record<LossNetName, readonly string[]> = {
  vgg16: convSpecs('vgg16').map((s) => s.relu),
  vgg19: convSpecs('vgg19').map((s) => s.relu),
};

/** Throws LAYER_UNKNOWN naming the valid layers when `layer` is not a layer of `net`. */
export function checkLayer(net: LossNetName, layer: string): void {
  if (!VGG_LAYERS[net].includes(layer)) {
    throw new HokusaiError(
      'LAYER_UNKNOWN',
      `Unknown ${net} layer '${layer}': expected one of ${VGG_LAYERS[net].join(', ')}`,
      { details: { net, layer } },
    );
  }
}

/** Index (in forward order) of the deepest of `layers`; all must be valid layers of `net`. */
export function deepestLayerIndex(net: LossNetName, layers: Iterable<string>): number {
  let deepest = -1;
  for (const layer of layers) {
    checkLayer(net, layer);
    deepest = Math.max(deepest, VGG_LAYERS[net].indexOf(layer));
  }
  return deepest;
}
