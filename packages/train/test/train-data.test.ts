// Training data: grey/CMYK/16-bit/alpha files decode to 8-bit RGB crops; corrupt or truncated files are skipped
// and counted while under 1% of the dataset, and abort the run with DATASET_INVALID above 1%; batches are a pure
// function of (seed, step) so prefetching and resuming see the same data.
import { describe, it, expect, beforeAll } from 'vitest';
import sharp from 'sharp';
import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HokusaiError } from '@hokusai/errors';
import { TrainingData, scanImages, holdOut, type DataOptions } from '../src/dataset.ts';
import { Prefetcher } from '../src/prefetch.ts';
import { tempDir, makeImages } from './train-helpers.ts';

const OPTS: DataOptions = { imageSize: 16, batchSize: 4, seed: 1, flip: true, maxScale: 1.2, maxPixels: 1e7, cacheBytes: 0 };

async function oddFormats(dir: string): Promise<void> {
  const rgb = Buffer.alloc(30 * 20 * 3, 120);
  await sharp(rgb, { raw: { width: 30, height: 20, channels: 3 } }).toColourspace('b-w').png().toFile(join(dir, 'grey.png'));
  await sharp(rgb, { raw: { width: 30, height: 20, channels: 3 } }).toColourspace('cmyk').jpeg().toFile(join(dir, 'cmyk.jpg'));
  await sharp(rgb, { raw: { width: 30, height: 20, channels: 3 } }).toColourspace('rgb16').png().toFile(join(dir, 'deep.png'));
  const rgba = Buffer.alloc(30 * 20 * 4, 200);
  await sharp(rgba, { raw: { width: 30, height: 20, channels: 4 } }).webp().toFile(join(dir, 'alpha.webp'));
}

describe('training data', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await tempDir('data');
    await makeImages(dir, 6);
  });

  it('scans the folder tree in a stable order and holds out a seeded validation set', async () => {
    const files = await scanImages(dir);
    expect(files).toHaveLength(6);
    expect([...files].sort()).toEqual(files);
    const { train, validation } = holdOut(files, 2, 7);
    expect(validation).toHaveLength(2);
    expect(train).toHaveLength(4);
    expect(train.some((f) => validation.includes(f))).toBe(false);
    expect(holdOut(files, 2, 7)).toEqual({ train, validation });
  });

  it('batches depend only on (seed, step): same bytes in any order, different for other steps/seeds', async () => {
    const files = await scanImages(dir);
    const a = new TrainingData(files, OPTS);
    const b = new TrainingData(files, { ...OPTS, cacheBytes: 1e6 });
    const later = await b.batch(5);
    const first = await b.batch(0);
    expect(Buffer.from((await a.batch(0)).data).equals(Buffer.from(first.data))).toBe(true);
    expect(Buffer.from((await a.batch(5)).data).equals(Buffer.from(later.data))).toBe(true);
    expect(Buffer.from(first.data).equals(Buffer.from(later.data))).toBe(false);
    const c = new TrainingData(files, { ...OPTS, seed: 2 });
    expect(Buffer.from((await c.batch(0)).data).equals(Buffer.from(first.data))).toBe(false);
    expect(first.data.length).toBe(4 * 16 * 16 * 3);
    // one epoch (6 images / batch 4 → steps 0 and the first half of 1) visits every image once
    const seen = [0, 1, 2, 3, 4, 5].map((g) => a.imageIndex(Math.floor(g / 4), g % 4));
    expect(new Set(seen).size).toBe(6);
  });

  it('prefetcher hands out items in order and bounds the work in flight', async () => {
    const started: number[] = [];
    const p = new Prefetcher(
      async (k) => {
        started.push(k);
        await new Promise((r) => setTimeout(r, 5 * ((k * 7) % 3)));
        return k * 10;
      },
      { start: 3, end: 9, depth: 2 },
    );
    expect(started).toEqual([3, 4]);
    const got: number[] = [];
    for (let i = 3; i < 9; i++) got.push(await p.next());
    expect(got).toEqual([30, 40, 50, 60, 70, 80]);
    await expect(p.next()).rejects.toThrow();
  });

  it('decodes grey, CMYK, 16-bit and alpha images to 8-bit RGB', async () => {
    const odd = await tempDir('odd');
    await oddFormats(odd);
    const files = await scanImages(odd);
    expect(files).toHaveLength(4);
    const d = new TrainingData(files, { ...OPTS, batchSize: 4, flip: false, maxScale: 1 });
    for (let j = 0; j < 4; j++) {
      const s = await d.sample(0, j);
      expect(s.data.length).toBe(16 * 16 * 3);
    }
    expect(d.bad.size).toBe(0);
    // grey stays grey (R = G = B) and 16-bit 120 maps to ≈ 120 in 8 bits
    const grey = await d.centerCrop(files.find((f) => f.endsWith('grey.png'))!, 16);
    expect(grey[0]).toBe(grey[1]);
    const deep = await d.centerCrop(files.find((f) => f.endsWith('deep.png'))!, 16);
    expect(Math.abs(deep[0]! - 120)).toBeLessThanOrEqual(2);
  });

  it('skips and counts bad files under 1%, aborts with DATASET_INVALID above', async () => {
    const big = await tempDir('bad-small');
    // 120 good images + 1 truncated JPEG → 0.83% bad: skipped, counted, logged
    const data = Buffer.alloc(24 * 24 * 3, 90);
    const good = await sharp(data, { raw: { width: 24, height: 24, channels: 3 } }).jpeg().toBuffer();
    for (let i = 0; i < 120; i++) await writeFile(join(big, `g${String(i).padStart(3, '0')}.jpg`), good);
    await writeFile(join(big, 'truncated.jpg'), good.subarray(0, Math.floor(good.length / 2)));
    const files = await scanImages(big);
    const logs: string[] = [];
    const d = new TrainingData(files, { ...OPTS, batchSize: 11 }, (l) => logs.push(l));
    for (let step = 0; step < 11; step++) await d.batch(step); // one full epoch and more
    expect(d.bad.size).toBe(1);
    expect([...d.bad.keys()][0]).toMatch(/truncated\.jpg$/);
    expect(logs.some((l) => l.includes('truncated.jpg'))).toBe(true);

    // 10 images, 1 of them garbage → 10% bad: the run stops with a clear message
    const small = await tempDir('bad-many');
    for (let i = 0; i < 9; i++) await writeFile(join(small, `g${i}.jpg`), good);
    await writeFile(join(small, 'garbage.png'), Buffer.from('definitely not a PNG file'));
    const d2 = new TrainingData(await scanImages(small), { ...OPTS, batchSize: 10 });
    const err = await d2.batch(0).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HokusaiError);
    expect((err as HokusaiError).code).toBe('DATASET_INVALID');
    expect((err as Error).message).toMatch(/more than 1%.*garbage\.png/s);
    expect((await readFile(join(small, 'g0.jpg'))).length).toBe(good.length);
  });
});
