// The server's one image intake (image-intake.ts): what it returns (oriented size, downscaled pixels) and what it
// refuses, in order: other formats (415), broken or stray-byte headers (422), too many pixels, long edges under
// --oversize reject. Images are generated here with sharp.
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { intakeImage, type IntakeLimits } from '../src/image-intake.ts';

const make = (w: number, h: number) => sharp({ create: { width: w, height: h, channels: 3, background: { r: 200, g: 60, b: 30 } } });
const limits: IntakeLimits = { maxPixels: 1_000_000, maxSize: 64, oversize: 'downscale' };

describe('intakeImage', () => {
  it('returns the EXIF-oriented size and the pixels downscaled to the inference size', async () => {
    // Stored 120×40, EXIF orientation 6 (rotate 90°): a 40×120 photo.
    const jpeg = new Uint8Array(await make(120, 40).jpeg().withMetadata({ orientation: 6 }).toBuffer());
    const { header, image } = await intakeImage(jpeg, limits);
    expect(header).toEqual({ format: 'jpeg', width: 40, height: 120 });
    expect([image.width, image.height]).toEqual([21, 64]);
    expect(image.data.length).toBe(21 * 64 * 3);
    const small = await intakeImage(new Uint8Array(await make(30, 20).png().toBuffer()), limits);
    expect(small.header).toEqual({ format: 'png', width: 30, height: 20 });
    expect([small.image.width, small.image.height]).toEqual([30, 20]);
  });

  it('refuses what it will not stylise with the API codes', async () => {
    const code = (p: Promise<unknown>) => p.then(() => 'accepted', (e: { code?: string }) => e.code);
    expect(await code(intakeImage(await make(8, 8).gif().toBuffer(), limits))).toBe('UNSUPPORTED_MEDIA_TYPE');
    const png = await make(8, 8).png().toBuffer();
    expect(await code(intakeImage(png.subarray(0, 12), limits))).toBe('IMAGE_DECODE');
    const jpeg = await make(64, 48).jpeg().toBuffer();
    const at = 4 + ((jpeg[4]! << 8) | jpeg[5]!);
    const stray = Buffer.concat([jpeg.subarray(0, at), Buffer.from([1, 2, 3, 4]), jpeg.subarray(at)]);
    expect(await code(intakeImage(stray, limits))).toBe('IMAGE_DECODE');
    expect(await code(intakeImage(jpeg.subarray(0, Math.floor(jpeg.length * 0.6)), limits))).toBe('IMAGE_DECODE');
    expect(await code(intakeImage(await make(1001, 1000).png().toBuffer(), limits))).toBe('TOO_MANY_PIXELS');
    const wide = await make(100, 10).png().toBuffer();
    expect(await code(intakeImage(wide, { ...limits, oversize: 'reject' }))).toBe('TOO_MANY_PIXELS');
    expect(await code(intakeImage(wide, { ...limits, maxSize: 100, oversize: 'reject' }))).toBe('accepted');
  });
});
