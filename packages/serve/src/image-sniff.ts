/**
 * Hostile-input gate for uploaded images: identifies the format by magic bytes (never by the declared
 * Content-Type or file name) and reads the pixel dimensions from the header alone, so oversized images are
 * rejected before any decoder allocates memory. Accepts JPEG, PNG and WebP; names and refuses everything else
 * (SVG, TIFF, GIF, BMP, HEIF/AVIF, PDF...).
 */
import { ImageError } from '@hokusai/errors';

export type ImageFormat = 'jpeg' | 'png' | 'webp';

export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
}

const startsWith = (b: Uint8Array, sig: readonly number[], at = 0) => sig.every((v, i) => b[at + i] === v);
const ascii = (b: Uint8Array, from: number, to: number) => String.fromCharCode(...b.subarray(from, to));

/** Identifies well-known formats we refuse, for a helpful 415 message. */
function otherFormat(b: Uint8Array): string {
  if (startsWith(b, [0x47, 0x49, 0x46, 0x38])) return 'GIF';
  if (startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a])) return 'TIFF';
  if (startsWith(b, [0x42, 0x4d])) return 'BMP';
  if (startsWith(b, [0x25, 0x50, 0x44, 0x46])) return 'PDF';
  if (b.length >= 12 && ascii(b, 4, 8) === 'ftyp') return `ISO media (${ascii(b, 8, 12)}: HEIF/AVIF/MP4)`;
  const head = new TextDecoder('utf-8', { fatal: false }).decode(b.subarray(0, 512)).trimStart().toLowerCase();
  if (head.startsWith('<?xml') || head.startsWith('<svg') || head.includes('<svg')) return 'SVG/XML';
  if (head.startsWith('<')) return 'HTML/XML text';
  return b.length === 0 ? 'an empty body' : 'unknown data';
}

/** The format from magic bytes; throws UNSUPPORTED_MEDIA_TYPE (415) for anything but JPEG/PNG/WebP. */
export function sniffFormat(b: Uint8Array): ImageFormat {
  if (startsWith(b, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'webp';
  throw new ImageError('UNSUPPORTED_MEDIA_TYPE', `Expected a JPEG, PNG or WebP image (by its magic bytes), got ${otherFormat(b)}`);
}

const decodeError = (format: string, what: string) =>
  new ImageError('IMAGE_DECODE', `Expected a well-formed ${format.toUpperCase()} header, got ${what}`);

function pngSize(b: Uint8Array): [number, number] {
  if (b.length < 24 || ascii(b, 12, 16) !== 'IHDR') throw decodeError('png', 'no IHDR chunk at offset 8');
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return [v.getUint32(16), v.getUint32(20)];
}

function jpegSize(b: Uint8Array): [number, number] {
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) throw decodeError('jpeg', `a byte 0x${(b[i] ?? 0).toString(16)} where a marker was expected at offset ${i}`);
    const marker = b[i + 1] ?? 0;
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // standalone markers
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) throw decodeError('jpeg', 'image data before any frame header (SOF)');
    const len = ((b[i + 2] ?? 0) << 8) | (b[i + 3] ?? 0);
    if (len < 2) throw decodeError('jpeg', `a segment length of ${len}`);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (i + 9 > b.length) break;
      const h = ((b[i + 5] ?? 0) << 8) | (b[i + 6] ?? 0);
      const w = ((b[i + 7] ?? 0) << 8) | (b[i + 8] ?? 0);
      return [w, h];
    }
    i += 2 + len;
  }
  throw decodeError('jpeg', 'a file that ends before its frame header (SOF)');
}

function webpSize(b: Uint8Array): [number, number] {
  if (b.length < 30) throw decodeError('webp', `${b.length} bytes, too short for a header`);
  const chunk = ascii(b, 12, 16);
  const u24 = (o: number) => (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) | ((b[o + 2] ?? 0) << 16);
  if (chunk === 'VP8X') return [u24(24) + 1, u24(27) + 1];
  if (chunk === 'VP8 ') {
    if (!startsWith(b, [0x9d, 0x01, 0x2a], 23)) throw decodeError('webp', 'a VP8 chunk without its start code');
    return [(u24(26) & 0x3fff), ((b[28] ?? 0) | ((b[29] ?? 0) << 8)) & 0x3fff];
  }
  if (chunk === 'VP8L') {
    if (b[20] !== 0x2f) throw decodeError('webp', 'a VP8L chunk without its signature');
    const bits = (b[21] ?? 0) | ((b[22] ?? 0) << 8) | ((b[23] ?? 0) << 16) | ((b[24] ?? 0) << 24);
    return [(bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1];
  }
  throw decodeError('webp', `an unknown first chunk "${chunk}"`);
}

/** Format and dimensions from the first bytes; throws 415 for other formats and 422 for a broken header. */
export function readImageHeader(b: Uint8Array): ImageHeader {
  const format = sniffFormat(b);
  const [width, height] = format === 'png' ? pngSize(b) : format === 'jpeg' ? jpegSize(b) : webpSize(b);
  if (width <= 0 || height <= 0) throw decodeError(format, `a size of ${width}×${height}`);
  return { format, width, height };
}

/** Throws TOO_MANY_PIXELS (422) when the header's size exceeds `maxPixels`. */
export function checkPixels(h: ImageHeader, maxPixels: number): void {
  const pixels = h.width * h.height;
  if (pixels > maxPixels) {
    throw new ImageError(
      'TOO_MANY_PIXELS',
      `Expected at most ${maxPixels} pixels, got a ${h.format.toUpperCase()} of ${h.width}×${h.height} = ${pixels} pixels`,
      { details: { width: h.width, height: h.height, maxPixels } },
    );
  }
}
