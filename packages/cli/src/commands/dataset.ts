/**
 * `hokusai dataset fetch coco2014`: downloads MS-COCO 2014 train (the training set of Johnson et al. 2016),
 * resumably and verified by size (download() of @hokusai/node), unpacks it with the system `unzip` into
 * `<dir>/coco2014/train2014/`; with `--limit N` only the first N images are unpacked (or kept, when the whole set
 * was unpacked before).
 * Offline (or no unzip) → a clear message with the manual steps.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { HokusaiError } from '@hokusai/errors';
import { download } from '@hokusai/node';
import { defineCommand, type CommandContext } from '../command.ts';
import { createProgress } from '../progress.ts';

export const DATASETS = {
  coco2014: {
    url: 'http://images.cocodataset.org/zips/train2014.zip',
    size: 13_510_573_713,
    images: 82_783,
    folder: 'train2014',
  },
} as const;

export const datasetFetchSchema = z.object({
  name: z.enum(['coco2014']).default('coco2014').describe('dataset to fetch'),
  dir: z.string().default('datasets').describe('where datasets are kept (the images land in <dir>/<name>/<folder>/)'),
  limit: z.number().int().min(0).default(0).describe('unpack only the first N images (0 = all; the zip is then kept for a later full unpack)'),
  keepZip: z.boolean().default(false).describe('keep the downloaded zip after unpacking'),
});

function manualSteps(name: keyof typeof DATASETS, dir: string): string {
  const d = DATASETS[name];
  const target = join(dir, name);
  return (
    `Manual steps: on a machine with internet access download ${d.url} (${d.size.toLocaleString('en')} bytes, ${d.images.toLocaleString('en')} images), ` +
    `copy it to ${join(target, 'train2014.zip')} and rerun this command (it resumes and verifies), or unpack it yourself:\n` +
    `  mkdir -p ${target} && unzip -q train2014.zip -d ${target}\n` +
    `then train with --dataset ${join(target, d.folder)}`
  );
}

function run(cmd: string, args: string[], signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], signal });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited with ${code}: ${err.trim().slice(0, 500)}`))));
  });
}

/** Unpack the whole zip, or with a limit only its first `limit` images (by name), into `tmp`. */
export async function unpack(zip: string, tmp: string, limit: number, signal: AbortSignal): Promise<void> {
  if (limit <= 0) {
    await run('unzip', ['-q', '-o', zip, '-d', tmp], signal);
    return;
  }
  const names = (await run('unzip', ['-Z1', zip], signal))
    .split('\n')
    .filter((n) => /\.(jpe?g|png|webp)$/i.test(n))
    .sort()
    .slice(0, limit);
  for (let i = 0; i < names.length; i += 500) {
    await run('unzip', ['-q', '-o', zip, ...names.slice(i, i + 500), '-d', tmp], signal);
  }
}

/** Delete all but the first `limit` images (sorted by name) of a folder. */
async function applyLimit(folder: string, limit: number): Promise<number> {
  const names = (await readdir(folder)).filter((n) => /\.(jpe?g|png|webp)$/i.test(n)).sort();
  for (const n of names.slice(limit)) await rm(join(folder, n));
  return Math.min(limit, names.length);
}

export async function runDatasetFetch(options: z.infer<typeof datasetFetchSchema>, ctx: CommandContext): Promise<void> {
  const d = DATASETS[options.name];
  const target = join(options.dir, options.name);
  const folder = join(target, d.folder);
  const zip = join(target, 'train2014.zip');
  await mkdir(target, { recursive: true });
  const done = await stat(join(target, '.complete')).then(() => true, () => false);
  if (done) {
    ctx.log(`${options.name} is already unpacked in ${folder}`);
  } else {
    const progress = createProgress({ total: d.size, label: `download ${options.name}`, unit: 'bytes', log: ctx.log });
    try {
      await download(d.url, zip, { size: d.size, signal: ctx.signal, onProgress: (n) => progress.update(n) });
    } catch (error) {
      if (error instanceof HokusaiError && error.code === 'NETWORK_UNAVAILABLE') {
        throw new HokusaiError('NETWORK_UNAVAILABLE', `${error.message}\n${manualSteps(options.name, options.dir)}`, { cause: error });
      }
      throw error;
    } finally {
      progress.stop();
    }
    ctx.log(`unpacking ${zip} into ${target} (system unzip)`);
    const tmp = join(target, '.unpacking');
    await rm(tmp, { recursive: true, force: true });
    try {
      await unpack(zip, tmp, options.limit, ctx.signal);
    } catch (error) {
      throw new HokusaiError('IO', `Could not unpack ${zip}: ${(error as Error).message}\n${manualSteps(options.name, options.dir)}`, { cause: error });
    }
    await rm(folder, { recursive: true, force: true });
    await rename(join(tmp, d.folder), folder);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(target, { recursive: true });
    if (options.limit <= 0) await writeFile(join(target, '.complete'), new Date().toISOString());
    if (!options.keepZip && options.limit <= 0) await rm(zip, { force: true });
  }
  if (options.limit > 0 && done) {
    const kept = await applyLimit(folder, options.limit);
    ctx.log(`kept the first ${kept} images`);
  }
  ctx.log(`dataset ready: ${folder}\ntrain with: hokusai train --dataset ${folder} --style <painting.jpg>`);
  ctx.out(`${folder}\n`);
}

export const commands = [
  defineCommand({
    name: 'dataset fetch',
    summary: 'download and unpack a training dataset (MS-COCO 2014 train)',
    schema: datasetFetchSchema,
    positionals: [{ key: 'name', name: 'name' }],
    run: runDatasetFetch,
  }),
];
