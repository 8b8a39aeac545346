// Preflight reports every problem at once (unreadable style, empty dataset, bad weights file, unwritable output)
// before any heavy work, and passes on a good setup; presets fill only options left at their defaults.
import { describe, it, expect } from 'vitest';
import { mkdir, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { HokusaiError } from '@hokusai/errors';
import { preflight, trainSchema } from '@hokusai/train';
import { applyPreset } from '../src/commands/train.ts';
import { tempDir, makeImages } from '../../train/test/train-helpers.ts';

describe('preflight', () => {
  it('lists all problems together', async () => {
    const dir = await tempDir('preflight');
    const style = join(dir, 'style.jpg');
    await writeFile(style, 'not an image');
    const empty = join(dir, 'empty');
    await mkdir(empty);
    const weights = join(dir, 'w.h5');
    await writeFile(weights, 'not hdf5 at all');
    const locked = join(dir, 'locked');
    await mkdir(locked);
    await chmod(locked, 0o500);
    const isRoot = process.getuid?.() === 0;
    const err = await preflight({ styles: [style], dataset: empty, weights, out: join(locked, 'run'), needBytes: 1 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HokusaiError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/--style .*style\.jpg: expected a readable/);
    expect(msg).toMatch(/--dataset .*empty: expected JPEG\/PNG\/WebP images/);
    expect(msg).toMatch(/--weights .*w\.h5: expected a Keras VGG notop \.h5 file, got: not an HDF5/);
    if (!isRoot) expect(msg).toMatch(/--out .*: expected a writable directory/);
    expect(msg).toMatch(new RegExp(`Preflight failed \\(${isRoot ? 3 : 4} problems\\)`));
  });

  it('passes on a good setup and asks for the disk space it needs', async () => {
    const dir = await tempDir('preflight-ok');
    await makeImages(join(dir, 'data'), 3);
    const style = join(dir, 'style.png');
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 1, g: 2, b: 3 } } }).png().toFile(style);
    const ok = await preflight({ styles: [style], dataset: join(dir, 'data'), out: join(dir, 'out'), needBytes: 1000 });
    expect(ok.files).toHaveLength(3);
    const err = await preflight({ styles: [style], dataset: join(dir, 'data'), out: join(dir, 'out'), needBytes: 1e18 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect((err as Error).message).toMatch(/expected at least .* free for checkpoints/);
  });

  it('a preset fills only options still at their defaults', () => {
    const o = applyPreset(trainSchema.parse({ preset: 'starry-night', iterations: 5 }));
    expect(o.style[0]).toMatch(/starry_night_van_gogh\.jpg$/);
    expect(o.iterations).toBe(5);
    expect(o.width).toBe('half');
    expect(o.imageSize).toBe(128);
  });

  it('an option given on the command line wins over the preset even when it equals the default', () => {
    // --style-weight 2 is the schema default; starry-night's preset says 0.1. A user who typed 2 gets 2.
    const o = applyPreset(trainSchema.parse({ preset: 'starry-night', styleWeight: 2 }), new Set(['preset', 'styleWeight']));
    expect(o.styleWeight).toBe(2);
    expect(applyPreset(trainSchema.parse({ preset: 'starry-night' }), new Set(['preset'])).styleWeight).toBe(0.1);
  });

  it('--scale-augment reaches the scale a 128² network is applied at (3 for 512 px outputs), not beyond 4', () => {
    expect(trainSchema.parse({ scaleAugment: 3 }).scaleAugment).toBe(3);
    expect(trainSchema.safeParse({ scaleAugment: 4.5 }).error?.issues[0]?.message).toMatch(/<=4/);
  });
});
