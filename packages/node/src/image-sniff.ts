/**
 * What an image's bytes say before anything decodes them: the format by magic bytes (never by file name or declared
 * Content-Type), a description of what refused data looks like (GIF, TIFF, SVG, HEIC, PDF, text…), the pixel size
 * read from the header by a strict pure-JS parser (PNG IHDR, JPEG SOF, WebP VP8/VP8L/VP8X) so that a hostile
 * upload is refused before any decoder allocates memory, and the pixel limit. The one sniffer of the project:
 * image-io.ts and the server's image intake use it.
 */
import { ImageError } from '@hokusai/errors';

export type ImageFormat = 'jpeg' | 'png' | 'webp';

/** Format and pixel size; as read from the header (sniffImageSize) or EXIF-oriented (probeImage). */
export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
}

export type Sniffed = { format: ImageFormat } | { format: null; looksLike: string };

const ascii = (b: Uint8Array, from: number, to: number): string => String.fromCharCode(...b.subarray(from, to));
const startsWith = (b: Uint8Array, sig: readonly number[], at = 0): boolean => sig.every((v, i) => b[at + i] === v);

function acceptedFormat(b: Uint8Array): ImageFormat | null {
  if (b.length >= 3 && startsWith(b, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (b.length >= 8 && ascii(b, 0, 8) === '\x89PNG\r\n\x1a\n') return 'png';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'webp';
  return null;
}

/** Other binary formats, by their magic bytes. */
function binaryLooksLike(b: Uint8Array): string | null {
  if (b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) return 'a GIF image';
  if (b.length >= 4 && (ascii(b, 0, 4) === 'II*\0' || ascii(b, 0, 4) === 'MM\0*')) return 'a TIFF image';
  if (b.length >= 2 && ascii(b, 0, 2) === 'BM') return 'a BMP image';
  if (b.length >= 12 && ascii(b, 4, 8) === 'ftyp') {
    const brand = ascii(b, 8, 12);
    if (/^(avif|avis)/.test(brand)) return 'an AVIF image';
    if (/^(heic|heix|hevc|mif1|msf1)/.test(brand)) return 'a HEIC/HEIF image';
    return `an ISO media file (brand "${brand}", e.g. MP4/MOV video)`;
  }
  if (b.length >= 4 && ascii(b, 0, 4) === '%PDF') return 'a PDF document';
  if (b.length >= 4 && startsWith(b, [0, 0, 1, 0])) return 'an ICO icon';
  if (b.length >= 4 && ascii(b, 0, 4) === 'PK\x03\x04') return 'a ZIP archive';
  return null;
}

/** Markup and other text (an SVG is named wherever its <svg> tag stands in the first KiB, after comments or a prolog). */
function textLooksLike(b: Uint8Array): string | null {
  const head = new TextDecoder('utf-8', { fatal: false }).decode(b.subarray(0, 1024)).replace(/^\uFEFF/, '').trimStart();
  if (/^<(!DOCTYPE html|html)/i.test(head)) return 'an HTML page';
  if (/^<!DOCTYPE svg/i.test(head) || (head.startsWith('<') && /<svg[\s>/]/i.test(head))) return 'an SVG (vector) image';
  if (/^<[?!a-z]/i.test(head)) return 'an HTML/XML document';
  const sample = b.subarray(0, 512);
  let printable = 0;
  for (const c of sample) if (c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127) || c >= 128) printable += 1;
  if (printable !== sample.length || sample.includes(0)) return null;
  const first = head.split(/\r?\n/)[0]?.slice(0, 40) ?? '';
  return `text ("${first}${first.length === 40 ? '…' : ''}")`;
}

/** What the first bytes of a file look like: one of ours, or a description of what it is instead. */
export function sniffImage(bytes: Uint8Array): Sniffed {
  if (bytes.length === 0) return { format: null, looksLike: 'an empty file' };
  const format = acceptedFormat(bytes);
  if (format) return { format };
  const looksLike = binaryLooksLike(bytes) ?? textLooksLike(bytes);
  if (looksLike) return { format: null, looksLike };
  const hex = Array.from(bytes.subarray(0, 8), (x) => x.toString(16).padStart(2, '0')).join(' ');
  return { format: null, looksLike: `unknown binary data (first bytes ${hex})` };
}

/** The format by magic bytes; UNSUPPORTED_MEDIA_TYPE (415) naming what the bytes look like for anything else. */
export function requireImageFormat(bytes: Uint8Array, label: string): ImageFormat {
  const sniffed = sniffImage(bytes);
  if (sniffed.format === null) {
    throw new ImageError('UNSUPPORTED_MEDIA_TYPE', `${label}: expected a JPEG, PNG or WebP image, but the file looks like ${sniffed.looksLike}`);
  }
  return sniffed.format;
}

type Size = [width: number, height: number];
type SizeReader = (b: Uint8Array, broken: (what: string) => ImageError) => Size;

const pngSize: SizeReader = (b, broken) => {
  if (b.length < 24 || ascii(b, 12, 16) !== 'IHDR') throw broken('no IHDR chunk at offset 8');
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return [v.getUint32(16), v.getUint32(20)];
};

const u16be = (b: Uint8Array, at: number): number => ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0);

/** Walks the JPEG segments up to the frame header (SOF), refusing anything but markers on the way. */
const jpegSize: SizeReader = (b, broken) => {
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) throw broken(`a byte 0x${(b[i] ?? 0).toString(16)} where a marker was expected at offset ${i}`);
    const marker = b[i + 1] ?? 0;
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // standalone markers
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) throw broken('image data before any frame header (SOF)');
    const len = u16be(b, i + 2);
    if (len < 2) throw broken(`a segment length of ${len}`);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (i + 9 > b.length) break;
      return [u16be(b, i + 7), u16be(b, i + 5)];
    }
    i += 2 + len;
  }
  throw broken('a file that ends before its frame header (SOF)');
};

const webpSize: SizeReader = (b, broken) => {
  if (b.length < 30) throw broken(`${b.length} bytes, too short for a header`);
  const chunk = ascii(b, 12, 16);
  const u24 = (o: number) => (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) | ((b[o + 2] ?? 0) << 16);
  if (chunk === 'VP8X') return [u24(24) + 1, u24(27) + 1];
  if (chunk === 'VP8 ') {
    if (!startsWith(b, [0x9d, 0x01, 0x2a], 23)) throw broken('a VP8 chunk without its start code');
    return [u24(26) & 0x3fff, ((b[28] ?? 0) | ((b[29] ?? 0) << 8)) & 0x3fff];
  }
  if (chunk === 'VP8L') {
    if (b[20] !== 0x2f) throw broken('a VP8L chunk without its signature');
    const bits = (b[21] ?? 0) | ((b[22] ?? 0) << 8) | ((b[23] ?? 0) << 16) | ((b[24] ?? 0) << 24);
    return [(bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1];
  }
  throw broken(`an unknown first chunk "${chunk}"`);
};

const SIZE_READERS: Record<ImageFormat, SizeReader> = { png: pngSize, jpeg: jpegSize, webp: webpSize };

/**
 * Format and stored (not EXIF-oriented) size from the header bytes alone, parsed strictly in JS: 415 for other
 * formats, IMAGE_DECODE (422) for a header that is not well-formed. Nothing is decoded; no library parses the bytes.
 */
export function sniffImageSize(bytes: Uint8Array, label = 'image'): ImageHeader {
  const format = requireImageFormat(bytes, label);
  const broken = (what: string) => new ImageError('IMAGE_DECODE', `${label}: expected a well-formed ${format.toUpperCase()} header, got ${what}`);
  const [width, height] = SIZE_READERS[format](bytes, broken);
  if (width <= 0 || height <= 0) throw broken(`a size of ${width}×${height}`);
  return { format, width, height };
}

/** TOO_MANY_PIXELS (422) when the header's size exceeds `maxPixels`. */
export function checkPixelLimit(header: ImageHeader, maxPixels: number, label: string): void {
  const { format, width, height } = header;
  const pixels = width * height;
  if (pixels <= maxPixels) return;
  throw new ImageError(
    'TOO_MANY_PIXELS',
    `${label}: expected at most ${maxPixels} pixels, got a ${format.toUpperCase()} of ${width}×${height} = ${pixels} pixels`,
    { details: { width, height, maxPixels } },
  );
}
