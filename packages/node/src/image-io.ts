/**
 * Image input/output with sharp (libvips): decode JPEG/PNG/WebP into 8-bit sRGB RGB pixels (EXIF orientation
 * applied, alpha flattened onto white, grey/CMYK/16-bit converted), with the pixel limit checked from the header
 * before anything is decoded; encode and write atomically without any metadata (no EXIF/GPS leaves the program);
 * convert between those pixels and NHWC 0–255 float tensors (tfjs-core only). Formats are told by image-sniff.ts.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { HokusaiError, ImageError, InvalidArgumentError, NotFoundError } from '@hokusai/errors';
import { writeFileAtomic } from './atomic-file.ts';
import { checkPixelLimit, requireImageFormat, type ImageFormat, type ImageHeader } from './image-sniff.ts';

/** 8-bit RGB, interleaved, row-major; EXIF-oriented, alpha flattened. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export const IMAGE_FORMATS: readonly ImageFormat[] = ['jpeg', 'png', 'webp'];

/** Default decode limit: 64 megapixels (e.g. 8000×8000). */
export const DEFAULT_MAX_PIXELS = 64_000_000;

export interface ReadImageOptions {
  /** Refuse images with more pixels than this (checked from the header, before decoding). */
  maxPixels?: number;
  /** Downscale (lanczos3) so the long edge is at most this many pixels; never upscales. */
  maxSize?: number;
  /**
   * Resize (lanczos3, up or down) so the long edge is exactly this many pixels: how the trainer sizes its style
   * images (`--style-size`), and `hokusai eval --style-size` with it. Excludes `maxSize`.
   */
  longEdge?: number;
  /** Name used in error messages (default: the path, or "image"). */
  label?: string;
  /** The header of these same bytes as probeImage read it (format, oriented size), so it is not read again. */
  header?: ImageHeader;
}

async function loadBytes(input: string | Uint8Array, label: string): Promise<Uint8Array> {
  if (typeof input !== 'string') return input;
  try {
    return new Uint8Array(await readFile(input));
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new NotFoundError(`${label}: no such file`, { cause });
    if (code === 'EISDIR') throw new InvalidArgumentError(`${label}: expected an image file, got a directory`, { cause });
    throw new HokusaiError('IO', `${label}: cannot read (${(cause as Error).message})`, { cause });
  }
}

function labelOf(input: string | Uint8Array, label?: string): string {
  return label ?? (typeof input === 'string' ? input : 'image');
}

/** Parses the header only (sharp's metadata does not decode pixels); width/height after EXIF orientation. */
async function readHeader(bytes: Uint8Array, label: string): Promise<ImageHeader> {
  const format = requireImageFormat(bytes, label);
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (cause) {
    throw new ImageError('IMAGE_DECODE', `${label}: cannot read the ${format.toUpperCase()} header (${(cause as Error).message})`, { cause });
  }
  const w = meta.width;
  const h = meta.height;
  if (!w || !h) throw new ImageError('IMAGE_DECODE', `${label}: the ${format.toUpperCase()} header has no image size`);
  const swap = (meta.orientation ?? 1) >= 5;
  return { format, width: swap ? h : w, height: swap ? w : h };
}

/** Format and (oriented) size from the header only; nothing is decoded. */
export async function probeImage(input: string | Uint8Array, opts: { label?: string } = {}): Promise<ImageHeader> {
  const label = labelOf(input, opts.label);
  return readHeader(await loadBytes(input, label), label);
}

export async function readImage(input: string | Uint8Array, opts: ReadImageOptions = {}): Promise<RgbImage> {
  const label = labelOf(input, opts.label);
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (opts.maxSize !== undefined && !(Number.isInteger(opts.maxSize) && opts.maxSize > 0)) {
    throw new InvalidArgumentError(`maxSize: expected a positive integer, got ${opts.maxSize}`);
  }
  if (opts.longEdge !== undefined && !(Number.isInteger(opts.longEdge) && opts.longEdge > 0)) {
    throw new InvalidArgumentError(`longEdge: expected a positive integer, got ${opts.longEdge}`);
  }
  if (opts.longEdge !== undefined && opts.maxSize !== undefined) {
    throw new InvalidArgumentError(`maxSize and longEdge: expected one of them, got both (${opts.maxSize}, ${opts.longEdge})`);
  }
  const bytes = await loadBytes(input, label);
  const header = opts.header ?? (await readHeader(bytes, label));
  checkPixelLimit(header, maxPixels, label);
  let pipeline = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated' })
    .rotate() // applies (and drops) the EXIF orientation
    .flatten({ background: { r: 255, g: 255, b: 255 } })
    .toColourspace('srgb'); // grey → RGB, CMYK → sRGB (via its ICC profile or libvips' default), 16-bit → 8-bit
  const target = opts.longEdge ?? (opts.maxSize !== undefined && Math.max(header.width, header.height) > opts.maxSize ? opts.maxSize : undefined);
  if (target !== undefined) pipeline = pipeline.resize({ width: target, height: target, fit: 'inside', kernel: 'lanczos3' });
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    out = await pipeline.removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (cause) {
    throw new ImageError(
      'IMAGE_DECODE',
      `${label}: expected a complete ${header.format.toUpperCase()} image, but decoding failed (${(cause as Error).message})`,
      { cause },
    );
  }
  const { width, height, channels } = out.info;
  if (channels !== 3) {
    throw new ImageError('IMAGE_DECODE', `${label}: expected 3 colour channels after conversion, got ${channels}`);
  }
  return { data: new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength), width, height };
}

function checkRgb(img: RgbImage, what: string): void {
  const { width, height, data } = img;
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
    throw new InvalidArgumentError(`${what}: expected a positive integer width and height, got ${width}×${height}`);
  }
  if (data.length !== width * height * 3) {
    throw new InvalidArgumentError(`${what}: expected ${width}×${height}×3 = ${width * height * 3} bytes of RGB, got ${data.length}`);
  }
}

/**
 * Encodes RGB pixels; the output carries no metadata (sharp drops EXIF/ICC/XMP unless asked to keep them).
 * `resize` scales (lanczos3) to that size on the way into the encoder, so full-size pixels never exist as one buffer.
 */
export async function encodeImage(img: RgbImage, format: ImageFormat, quality = 90, resize?: { width: number; height: number }): Promise<Uint8Array> {
  checkRgb(img, 'encodeImage');
  if (!(Number.isInteger(quality) && quality >= 1 && quality <= 100)) {
    throw new InvalidArgumentError(`quality: expected an integer from 1 to 100, got ${quality}`);
  }
  let s = sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
  if (resize && (resize.width !== img.width || resize.height !== img.height)) {
    s = s.resize(resize.width, resize.height, { fit: 'fill', kernel: 'lanczos3' });
  }
  let encoded: Buffer;
  switch (format) {
    case 'jpeg':
      encoded = await s.jpeg({ quality, chromaSubsampling: quality >= 90 ? '4:4:4' : '4:2:0' }).toBuffer();
      break;
    case 'png':
      encoded = await s.png({ compressionLevel: 6 }).toBuffer();
      break;
    case 'webp':
      encoded = await s.webp({ quality }).toBuffer();
      break;
    default:
      throw new InvalidArgumentError(`format: expected one of ${IMAGE_FORMATS.join(', ')}, got ${String(format)}`);
  }
  return new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength);
}

/** Output format from a file name's extension (.jpg/.jpeg/.png/.webp), or null when it has none of those. */
export function formatFromPath(path: string): ImageFormat | null {
  const ext = extname(path).toLowerCase();
  if (ext === '.jpg' || ext === '.jpeg') return 'jpeg';
  if (ext === '.png') return 'png';
  if (ext === '.webp') return 'webp';
  return null;
}

/** Encodes and writes atomically (temporary file + rename): never leaves a half-written image. */
export async function writeImage(path: string, img: RgbImage, opts: { format?: ImageFormat; quality?: number } = {}): Promise<void> {
  const format = opts.format ?? formatFromPath(path);
  if (!format) {
    throw new InvalidArgumentError(`${path}: expected an output file ending in .jpg, .jpeg, .png or .webp (or an explicit format), got "${extname(path) || 'no extension'}"`);
  }
  await writeFileAtomic(path, await encodeImage(img, format, opts.quality));
}

/** RGB pixels → HWC float32 tensor, values 0–255. */
export function rgbToTensor(img: RgbImage): tf.Tensor3D {
  checkRgb(img, 'rgbToTensor');
  return tf.tensor3d(Float32Array.from(img.data), [img.height, img.width, 3], 'float32');
}

function toRgb(values: ArrayLike<number>, height: number, width: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) {
    const v = values[i] ?? 0;
    // Uint8Array assignment truncates and wraps; round and clamp explicitly (NaN → 0).
    data[i] = v >= 255 ? 255 : v > 0 ? Math.round(v) : 0;
  }
  return { data, width, height };
}

function checkTensor(t: tf.Tensor): [number, number] {
  const [h, w, c] = t.shape;
  if (t.rank !== 3 || c !== 3 || h === undefined || w === undefined) {
    throw new InvalidArgumentError(`tensorToRgb: expected a [height, width, 3] tensor, got shape [${t.shape.join(', ')}]`);
  }
  return [h, w];
}

/** HWC tensor (0–255, any float) → RGB pixels, rounded and clamped. Synchronous read: prefer the async form on GPU backends. */
export function tensorToRgb(t: tf.Tensor3D): RgbImage {
  const [h, w] = checkTensor(t);
  return toRgb(t.dataSync(), h, w);
}

/** As tensorToRgb, reading the tensor asynchronously (no GPU stall warning on webgpu/webgl). */
export async function tensorToRgbAsync(t: tf.Tensor3D): Promise<RgbImage> {
  const [h, w] = checkTensor(t);
  return toRgb(await t.data(), h, w);
}
