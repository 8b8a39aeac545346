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

/**
 * Calibrated with tools/calibrate-loss-weights.ts on the VGG19 weights, 5 photos × 5 paintings at 256² (medians):
 * C0 = content loss of the painting vs the photo = 1.77e5, S0 = summed style loss of the photo vs the painting =
 * 3.89e5 (S0/C0 = 2.4), TV of the photos = 940. styleWeight 2 makes the weighted style term ~5× the weighted content
 * term (2·S0 ≈ 4.9·C0); tvWeight 0.2 makes a photo's weighted TV ~0.1% of C0 (and equals Johnson's 1e-6 on a
 * pixel sum at 256²: 1e-6·3·256² ≈ 0.2). VGG16: no VGG16 weights were available here, so the same values are used
 * (same normalisation, same default layer names); re-run the tool with the official VGG16 file to refine them.
 */
const DEFAULTS: Record<LossNetName, LossWeights> = {
  vgg16: { contentWeight: 1, styleWeight: 2, tvWeight: 0.2 },
  vgg19: { contentWeight: 1, styleWeight: 2, tvWeight: 0.2 },
};

/** Default content/style/TV weights for the default layers of `net`. */
export function defaultLossWeights(net: LossNetName): LossWeights {
  return { ...DEFAULTS[net] };
}
