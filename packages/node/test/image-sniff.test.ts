// The one image sniffer (image-sniff.ts): format by magic bytes with a description of refused data, the strict header
// size for every variant sharp writes (baseline/progressive JPEG, PNG, lossy VP8 / lossless VP8L / extended VP8X
// WebP), 415 for other formats and 422 for broken headers, the pixel limit; and readImage trusting a header passed in.
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { checkPixelLimit, probeImage, readImage, sniffImage, sniffImageSize } from '../src/index.ts';

const make = (w: number, h: number, alpha = false) =>
  sharp({ create: { width: w, height: h, channels: alpha ? 4 : 3, background: { r: 10, g: 200, b: 30, alpha: 0.5 } } });
const text = (s: string) => new TextEncoder().encode(s);
const looksLike = (b: Uint8Array) => {
  const r = sniffImage(b);
  return r.format === null ? r.looksLike : `ours: ${r.format}`;
};

describe('sniffImage', () => {
  it('tells JPEG, PNG and WebP by their magic bytes', async () => {
    expect(sniffImage(await make(4, 4).jpeg().toBuffer())).toEqual({ format: 'jpeg' });
    expect(sniffImage(await make(4, 4).png().toBuffer())).toEqual({ format: 'png' });
    expect(sniffImage(await make(4, 4).webp().toBuffer())).toEqual({ format: 'webp' });
    expect(sniffImage(text('RIFF\0\0\0\0WAVEfmt '))).toMatchObject({ format: null });
    expect(sniffImage(new Uint8Array([0xff, 0xd8]))).toMatchObject({ format: null });
  });

  it('names what refused data looks like', async () => {
    const cases: [Uint8Array, string][] = [
      [await make(8, 8).gif().toBuffer(), 'GIF'],
      [await make(8, 8).tiff().toBuffer(), 'TIFF'],
      [text('BM\x36\x00\x00\x00'), 'BMP'],
      [text('%PDF-1.7\n'), 'PDF'],
      [text('\0\0\0\x1cftypheic\0\0\0\0'), 'HEIC'],
      [text('\0\0\0\x1cftypavif\0\0\0\0'), 'AVIF'],
      [text('\0\0\0\x1cftypisom\0\0\0\0'), 'MP4'],
      [text('<svg xmlns="http://www.w3.org/2000/svg"/>'), 'SVG'],
      [text('<?xml version="1.0"?>\n<!-- drawn by hand -->\n<svg width="1"/>'), 'SVG'],
      [text('<!DOCTYPE html><html><body>hi</body></html>'), 'HTML page'],
      [text('<?xml version="1.0"?><feed/>'), 'HTML/XML'],
      [text('hello, this is not an image\n'), 'text ("hello'],
      [new Uint8Array([1, 2, 3, 0, 5]), 'unknown binary data (first bytes 01 02 03 00 05)'],
      [new Uint8Array(0), 'an empty file'],
    ];
    for (const [bytes, word] of cases) expect(looksLike(bytes), word).toContain(word);
  });
});

describe('sniffImageSize', () => {
  it('reads the size of JPEG, PNG and every WebP flavour without decoding', async () => {
    const cases: [string, Buffer, string][] = [
      ['jpeg baseline', await make(333, 77).jpeg().toBuffer(), 'jpeg'],
      ['jpeg progressive', await make(321, 123).jpeg({ progressive: true }).toBuffer(), 'jpeg'],
      ['jpeg with EXIF', await make(50, 40).jpeg().withExifMerge({ IFD0: { Artist: 'x'.repeat(3000) } }).toBuffer(), 'jpeg'],
      ['png', await make(1000, 3).png().toBuffer(), 'png'],
      ['webp lossy (VP8)', await make(401, 99).webp().toBuffer(), 'webp'],
      ['webp lossless (VP8L)', await make(257, 129).webp({ lossless: true }).toBuffer(), 'webp'],
      ['webp alpha (VP8X)', await make(99, 401, true).webp().toBuffer(), 'webp'],
    ];
    for (const [name, bytes, format] of cases) {
      const meta = await sharp(bytes).metadata();
      expect(sniffImageSize(bytes), name).toEqual({ format, width: meta.width, height: meta.height });
    }
  });

  it('refuses other formats with 415 and broken headers with 422, naming the input', async () => {
    const gif = await make(8, 8).gif().toBuffer();
    const tiff = await make(8, 8).tiff().toBuffer();
    for (const bytes of [gif, tiff, text('<svg xmlns="http://www.w3.org/2000/svg"/>'), text('BM....'), new Uint8Array(0)]) {
      expect(() => sniffImageSize(bytes, 'upload')).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_MEDIA_TYPE', httpStatus: 415 }));
    }
    const png = await make(8, 8).png().toBuffer();
    expect(() => sniffImageSize(png.subarray(0, 12), 'upload')).toThrow(expect.objectContaining({ code: 'IMAGE_DECODE', httpStatus: 422 }));
    const jpeg = await make(8, 8).jpeg().toBuffer();
    expect(() => sniffImageSize(jpeg.subarray(0, 20))).toThrow(expect.objectContaining({ code: 'IMAGE_DECODE' }));
    expect(() => sniffImageSize(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x01]))).toThrow(/segment length of 1/);
    expect(() => sniffImageSize(png.subarray(0, 12), 'upload')).toThrow(/^upload: expected a well-formed PNG header/);
  });

  it('is stricter than the decoder: stray bytes between JPEG segments are refused', async () => {
    const jpeg = await make(64, 48).jpeg().toBuffer();
    const at = 4 + ((jpeg[4]! << 8) | jpeg[5]!);
    const stray = Buffer.concat([jpeg.subarray(0, at), Buffer.from([1, 2, 3, 4]), jpeg.subarray(at)]);
    expect((await sharp(stray).metadata()).width).toBe(64); // libjpeg reads past them
    expect(() => sniffImageSize(stray)).toThrow(expect.objectContaining({ code: 'IMAGE_DECODE' }));
  });
});

describe('checkPixelLimit', () => {
  it('refuses more pixels than the limit with TOO_MANY_PIXELS', () => {
    expect(() => checkPixelLimit({ format: 'png', width: 50_000, height: 50_000 }, 40_000_000, 'x')).toThrow(
      expect.objectContaining({ code: 'TOO_MANY_PIXELS', httpStatus: 422, details: { width: 50_000, height: 50_000, maxPixels: 40_000_000 } }),
    );
    expect(() => checkPixelLimit({ format: 'png', width: 4000, height: 4000 }, 16_000_000, 'x')).not.toThrow();
    expect(() => checkPixelLimit({ format: 'png', width: 4001, height: 4000 }, 16_000_000, 'x')).toThrow(/^x: expected at most 16000000 pixels, got a PNG of 4001×4000 = 16004000 pixels$/);
  });
});

describe('readImage with a header read before', () => {
  it('decodes as without it, and uses it instead of reading the header again', async () => {
    const png = new Uint8Array(await make(30, 20).png().toBuffer());
    const header = await probeImage(png);
    const plain = await readImage(png, { maxSize: 15 });
    const given = await readImage(png, { maxSize: 15, header });
    expect(given).toEqual(plain);
    expect(given.width).toBe(15);
    // A header claiming more pixels than the limit is believed: refused before sharp looks at the bytes.
    await expect(readImage(png, { header: { ...header, width: 3000 }, maxPixels: 50_000 })).rejects.toMatchObject({ code: 'TOO_MANY_PIXELS' });
  });
});
