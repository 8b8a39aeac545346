/**
 * The measures and thresholds of issue 22's quality criteria for style networks (tools/eval-quality.ts runs them):
 * 1. style loss (Johnson et al. 2016: VGG19 relu1_2, relu2_2, relu3_3, relu4_3, equal weights, Grams of
 *    @hokusai/losses) of the output over that of the photo, against the painting at the size the network was
 *    trained for (the protocol of tools/eval-bundled.sh);
 * 2. content loss at relu3_3 on a face/people box, both images cropped first, over the reference network's;
 * 3. luminance (BT.601 luma, @hokusai/model's `luminance`) standard deviation and the colourfulness of Hasler &
 *    Süsstrunk 2003 ("Measuring colourfulness in natural images": σ_rgyb + 0.3·μ_rgyb with rg = R − G,
 *    yb = (R + G)/2 − B), as ratios to the photo's, unless the painting's own figure is lower;
 * 4. border steps: the mean luma of the outermost 4 rows (columns) minus that of the band 8–16 px inside, output
 *    minus photo (the grid score of the same criterion is tools/grid-score.py's).
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@hokusai/errors';
import { luminance } from '@hokusai/model';
import { contentLoss, DEFAULT_STYLE_LAYERS, gram, styleLossFromGrams, Vgg, type VggWeights } from '@hokusai/losses';

/** The thresholds of the criteria (issue 22). */
export const CRITERIA = {
  /** 1: style-loss ratio output/photo at most this. */
  maxStyleRatio: 0.15,
  /** 2: face content loss at most this multiple of the reference network's. */
  maxFaceLossVsReference: 1.2,
  /** 3: luma std at least this fraction of the photo's … */
  minLumaStdRatio: 0.6,
  /** … and colourfulness at least this fraction … */
  minColourfulnessRatio: 0.5,
  /** … unless the painting's own figure is lower: then at least (1 − this) × the painting's. */
  paintingTolerance: 0.2,
  /** 4: grid score at most this. */
  maxGridScore: 30,
  /** 4: |border step of the output − that of the photo| at most this many grey levels at each border. */
  maxBorderStepDiff: 10,
} as const;

export const FACE_LAYER = 'relu3_3';

/** [x, y, width, height] in pixels. */
export type Box = readonly [number, number, number, number];

export interface ColourStats {
  lumaStd: number;
  colourfulness: number;
}

export type Border = 'top' | 'bottom' | 'left' | 'right';
export const BORDERS: readonly Border[] = ['top', 'bottom', 'left', 'right'];

const scalar = async (t: tf.Tensor): Promise<number> => {
  const v = (await t.data())[0]!;
  t.dispose();
  return v;
};

/** Luma std and colourfulness of an HWC 0–255 RGB image. */
export async function colourStats(rgb: tf.Tensor3D): Promise<ColourStats> {
  const [lumaStd, colourfulness] = tf.tidy(() => {
    const std = (x: tf.Tensor) => tf.sqrt(tf.moments(x).variance);
    const [r, g, b] = tf.split(rgb, 3, 2) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
    const rg = tf.sub(r, g);
    const yb = tf.sub(tf.mul(tf.add(r, g), 0.5), b);
    const sigma = tf.sqrt(tf.add(tf.square(std(rg)), tf.square(std(yb))));
    const mu = tf.sqrt(tf.add(tf.square(tf.mean(rg)), tf.square(tf.mean(yb))));
    return [std(luminance(rgb)), tf.add(sigma, tf.mul(mu, 0.3))];
  });
  return { lumaStd: await scalar(lumaStd!), colourfulness: await scalar(colourfulness!) };
}

/** Per border: mean luma of the outermost 4 rows (columns) minus that of rows (columns) 8–15 inside. */
export async function borderSteps(rgb: tf.Tensor3D): Promise<Record<Border, number>> {
  const [h, w] = rgb.shape;
  if (h < 32 || w < 32) throw new InvalidArgumentError(`borderSteps: expected an image of at least 32×32 pixels, got ${w}×${h}`);
  const steps = tf.tidy(() => {
    const y = tf.squeeze(luminance(rgb), [2]) as tf.Tensor2D;
    const rows = (from: number, to: number) => tf.mean(tf.slice(y, [from, 0], [to - from, w]));
    const cols = (from: number, to: number) => tf.mean(tf.slice(y, [0, from], [h, to - from]));
    return tf.stack([
      tf.sub(rows(0, 4), rows(8, 16)),
      tf.sub(rows(h - 4, h), rows(h - 16, h - 8)),
      tf.sub(cols(0, 4), cols(8, 16)),
      tf.sub(cols(w - 4, w), cols(w - 16, w - 8)),
    ]);
  });
  const v = await steps.data();
  steps.dispose();
  return { top: v[0]!, bottom: v[1]!, left: v[2]!, right: v[3]! };
}

/** VGG19 up to relu4_3: Gram targets, style-loss sums and face content losses. */
export class QualityVgg {
  private readonly vgg: Vgg;

  constructor(weights: VggWeights) {
    this.vgg = Vgg.create(weights, { layers: [...DEFAULT_STYLE_LAYERS] });
  }

  /** Grams of an HWC 0–255 image at the style layers (the caller disposes them). */
  grams(rgb: tf.Tensor3D): Record<string, tf.Tensor3D> {
    return tf.tidy(() => {
      const f = this.vgg.features(tf.expandDims(rgb, 0) as tf.Tensor4D);
      return Object.fromEntries(Object.entries(f).map(([k, v]) => [k, gram(v)]));
    });
  }

  /** Unweighted style loss summed over the layers: Grams `of` against Grams `target`. */
  async styleLoss(of: Record<string, tf.Tensor3D>, target: Record<string, tf.Tensor3D>): Promise<number> {
    const sum = tf.tidy(() => tf.addN(DEFAULT_STYLE_LAYERS.map((l) => styleLossFromGrams(of[l]!, target[l]!))));
    return scalar(sum);
  }

  /** Content loss at relu3_3 between the `box` crops of two same-sized images. */
  async cropContentLoss(a: tf.Tensor3D, b: tf.Tensor3D, box: Box): Promise<number> {
    const [x, y, bw, bh] = box;
    if (x < 0 || y < 0 || x + bw > a.shape[1] || y + bh > a.shape[0]) {
      throw new InvalidArgumentError(`face box [${box.join(', ')}]: expected it inside the ${a.shape[1]}×${a.shape[0]} image`);
    }
    const loss = tf.tidy(() => {
      const feat = (t: tf.Tensor3D) => this.vgg.features(tf.expandDims(tf.slice(t, [y, x, 0], [bh, bw, 3]), 0) as tf.Tensor4D, [FACE_LAYER])[FACE_LAYER]!;
      return contentLoss(feat(a), feat(b));
    });
    return scalar(loss);
  }

  dispose(): void {
    this.vgg.dispose();
  }
}

/** Criterion 3 for one figure: the output's over the photo's, and the floor it has to reach. */
export function colourVerdict(output: number, photo: number, painting: number, minRatio: number): { ratio: number; pass: boolean } {
  const floor = painting < minRatio * photo ? (1 - CRITERIA.paintingTolerance) * painting : minRatio * photo;
  return { ratio: output / photo, pass: output >= floor };
}
