// `hokusai dataset fetch`: unpacking with the system unzip, all entries or only the first N images (--limit).
import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { unpack } from '../src/commands/dataset.ts';
import { tempDir, makeImages } from '../../train/test/train-helpers.ts';
import { needs, requirement } from '../../node/test/shared-data.ts';

const hasZip = (() => {
  try {
    execFileSync('zip', ['-v'], { stdio: 'ignore' });
    execFileSync('unzip', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.runIf(needs('dataset unpack', requirement('zip and unzip on PATH', hasZip ? null : 'not found')))('dataset unpack', () => {
  it('unpacks everything, or only the first N images by name', async () => {
    const src = await tempDir('zip-src');
    await mkdir(join(src, 'train2014'));
    await makeImages(join(src, 'train2014'), 5, 8);
    execFileSync('zip', ['-q', '-r', 'train2014.zip', 'train2014'], { cwd: src });
    const zip = join(src, 'train2014.zip');
    const all = await tempDir('zip-all');
    await unpack(zip, all, 0, new AbortController().signal);
    const everything = (await readdir(join(all, 'train2014'), { recursive: true })).filter((n) => /\.(png|jpg)$/.test(n));
    expect(everything).toHaveLength(5);
    const some = await tempDir('zip-some');
    await unpack(zip, some, 2, new AbortController().signal);
    const names = (await readdir(join(some, 'train2014'), { recursive: true })).filter((n) => /\.(png|jpg)$/.test(n)).sort();
    expect(names).toEqual(everything.sort().slice(0, 2));
  });
});
