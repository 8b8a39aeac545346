/**
 * VGG16/VGG19 convolutional feature network (Simonyan & Zisserman 2014, arXiv:1409.1556) used as the loss network
 * of Johnson et al. 2016 ("Perceptual Losses for Real-Time Style Transfer and Super-Resolution") and Gatys et al.
 * 2016. Input is NHWC RGB 0–255; the Keras "caffe" preprocessing (RGB→BGR, minus the ImageNet mean
 * [103.939, 116.779, 123.68]) is folded in: the mean is subtracted in RGB order and the first kernel's input
 * channels are flipped, which is the same function. Only the layers up to the deepest requested one are built.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, WeightsError } from '@hokusai/errors';
import type { VggWeights } from './keras-h5.ts';
import { checkLayer, convSpecs, deepestLayerIndex, type ConvSpec, type LossNetName } from './layers.ts';

/** ImageNet mean in RGB order (Keras lists it in BGR: [103.939, 116.779, 123.68]). */
export const IMAGENET_MEAN_RGB: readonly [number, number, number] = [123.68, 116.779, 103.939];

export const POOLINGS = ['max', 'avg', 'max-blur'] as const;
export type Pooling = (typeof POOLINGS)[number];

/**
 * 2×2 pooling between VGG blocks, halving the size. `max-blur` is the anti-aliased max pooling ("MaxBlurPool") of
 * Zhang 2019, "Making Convolutional Networks Shift-Invariant Again" (arXiv:1904.11486): a dense 2×2 max, then a
 * [1,2,1]/4 binomial blur with stride 2 (two 2×2 box filters). Plain max pooling aliases: a fine lattice in the
 * image folds into low-frequency energy of the deeper features, which a trained network can exploit to match
 * Gram targets (docs/training.md); the blur removes most of that fold.
 */
export function pool2x2(x: tf.Tensor4D, pooling: Pooling): tf.Tensor4D {
  if (pooling === 'max') return tf.maxPool(x, 2, 2, 'valid');
  if (pooling === 'avg') return tf.avgPool(x, 2, 2, 'valid');
  return tf.avgPool(tf.avgPool(tf.maxPool(x, 2, 1, 'same'), 2, 1, 'same'), 2, 2, 'valid');
}

export interface VggOptions {
  /** Layers whose features are wanted (`relu1_1` …); the network is built up to the deepest. */
  layers: string[];
  /** 2×2 pooling between blocks: max (VGG, Johnson), average (Gatys) or anti-aliased max (`pool2x2`). Default max. */
  pooling?: Pooling;
}

interface Conv {
  spec: ConvSpec;
  kernel: tf.Tensor4D;
  bias: tf.Tensor1D;
}

export class Vgg {
  readonly net: LossNetName;
  readonly layers: readonly string[];
  readonly pooling: Pooling;
  private readonly convs: Conv[];
  private readonly mean: tf.Tensor1D;
  private disposed = false;

  private constructor(net: LossNetName, layers: string[], pooling: Pooling, convs: Conv[], mean: tf.Tensor1D) {
    this.net = net;
    this.layers = layers;
    this.pooling = pooling;
    this.convs = convs;
    this.mean = mean;
  }

  static create(w: VggWeights, opts: VggOptions): Vgg {
    const pooling = opts.pooling ?? 'max';
    if (!POOLINGS.includes(pooling)) {
      throw new InvalidArgumentError(`Expected pooling ${POOLINGS.map((p) => `'${p}'`).join(', ')}, but got '${String(pooling)}'`);
    }
    if (opts.layers.length === 0) throw new InvalidArgumentError('Expected at least one VGG layer, but got none');
    const deepest = deepestLayerIndex(w.net, opts.layers);
    const specs = convSpecs(w.net).slice(0, deepest + 1);
    // Validate everything before creating any tensor, so a bad file leaks nothing.
    for (const spec of specs) {
      const cw = w.layers.get(spec.conv);
      if (!cw) {
        throw new WeightsError(
          `Expected ${w.net} weights for layer '${spec.conv}' (needed for ${opts.layers.join(', ')}), but the weights have only [${[...w.layers.keys()].join(', ')}]`,
        );
      }
      const shape = [3, 3, spec.inChannels, spec.outChannels];
      if (cw.kernel.length !== 9 * spec.inChannels * spec.outChannels || cw.bias.length !== spec.outChannels) {
        throw new WeightsError(
          `Expected '${spec.conv}' kernel [${shape.join(', ')}] and bias [${spec.outChannels}], but got ${cw.kernel.length} kernel and ${cw.bias.length} bias values`,
        );
      }
    }
    const convs = specs.map((spec): Conv => {
      const cw = w.layers.get(spec.conv)!;
      let kernel = cw.kernel;
      if (spec.block === 1 && spec.index === 1) kernel = flipInputChannels(kernel, spec.outChannels);
      return {
        spec,
        kernel: tf.tensor4d(kernel, [3, 3, spec.inChannels, spec.outChannels], 'float32'),
        bias: tf.tensor1d(cw.bias, 'float32'),
      };
    });
    const mean = tf.tensor1d([...IMAGENET_MEAN_RGB], 'float32');
    return new Vgg(w.net, [...opts.layers], pooling, convs, mean);
  }

  /** True when `layer` is a layer of this network no deeper than the deepest it was built for. */
  canProduce(layer: string): boolean {
    return this.convs.some((c) => c.spec.relu === layer);
  }

  /**
   * Features at `layers` (default: the layers given at creation) of a batch of RGB 0–255 images `[N,H,W,3]`.
   * Stops after the deepest requested layer.
   */
  features(rgb: tf.Tensor4D, layers: readonly string[] = this.layers): Record<string, tf.Tensor4D> {
    if (this.disposed) throw new InvalidArgumentError('Vgg.features called after dispose()');
    if (rgb.rank !== 4 || rgb.shape[3] !== 3) {
      throw new InvalidArgumentError(`Expected an RGB batch [N,H,W,3], but got shape [${rgb.shape.join(', ')}]`);
    }
    const wanted = new Set<string>();
    for (const layer of layers) {
      checkLayer(this.net, layer);
      if (!this.convs.some((c) => c.spec.relu === layer)) {
        throw new InvalidArgumentError(
          `Layer '${layer}' is deeper than this Vgg was built for (layers ${this.layers.join(', ')}); create it with that layer`,
        );
      }
      wanted.add(layer);
    }
    return tf.tidy(() => {
      const out: Record<string, tf.Tensor4D> = {};
      let x: tf.Tensor4D = tf.sub(tf.cast(rgb, 'float32'), this.mean);
      let remaining = wanted.size;
      for (const conv of this.convs) {
        if (remaining === 0) break;
        x = tf.relu(tf.add(tf.conv2d(x, conv.kernel, 1, 'same'), conv.bias)) as tf.Tensor4D;
        if (wanted.has(conv.spec.relu)) {
          out[conv.spec.relu] = x;
          remaining--;
        }
        if (conv.spec.lastInBlock && remaining > 0) {
          x = pool2x2(x, this.pooling);
        }
      }
      return out;
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const c of this.convs) {
      c.kernel.dispose();
      c.bias.dispose();
    }
    this.mean.dispose();
  }
}

/** Reverses the input-channel axis (size 3) of a `[3,3,3,out]` kernel: BGR-trained kernel → RGB input. */
function flipInputChannels(kernel: Float32Array, out: number): Float32Array {
  const flipped = new Float32Array(kernel.length);
  for (let p = 0; p < 9; p++) {
    for (let c = 0; c < 3; c++) {
      const src = (p * 3 + c) * out;
      const dst = (p * 3 + (2 - c)) * out;
      flipped.set(kernel.subarray(src, src + out), dst);
    }
  }
  return flipped;
}
