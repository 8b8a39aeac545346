// The header gate: format by magic bytes and dimensions from the header alone, for every variant sharp writes
// (baseline/progressive JPEG, PNG, lossy VP8 / lossless VP8L / extended VP8X WebP), and refusal of other formats.
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { checkPixels, readImageHeader } from '../src/image-sniff.ts';

const make = (w: number, h: number, alpha = false) =>
  sharp({ create: { width: w, height: h, channels: alpha ? 4 : 3, background: { r: 10, g: 200, b: 30, alpha: 0.5 } } });

describe('readImageHeader', () => {
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
      expect(readImageHeader(bytes), name).toEqual({ format, width: meta.width, height: meta.height });
    }
  });

  it('refuses other formats with 415 and broken headers with 422', async () => {
    const gif = await make(8, 8).gif().toBuffer();
    const tiff = await make(8, 8).tiff().toBuffer();
    for (const bytes of [gif, tiff, Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), Buffer.from('BM....'), Buffer.alloc(0)]) {
      expect(() => readImageHeader(bytes)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_MEDIA_TYPE' }));
    }
    const png = await make(8, 8).png().toBuffer();
    expect(() => readImageHeader(png.subarray(0, 12))).toThrow(expect.objectContaining({ code: 'IMAGE_DECODE' }));
    const jpeg = await make(8, 8).jpeg().toBuffer();
    expect(() => readImageHeader(jpeg.subarray(0, 20))).toThrow(expect.objectContaining({ code: 'IMAGE_DECODE' }));
    expect(() => readImageHeader(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x01]))).toThrow(expect.objectContaining({ code: 'IMAGE_DECODE' }));
  });

  it('checks the pixel count against the limit', () => {
    expect(() => checkPixels({ format: 'png', width: 50_000, height: 50_000 }, 40_000_000)).toThrow(
      expect.objectContaining({ code: 'TOO_MANY_PIXELS', httpStatus: 422 }),
    );
    expect(() => checkPixels({ format: 'png', width: 4000, height: 4000 }, 40_000_000)).not.toThrow();
  });
});
