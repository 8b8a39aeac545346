/**
 * What the commands set up before their own work, in one place: the tool version (written into checkpoints and
 * sidecars, printed by `--version`), the loss network's weights with the SHA-256 a checkpoint records, the style
 * images (read, sized as --style-size asks, checked to fit the backend, hashed) and their Gram targets. `train`,
 * `optimize`, `eval` and `import` call these instead of each reading them its own way.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import { readKerasVggH5, type LossNetName, type PerceptualLoss, type VggWeights } from '@hokusai/losses';
import { loadLossWeights, packageVersion, readImage, rgbToTensor, type RgbImage } from '@hokusai/node';
import { checkStyleFits } from '@hokusai/optimize';

/** The tool version (packages/cli/package.json). */
export const TOOL_VERSION: string = packageVersion(new URL('../package.json', import.meta.url));

/** SHA-256 of a file's bytes, hex. */
export async function fileSha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

/** Where the loss network's weights come from: the --loss-net, --weights and --cache-dir options. */
export interface LossNetSource {
  lossNet: LossNetName;
  weights?: string | undefined;
  cacheDir: string;
}

/** The loss network's weights and the SHA-256 of the file they came from (when known). */
export interface LossNetwork {
  weights: VggWeights;
  sha256: string | undefined;
}

/**
 * The loss network's weights. By default through the weights cache (`loadLossWeights`: a --weights .h5 is converted
 * and cached on first use; without --weights, the cached official file). `cache: false` reads a --weights .h5 as
 * it is, without adding it to the cache (how `hokusai train` has always read it); the hash is then the file's.
 */
export async function loadLossNetwork(
  source: LossNetSource,
  opts: { log?: (line: string) => void; cache?: boolean } = {},
): Promise<LossNetwork> {
  if (source.weights && opts.cache === false) {
    const bytes = new Uint8Array(await readFile(source.weights));
    return { weights: await readKerasVggH5(bytes, source.lossNet), sha256: createHash('sha256').update(bytes).digest('hex') };
  }
  const weights = await loadLossWeights({
    lossNet: source.lossNet,
    ...(source.weights ? { weights: source.weights } : {}),
    cacheDir: source.cacheDir,
    ...(opts.log ? { log: opts.log } : {}),
  });
  return { weights, sha256: weights.sha256 };
}

/** One style image as read for a command: its file, pixels and blend weight. */
export interface StyleInput {
  path: string;
  image: RgbImage;
  weight: number;
}

export interface ReadStylesOptions {
  /** Blend weight per file (`--style-blend`); missing ones are 1. */
  blend?: readonly number[] | undefined;
  /** Resize so the long edge is exactly this (`--style-size`, as the trainer sizes its styles). */
  longEdge?: number | undefined;
  /** Downscale only, to at most this long edge. */
  maxSize?: number | undefined;
  maxPixels?: number;
  /** Refuse (OUT_OF_MEMORY) a style whose Gram pass cannot fit the backend, right after decoding it. */
  fits?: { lossNet: LossNetName; styleLayers: string[]; backend: string };
}

/** Reads the `--style` images in order (labelled `--style FILE` in errors), sized and checked as asked. */
export async function readStyles(files: readonly string[], opts: ReadStylesOptions = {}): Promise<StyleInput[]> {
  const styles: StyleInput[] = [];
  for (const [i, path] of files.entries()) {
    const image = await readImage(path, {
      label: `--style ${path}`,
      ...(opts.longEdge === undefined ? {} : { longEdge: opts.longEdge }),
      ...(opts.maxSize === undefined ? {} : { maxSize: opts.maxSize }),
      ...(opts.maxPixels === undefined ? {} : { maxPixels: opts.maxPixels }),
    });
    if (opts.fits) checkStyleFits({ file: path, image, styleSize: opts.longEdge, ...opts.fits });
    styles.push({ path, image, weight: opts.blend?.[i] ?? 1 });
  }
  return styles;
}

/** Sets the loss's style (Gram) targets from the images; the image tensors live only for that. */
export function setStyleTargets(loss: PerceptualLoss, styles: readonly { image: RgbImage; weight: number }[]): void {
  const images = styles.map((s) => ({ image: rgbToTensor(s.image), weight: s.weight }));
  try {
    loss.setStyle(images);
  } finally {
    tf.dispose(images.map((s) => s.image));
  }
}
