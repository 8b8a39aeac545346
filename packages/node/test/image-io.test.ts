// Tests for image I/O (image-io.ts, atomic-file.ts) on images generated here with sharp.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { HokusaiError } from '@hokusai/errors';
import {
  readImage,
  probeImage,
  writeImage,
  encodeImage,
  rgbToTensor,
  tensorToRgb,
  tensorToRgbAsync,
  writeFileAtomic,
  type RgbImage,
} from '../src/index.ts';

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hokusai-image-io-'));
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A smooth colour pattern (JPEG-friendly), w×h RGB. */
function pattern(w: number, h: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      data[i] = Math.round((255 * x) / (w - 1));
      data[i + 1] = Math.round((255 * y) / (h - 1));
      data[i + 2] = 128;
    }
  }
  return { data, width: w, height: h };
}

function raw(img: RgbImage): sharp.Sharp {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
}

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).toBe(b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs((a[i] ?? 0) - (b[i] ?? 0));
  return s / a.length;
}

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(HokusaiError);
  return { code: (e as HokusaiError).code, message: (e as HokusaiError).message };
}

describe('readImage', () => {
  it('reads PNG exactly and JPEG/WebP closely', async () => {
    const img = pattern(48, 32);
    const png = await raw(img).png().toBuffer();
    const fromPng = await readImage(new Uint8Array(png));
    expect([fromPng.width, fromPng.height]).toEqual([48, 32]);
    expect(Array.from(fromPng.data)).toEqual(Array.from(img.data));
    const jpg = join(dir, 'p.jpg');
    writeFileSync(jpg, await raw(img).jpeg({ quality: 95 }).toBuffer());
    expect(meanAbsDiff((await readImage(jpg)).data, img.data)).toBeLessThan(3);
    const webp = await raw(img).webp({ quality: 95 }).toBuffer();
    expect(meanAbsDiff((await readImage(new Uint8Array(webp))).data, img.data)).toBeLessThan(4);
  });

  it('converts CMYK JPEG to sRGB', async () => {
    const img = pattern(40, 40);
    const cmyk = await raw(img).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const out = await readImage(new Uint8Array(cmyk));
    expect(out.data.length).toBe(40 * 40 * 3);
    expect(meanAbsDiff(out.data, img.data)).toBeLessThan(12);
  });

  it('reduces 16-bit PNG to 8 bits', async () => {
    const img = pattern(20, 10);
    const png16 = await raw(img).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(png16).metadata()).depth).toBe('ushort');
    const out = await readImage(new Uint8Array(png16));
    expect(meanAbsDiff(out.data, img.data)).toBeLessThanOrEqual(0.5);
  });

  it('expands grey to RGB', async () => {
    const g = new Uint8Array(16 * 16).map((_, i) => i);
    const grey = await sharp(g, { raw: { width: 16, height: 16, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    expect((await sharp(grey).metadata()).channels).toBe(1);
    const out = await readImage(new Uint8Array(grey));
    expect(out.data.length).toBe(16 * 16 * 3);
    for (let i = 0; i < out.data.length; i += 3) {
      expect(out.data[i]).toBe(g[i / 3]);
      expect(out.data[i + 1]).toBe(out.data[i]);
      expect(out.data[i + 2]).toBe(out.data[i]);
    }
  });

  it('flattens alpha onto white', async () => {
    // pixel 0 fully transparent black, pixel 1 opaque red, pixel 2 half-transparent black
    const rgba = Buffer.from([0, 0, 0, 0, 255, 0, 0, 255, 0, 0, 0, 128]);
    const png = await sharp(rgba, { raw: { width: 3, height: 1, channels: 4 } }).png().toBuffer();
    const out = await readImage(new Uint8Array(png));
    expect(Array.from(out.data.subarray(0, 6))).toEqual([255, 255, 255, 255, 0, 0]);
    for (const v of out.data.subarray(6, 9)) expect(Math.abs(v - 127)).toBeLessThanOrEqual(2);
  });

  it('applies the EXIF orientation', async () => {
    // 40×20 image, red left half, blue right half; orientation 6 = display rotated 90° clockwise.
    const w = 40;
    const h = 20;
    const data = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(x < w / 2 ? [255, 0, 0] : [0, 0, 255], (y * w + x) * 3);
    const jpg = await raw({ data, width: w, height: h }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
    expect((await sharp(jpg).metadata()).orientation).toBe(6);
    expect(await probeImage(new Uint8Array(jpg))).toEqual({ format: 'jpeg', width: 20, height: 40 });
    const out = await readImage(new Uint8Array(jpg));
    expect([out.width, out.height]).toEqual([20, 40]);
    // after a clockwise turn the left (red) half is on top
    const top = out.data.subarray(0, 3);
    const bottom = out.data.subarray((39 * 20 + 10) * 3, (39 * 20 + 10) * 3 + 3);
    expect(top[0]).toBeGreaterThan(200);
    expect(top[2]).toBeLessThan(60);
    expect(bottom[2]).toBeGreaterThan(200);
    expect(bottom[0]).toBeLessThan(60);
  });

  it('downscales to maxSize on the long edge and never upscales', async () => {
    const png = new Uint8Array(await raw(pattern(300, 150)).png().toBuffer());
    const out = await readImage(png, { maxSize: 100 });
    expect([out.width, out.height]).toEqual([100, 50]);
    // lanczos keeps the gradient: the left column stays dark red, the right column bright red
    expect(out.data[0]).toBeLessThan(10);
    expect(out.data[(99) * 3]).toBeGreaterThan(245);
    const same = await readImage(png, { maxSize: 1000 });
    expect([same.width, same.height]).toEqual([300, 150]);
  });

  it('resizes to longEdge exactly, up or down, and refuses it together with maxSize', async () => {
    const png = new Uint8Array(await raw(pattern(300, 150)).png().toBuffer());
    const down = await readImage(png, { longEdge: 100 });
    expect([down.width, down.height]).toEqual([100, 50]);
    const maxed = await readImage(png, { maxSize: 100 });
    expect(Array.from(down.data)).toEqual(Array.from(maxed.data));
    const up = await readImage(png, { longEdge: 600 });
    expect([up.width, up.height]).toEqual([600, 300]);
    expect(up.data[0]).toBeLessThan(10);
    expect(up.data[599 * 3]).toBeGreaterThan(245);
    expect((await codeOf(readImage(png, { longEdge: 100, maxSize: 100 }))).message).toBe(
      'maxSize and longEdge: expected one of them, got both (100, 100)',
    );
    expect((await codeOf(readImage(png, { longEdge: 0 }))).message).toBe('longEdge: expected a positive integer, got 0');
  });

  it('rejects truncated and corrupt files as IMAGE_DECODE', async () => {
    const jpg = await raw(pattern(64, 64)).jpeg({ quality: 90 }).toBuffer();
    const cut = join(dir, 'cut.jpg');
    writeFileSync(cut, jpg.subarray(0, Math.floor(jpg.length * 0.6)));
    const e = await codeOf(readImage(cut));
    expect(e.code).toBe('IMAGE_DECODE');
    expect(e.message).toContain(cut);
    const png = await raw(pattern(64, 64)).png().toBuffer();
    expect((await codeOf(readImage(new Uint8Array(png.subarray(0, png.length - 40))))).code).toBe('IMAGE_DECODE');
    const garbage = new Uint8Array(200).fill(7);
    garbage.set([0xff, 0xd8, 0xff]);
    expect((await codeOf(readImage(garbage, { label: 'upload' }))).message).toContain('upload');
  });

  it('names the file and what it looks like for unsupported types', async () => {
    const svg = join(dir, 'logo.png'); // misleading extension: sniffing goes by content
    writeFileSync(svg, '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>');
    const e = await codeOf(readImage(svg));
    expect(e.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(e.message).toContain('logo.png');
    expect(e.message).toContain('SVG');
    const small = raw(pattern(8, 8));
    const cases: [Uint8Array, string][] = [
      [new Uint8Array(await small.clone().tiff().toBuffer()), 'TIFF'],
      [new Uint8Array(await small.clone().gif().toBuffer()), 'GIF'],
      [new Uint8Array(Buffer.from('BM\x36\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00', 'latin1')), 'BMP'],
      [new TextEncoder().encode('hello, this is not an image\n'), 'text'],
      [new Uint8Array(0), 'empty'],
    ];
    for (const [bytes, word] of cases) {
      const c = await codeOf(readImage(bytes, { label: `x-${word}` }));
      expect(c.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(c.message).toContain(word);
      expect(c.message).toContain(`x-${word}`);
    }
  });

  it('checks the pixel limit from the header before decoding', async () => {
    // A real 8×8 PNG whose IHDR is patched to claim 100000×100000 (10 gigapixels); the pixel data is never read.
    const png = Buffer.from(await raw(pattern(8, 8)).png().toBuffer());
    png.writeUInt32BE(100_000, 16);
    png.writeUInt32BE(100_000, 20);
    png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
    expect(await probeImage(new Uint8Array(png))).toEqual({ format: 'png', width: 100_000, height: 100_000 });
    const t0 = Date.now();
    const e = await codeOf(readImage(new Uint8Array(png), { label: 'bomb.png' }));
    expect(e.code).toBe('TOO_MANY_PIXELS');
    expect(e.message).toContain('100000×100000');
    expect(Date.now() - t0).toBeLessThan(2000);
    const ok = new Uint8Array(await raw(pattern(20, 20)).png().toBuffer());
    expect((await codeOf(readImage(ok, { maxPixels: 399 }))).code).toBe('TOO_MANY_PIXELS');
    expect((await readImage(ok, { maxPixels: 400 })).width).toBe(20);
  });

  it('reports a missing file as NOT_FOUND', async () => {
    const e = await codeOf(readImage(join(dir, 'nope.jpg')));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toContain('nope.jpg');
  });
});

describe('writeImage / encodeImage', () => {
  it('writes each format by extension, atomically, leaving no temp files', async () => {
    const img = pattern(32, 24);
    const out = join(dir, 'w');
    for (const [name, fmt] of [['a.png', 'png'], ['b.jpg', 'jpeg'], ['c.jpeg', 'jpeg'], ['d.webp', 'webp']] as const) {
      await writeImage(join(out, name), img, { quality: 92 });
      expect(await probeImage(join(out, name))).toEqual({ format: fmt, width: 32, height: 24 });
    }
    await writeImage(join(out, 'e.bin'), img, { format: 'png' });
    expect((await probeImage(join(out, 'e.bin'))).format).toBe('png');
    expect(readdirSync(out).sort()).toEqual(['a.png', 'b.jpg', 'c.jpeg', 'd.webp', 'e.bin']);
    expect(Array.from((await readImage(join(out, 'a.png'))).data)).toEqual(Array.from(img.data));
  });

  it('never carries EXIF/GPS into the output', async () => {
    const src = await raw(pattern(16, 16))
      .jpeg()
      .withMetadata({ orientation: 6 })
      .withExif({ IFD0: { Make: 'SecretCam' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '35/1 21/1 0/1' } })
      .toBuffer();
    expect((await sharp(src).metadata()).exif).toBeDefined();
    const img = await readImage(new Uint8Array(src));
    for (const fmt of ['jpeg', 'png', 'webp'] as const) {
      const bytes = await encodeImage(img, fmt);
      const meta = await sharp(bytes).metadata();
      expect(meta.exif).toBeUndefined();
      expect(meta.orientation).toBeUndefined();
      expect(Buffer.from(bytes).includes('SecretCam')).toBe(false);
    }
  });

  it('refuses unknown extensions and bad pixel buffers without writing anything', async () => {
    const sub = join(dir, 'bad');
    mkdirSync(sub);
    const img = pattern(4, 4);
    expect((await codeOf(writeImage(join(sub, 'x.gif'), img))).code).toBe('INVALID_ARGUMENT');
    expect((await codeOf(writeImage(join(sub, 'y.png'), { ...img, width: 5 }))).code).toBe('INVALID_ARGUMENT');
    expect((await codeOf(encodeImage(img, 'jpeg', 0))).code).toBe('INVALID_ARGUMENT');
    expect(readdirSync(sub)).toEqual([]);
  });

  it('keeps the old file intact and cleans up when a write fails', async () => {
    const sub = join(dir, 'atomic');
    const target = join(sub, 'out.txt');
    await writeFileAtomic(target, 'old');
    // a directory in the way of the rename makes the write fail after the temp file exists
    const blocked = join(sub, 'blocked');
    mkdirSync(join(blocked, 'inner'), { recursive: true });
    const e = await codeOf(writeFileAtomic(blocked, 'new'));
    expect(e.code).toBe('IO');
    expect(e.message).toContain('blocked');
    expect(readdirSync(sub).sort()).toEqual(['blocked', 'out.txt']);
    await writeFileAtomic(target, new Uint8Array([110, 101, 119]));
    expect(existsSync(target)).toBe(true);
    expect(readdirSync(sub).sort()).toEqual(['blocked', 'out.txt']);
  });
});

describe('tensor conversion', () => {
  it('round-trips and clamps, without leaking tensors', async () => {
    const before = tf.memory().numTensors;
    const img = pattern(6, 5);
    const t = rgbToTensor(img);
    expect(t.shape).toEqual([5, 6, 3]);
    expect(t.dtype).toBe('float32');
    expect(Array.from(tensorToRgb(t).data)).toEqual(Array.from(img.data));
    expect(Array.from((await tensorToRgbAsync(t)).data)).toEqual(Array.from(img.data));
    t.dispose();
    const wild = tf.tensor3d([-20, 0.4, 0.6, 254.6, 300, NaN], [1, 2, 3]);
    expect(Array.from(tensorToRgb(wild).data)).toEqual([0, 0, 1, 255, 255, 0]);
    wild.dispose();
    const bad = tf.zeros([2, 2, 4]) as tf.Tensor3D;
    expect(() => tensorToRgb(bad)).toThrow(/\[height, width, 3\]/);
    bad.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
