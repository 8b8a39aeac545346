/**
 * Training images: any folder tree of JPEG/PNG/WebP, decoded and resized with sharp (libvips, on its own
 * threads, so decoding overlaps the tfjs compute), then cropped and optionally flipped, following the data
 * pipeline of Johnson et al. 2016 ("Perceptual Losses for Real-Time Style Transfer and Super-Resolution":
 * 256×256 crops of MS-COCO) plus a random-scale augmentation.
 *
 * Every draw (which image, crop offset, flip, scale) is a pure function of (seed, step, slot) through the
 * counter-based PRNG in rng.ts, so a resumed run sees exactly the batches an uninterrupted run would.
 * Unreadable files (corrupt, truncated, too large, unsupported) are skipped, counted and logged; grey, CMYK,
 * 16-bit and alpha images are converted to 8-bit sRGB. More than 1% bad files aborts the run.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, relative, extname } from 'node:path';
import sharp from 'sharp';
import { HokusaiError } from '@hokusai/errors';
import { permutation, randInt, uniform, STREAM } from './rng.ts';

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);

/** Every image file under `dir` (recursive), sorted, so the list and therefore the data order are stable. */
export async function scanImages(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string): Promise<void> {
    const entries = await readdir(d, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      // Symbolic links are followed (datasets are often links into a shared store).
      const kind = e.isSymbolicLink() ? await stat(p).catch(() => null) : e;
      if (!kind) continue;
      if (kind.isDirectory()) await walk(p);
      else if (kind.isFile() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) out.push(p);
    }
  }
  const s = await stat(dir).catch(() => null);
  if (!s?.isDirectory()) {
    throw new HokusaiError('DATASET_INVALID', `Dataset: expected a directory of JPEG/PNG/WebP images, got ${dir} (not a directory)`);
  }
  await walk(dir);
  out.sort((a, b) => (relative(dir, a) < relative(dir, b) ? -1 : relative(dir, a) > relative(dir, b) ? 1 : 0));
  return out;
}

/** Split a file list into training and held-out validation images (a seeded choice, stable across resumes). */
export function holdOut(files: string[], count: number, seed: number): { train: string[]; validation: string[] } {
  if (count <= 0) return { train: files, validation: [] };
  const p = permutation(files.length, seed, STREAM.holdout, 0);
  const chosen = new Set(Array.from(p.subarray(0, count)));
  return {
    train: files.filter((_, i) => !chosen.has(i)),
    validation: files.filter((_, i) => chosen.has(i)).slice(0, count),
  };
}

export interface DataOptions {
  /** Crop side in pixels. */
  imageSize: number;
  batchSize: number;
  seed: number;
  /** Random horizontal flips. */
  flip: boolean;
  /** Random scale: the shorter side is resized to imageSize × U(1, maxScale) before cropping (1 = off). */
  maxScale: number;
  /** Decoding refuses images above this many pixels (counted as bad). */
  maxPixels: number;
  /** Keep decoded base images in memory up to this many bytes (0 = no cache). */
  cacheBytes: number;
}

export interface Batch {
  step: number;
  /** NHWC uint8 RGB, `n` images of imageSize². */
  data: Uint8Array;
  n: number;
  files: string[];
}

interface BaseImage {
  data: Buffer;
  width: number;
  height: number;
}

/** Decode any supported file to 8-bit sRGB with its shorter side resized to `shorter` (EXIF-rotated, alpha flattened). */
export async function decodeResized(file: string | Buffer, shorter: number, maxPixels: number): Promise<BaseImage> {
  const { data, info } = await sharp(file, { failOn: 'error', limitInputPixels: maxPixels, sequentialRead: true })
    .rotate()
    .flatten({ background: { r: 255, g: 255, b: 255 } })
    .resize({ width: shorter, height: shorter, fit: 'outside', kernel: 'lanczos3' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected 3 channels after conversion, got ${info.channels}`);
  return { data, width: info.width, height: info.height };
}

export class TrainingData {
  readonly files: string[];
  readonly options: DataOptions;
  /** Files that failed to decode, with the reason. */
  readonly bad = new Map<string, string>();
  private readonly log: (line: string) => void;
  private perm: { epoch: number; p: Uint32Array } | null = null;
  private readonly cache = new Map<number, BaseImage>();
  private cacheUsed = 0;

  constructor(files: string[], options: DataOptions, log: (line: string) => void = () => {}, knownBad: string[] = []) {
    if (files.length === 0) throw new HokusaiError('DATASET_INVALID', 'Dataset: expected at least one image, found none');
    this.files = files;
    this.options = options;
    this.log = log;
    for (const f of knownBad) this.bad.set(f, 'known bad (from the resumed run)');
  }

  /** Images in one epoch. */
  get size(): number {
    return this.files.length;
  }

  /** Index of the image that slot `j` of step `step` uses before any bad-file substitution. */
  imageIndex(step: number, j: number): number {
    const n = this.files.length;
    const g = step * this.options.batchSize + j;
    const epoch = Math.floor(g / n);
    if (!this.perm || this.perm.epoch !== epoch) {
      this.perm = { epoch, p: permutation(n, this.options.seed, STREAM.permutation, epoch) };
    }
    return this.perm.p[g % n]!;
  }

  /** Fail when more than 1% of the dataset (and at least one file) is bad. */
  private checkBadFraction(): void {
    const limit = Math.floor(this.files.length * 0.01);
    if (this.bad.size > limit) {
      const examples = [...this.bad.entries()].slice(0, 5).map(([f, why]) => `${f}: ${why}`);
      throw new HokusaiError(
        'DATASET_INVALID',
        `Dataset: more than 1% of the images are unreadable (${this.bad.size} of ${this.files.length}, at most ${limit} allowed). ` +
          `First ones:\n  ${examples.join('\n  ')}\nRemove or repair them and rerun.`,
        { details: { bad: this.bad.size, total: this.files.length } },
      );
    }
  }

  private async base(index: number): Promise<BaseImage> {
    const cached = this.cache.get(index);
    if (cached) return cached;
    const { imageSize, maxScale, maxPixels } = this.options;
    const img = await decodeResized(this.files[index]!, Math.ceil(imageSize * maxScale), maxPixels);
    if (this.cacheUsed + img.data.byteLength <= this.options.cacheBytes) {
      this.cache.set(index, img);
      this.cacheUsed += img.data.byteLength;
    }
    return img;
  }

  /** The crop of slot `j` at `step` as imageSize² uint8 RGB, skipping (and counting) bad files. */
  async sample(step: number, j: number): Promise<{ data: Uint8Array; file: string }> {
    const { seed, imageSize, flip, maxScale } = this.options;
    let index = this.imageIndex(step, j);
    for (let attempt = 0; ; attempt++) {
      const file = this.files[index]!;
      if (!this.bad.has(file)) {
        try {
          const base = await this.base(index);
          const scale = maxScale > 1 ? 1 + (maxScale - 1) * uniform(seed, STREAM.scale, step, j) : 1;
          const shorter = Math.max(imageSize, Math.round(imageSize * scale));
          let img = base;
          if (Math.min(base.width, base.height) !== shorter) {
            const { data, info } = await sharp(base.data, { raw: { width: base.width, height: base.height, channels: 3 } })
              .resize({ width: shorter, height: shorter, fit: 'outside', kernel: 'lanczos3' })
              .raw()
              .toBuffer({ resolveWithObject: true });
            img = { data, width: info.width, height: info.height };
          }
          const x0 = randInt(img.width - imageSize + 1, seed, STREAM.crop, step, j, 0);
          const y0 = randInt(img.height - imageSize + 1, seed, STREAM.crop, step, j, 1);
          const mirror = flip && uniform(seed, STREAM.flip, step, j) < 0.5;
          return { data: crop(img, x0, y0, imageSize, mirror), file };
        } catch (error) {
          const why = error instanceof Error ? error.message : String(error);
          this.bad.set(file, why);
          this.log(`skipping unreadable image ${file}: ${why} (${this.bad.size} bad so far)`);
          this.checkBadFraction();
        }
      }
      if (this.bad.size >= this.files.length) {
        throw new HokusaiError('DATASET_INVALID', `Dataset: none of the ${this.files.length} images could be read`);
      }
      index = randInt(this.files.length, seed, STREAM.substitute, step, j, attempt);
    }
  }

  /** All slots of one step, decoded concurrently. */
  async batch(step: number): Promise<Batch> {
    const { batchSize, imageSize } = this.options;
    const samples = await Promise.all(Array.from({ length: batchSize }, (_, j) => this.sample(step, j)));
    const px = imageSize * imageSize * 3;
    const data = new Uint8Array(batchSize * px);
    samples.forEach((s, j) => data.set(s.data, j * px));
    return { step, data, n: batchSize, files: samples.map((s) => s.file) };
  }

  /** A centred crop (no augmentation), for validation and samples. */
  async centerCrop(file: string, size: number): Promise<Uint8Array> {
    const img = await decodeResized(file, size, this.options.maxPixels);
    return crop(img, Math.floor((img.width - size) / 2), Math.floor((img.height - size) / 2), size, false);
  }
}

function crop(img: BaseImage, x0: number, y0: number, size: number, mirror: boolean): Uint8Array {
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const src = ((y0 + y) * img.width + x0) * 3;
    const dst = y * size * 3;
    if (!mirror) {
      out.set(img.data.subarray(src, src + size * 3), dst);
    } else {
      for (let x = 0; x < size; x++) {
        const s = src + (size - 1 - x) * 3;
        const d = dst + x * 3;
        out[d] = img.data[s]!;
        out[d + 1] = img.data[s + 1]!;
        out[d + 2] = img.data[s + 2]!;
      }
    }
  }
  return out;
}

