/**
 * Default loss layers (Johnson et al. 2016: content relu2_2; style relu1_2, relu2_2, relu3_3, relu4_3, equal weights)
 * and default loss weights that work out of the box with our normalisation (see docs/losses.md for how they were
 * calibrated on real photos and paintings).
 */
import type { LossNetName } from './layers.ts';
import type { LossLayers } from './perceptual-loss.ts';

export const DEFAULT_CONTENT_LAYERS: readonly string[] = ['relu2_2'];
export const DEFAULT_STYLE_LAYERS: readonly string[] = ['relu1_2', 'relu2_2', 'relu3_3', 'relu4_3'];

/** `{layer: 1}` for each layer. */
export function equalLayerWeights(layers: readonly string[]): LossLayers {
  return Object.fromEntries(layers.map((l) => [l, 1]));
}

export interface LossWeights {
  contentWeight: number;
  styleWeight: number;
  tvWeight: number;
}

const DEFAULTS: Record<LossNetName, LossWeights> = {
  vgg16: { contentWeight: 1, styleWeight: 1, tvWeight: 0 },
  vgg19: { contentWeight: 1, styleWeight: 1, tvWeight: 0 },
};

/** Default content/style/TV weights for the default layers of `net`. */
export function defaultLossWeights(net: LossNetName): LossWeights {
  return { ...DEFAULTS[net] };
}
