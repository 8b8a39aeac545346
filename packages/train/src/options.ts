/**
 * The `hokusai train` options: one zod schema (defaults and descriptions show in `--help`; the same keys are
 * accepted from `--config run.json`). Defaults reproduce Johnson et al. 2016, "Perceptual Losses for
 * Real-Time Style Transfer and Super-Resolution": batch 4 of 256² crops, Adam lr 1e-3, 40k iterations,
 * content relu2_2, style relu1_2/relu2_2/relu3_3/relu4_3.
 */
import { z } from 'zod';
import { backendOption, cacheDirOption, latticeWeightOption, lossNetOption, poolingOption, styleBlurOption, weightsOption } from './common-options.ts';
import { defaultLossWeights, STABILITY_NORMS } from '@hokusai/losses';
import { PRESET_NAMES } from './presets.ts';

const LOSS_DEFAULTS = defaultLossWeights('vgg16');

export const DEFAULT_CONTENT_LAYERS = { relu2_2: 1 };
export const DEFAULT_STYLE_LAYERS = { relu1_2: 1, relu2_2: 1, relu3_3: 1, relu4_3: 1 };

export const trainSchema = z.object({
  style: z.array(z.string()).default([]).describe('style image(s); repeat for a blend'),
  styleBlend: z.array(z.number().positive()).default([]).describe('blend weight per --style (none = equal weights)'),
  styleSize: z.number().int().min(16).default(256).describe('style images are resized to this longer side'),
  dataset: z.string().default('datasets/coco2014/train2014').describe('folder tree of JPEG/PNG/WebP training images'),
  imageSize: z.number().int().min(16).default(256).describe('training crop size (pixels)'),
  scaleAugment: z.number().min(1).max(4).default(1).describe('random scale augmentation: shorter side × U(1, x) before cropping (1 = off; up to 4: photos at the scale the network will be applied at, e.g. 3 for 128² crops and 512 px outputs)'),
  flip: z.boolean().default(true).describe('random horizontal flips'),
  jitter: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('loss jitter: output and photo are cropped at the same random offset of 0..N px before the loss, against lattices locked to VGG\'s pooling grid (0 = off)'),
  contentWeight: z.number().min(0).default(LOSS_DEFAULTS.contentWeight).describe('content loss weight (defaults: defaultLossWeights of @hokusai/losses)'),
  styleWeight: z.number().min(0).default(LOSS_DEFAULTS.styleWeight).describe('style loss weight'),
  tvWeight: z.number().min(0).default(LOSS_DEFAULTS.tvWeight).describe('total-variation loss weight'),
  styleBlur: styleBlurOption,
  latticeWeight: latticeWeightOption,
  inputNoise: z
    .number()
    .min(0)
    .max(64)
    .default(0)
    .describe('σ of a fixed Gaussian noise field added to the network\'s 0–255 input, stored in the network so inference adds the same: texture to paint flat areas with instead of a lattice (0 = off)'),
  stabilityWeight: z
    .number()
    .min(0)
    .default(0)
    .describe('stability loss weight (Gupta et al. 2017): mean squared difference of the outputs for a photo and for it plus noise, against video flicker (0 = off; docs/video.md)'),
  stabilityNoise: z.number().min(0).max(64).default(4).describe('σ of the stability loss\'s Gaussian noise, in grey levels (0–255)'),
  stabilityShift: z
    .number()
    .int()
    .min(0)
    .max(16)
    .default(0)
    .describe('stability loss: also shift the noisy photo by a random 0..N px per axis and compare the outputs shifted back, against flicker under motion (0 = noise only)'),
  stabilityMargin: z
    .number()
    .int()
    .min(0)
    .max(32)
    .default(0)
    .describe('stability loss with --stability-shift: leave N px on each side of the outputs out of the comparison, where the shifted window sees other padding than the whole photo (0 = compare all)'),
  stabilityNorm: z
    .enum(STABILITY_NORMS)
    .default('mse')
    .describe('stability loss: compare the two outputs by mean squared difference (Gupta et al.) or mean absolute difference, the form `hokusai flicker` measures (docs/video.md)'),
  stabilitySubpixel: z
    .boolean()
    .default(false)
    .describe('stability loss: draw the shift from 0..N px continuously and warp photo and output bilinearly, as a slow pan moves (with --stability-shift)'),
  contentLayers: z.record(z.string(), z.number().min(0)).default(DEFAULT_CONTENT_LAYERS).describe('content layers with weights'),
  styleLayers: z.record(z.string(), z.number().min(0)).default(DEFAULT_STYLE_LAYERS).describe('style layers with weights'),
  lossNet: lossNetOption,
  pooling: poolingOption,
  weights: weightsOption,
  cacheDir: cacheDirOption,
  batchSize: z.number().int().min(1).default(4).describe('images per optimiser step'),
  microBatch: z.number().int().min(0).default(0).describe('images per forward/backward pass (0 = automatic by backend and size; gradients are accumulated)'),
  iterations: z.number().int().min(1).default(40000).describe('optimiser steps'),
  epochs: z.number().positive().optional().describe('train for this many passes over the dataset instead of --iterations'),
  lr: z.number().positive().default(1e-3).describe('Adam learning rate'),
  lrDecay: z.number().min(0).default(0).describe('learning rate at step t = lr / (1 + lr-decay × t)'),
  seed: z.number().int().min(0).default(42).describe('seed for initialisation, data order, crops and flips'),
  width: z.enum(['full', 'half']).default('full').describe('transformation network width (half: 4× fewer multiply-adds)'),
  backend: backendOption,
  engine: z
    .enum(['auto', 'gpu', 'tfjs'])
    .default('auto')
    .describe("training step: gpu = Hokusai's WebGPU engine (needs --backend webgpu; about 12x faster than tfjs on a GPU), tfjs = the tfjs graph, auto = the engine on a hardware WebGPU adapter when the backend is webgpu and the options allow it, else tfjs"),
  checkpointEvery: z.number().int().min(1).default(1000).describe('write a checkpoint every N steps'),
  keep: z.number().int().min(1).default(3).describe('checkpoints to keep'),
  sampleEvery: z.number().int().min(0).default(500).describe('stylise the sample images every N steps (0 = never)'),
  sampleSize: z.number().int().min(16).default(256).describe('sample images: shorter side in pixels'),
  logEvery: z.number().int().min(1).default(10).describe('metrics.jsonl line every N steps'),
  validation: z.string().default('2').describe('held-out validation images: a count taken from the dataset, or a directory'),
  prefetch: z.number().int().min(1).default(3).describe('batches decoded ahead of the compute'),
  out: z.string().default('out/train').describe('run directory (checkpoints, samples, metrics, final model)'),
  resume: z.string().optional().describe('continue a run: "latest" (newest checkpoint in --out) or a checkpoint directory'),
  initFrom: z
    .string()
    .optional()
    .describe('fine-tune: start from the weights of this checkpoint directory (same --width) with a fresh optimiser and these options'),
  preset: z.enum(PRESET_NAMES).optional().describe('bundled style preset (sets style and tuned options; explicit options win)'),
  name: z.string().optional().describe('model name stored in the checkpoints (default: from the style file name)'),
});

export type TrainOptions = z.infer<typeof trainSchema>;
