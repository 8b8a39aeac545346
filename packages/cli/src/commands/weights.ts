/**
 * `hokusai weights fetch|import|list`: the loss network's weights (official Keras VGG16/VGG19 notop files,
 * Simonyan & Zisserman 2014). `fetch` downloads the official file (resumable, MD5-verified) and converts it into the
 * cache; `import` takes a file downloaded by hand (a non-official file is accepted with a warning); `list` shows the
 * cache.
 */
import { z } from 'zod';
import { OFFICIAL_WEIGHTS, fetchLossWeights, importLossWeights, listLossWeights, weightsCacheDir } from '@hokusai/node';
import { defineCommand, type CommandSpec } from '../command.ts';
import { cacheDirOption } from '@hokusai/train';
import { createProgress } from '../progress.ts';

export const weightsFetchSchema = z.object({
  net: z.enum(['vgg16', 'vgg19']).describe('loss network whose official Keras notop weights to download'),
  cacheDir: cacheDirOption,
  url: z.string().url().optional().describe('download from this URL instead of the Keras location (the file must still be the official one)'),
});

export const weightsImportSchema = z.object({
  file: z.string().min(1).describe('a Keras VGG16/VGG19 notop .h5 file downloaded by hand'),
  lossNet: z.enum(['vgg16', 'vgg19']).optional().describe('expected network (default: detected from the file)'),
  float16: z.boolean().default(false).describe('store the converted weights as float16 (half the size, ~1e-3 relative error)'),
  cacheDir: cacheDirOption,
});

export const weightsListSchema = z.object({
  cacheDir: cacheDirOption,
  json: z.boolean().default(false).describe('print the list as JSON'),
});

export const commands: CommandSpec[] = [
  defineCommand({
    name: 'weights fetch',
    summary: 'download the official Keras VGG16/VGG19 notop weights into the cache',
    schema: weightsFetchSchema,
    positionals: [{ key: 'net', name: 'net', required: true }],
    run: async (opts, ctx) => {
      const o = OFFICIAL_WEIGHTS[opts.net];
      ctx.log(`downloading ${opts.url ?? o.url} (${(o.size / 1e6).toFixed(1)} MB) into ${weightsCacheDir(opts.cacheDir)}`);
      // Created on the first byte, so an offline failure prints no empty progress line.
      const bar: { progress: ReturnType<typeof createProgress> | null } = { progress: null };
      try {
        const entry = await fetchLossWeights(opts.net, {
          cacheDir: opts.cacheDir,
          signal: ctx.signal,
          log: ctx.log,
          onProgress: (done) => {
            bar.progress ??= createProgress({ total: o.size, label: `${opts.net}`, unit: 'bytes', log: ctx.log });
            bar.progress.update(done);
          },
          ...(opts.url ? { url: opts.url } : {}),
        });
        bar.progress?.stop();
        ctx.log(`${opts.net}: verified (MD5 ${entry.md5}) and converted into ${entry.dir}`);
      } finally {
        bar.progress?.stop();
      }
    },
  }) as unknown as CommandSpec,
  defineCommand({
    name: 'weights import',
    summary: 'validate a Keras notop .h5 file downloaded by hand and add it to the cache',
    schema: weightsImportSchema,
    positionals: [{ key: 'file', name: 'file', required: true }],
    run: async (opts, ctx) => {
      const entry = await importLossWeights(opts.file, {
        cacheDir: opts.cacheDir,
        float16: opts.float16,
        log: ctx.log,
        ...(opts.lossNet ? { lossNet: opts.lossNet } : {}),
      });
      ctx.log(`${entry.net}: ${entry.official ? 'official Keras file' : 'not the official file (accepted)'}; converted into ${entry.dir}`);
    },
  }) as unknown as CommandSpec,
  defineCommand({
    name: 'weights list',
    summary: 'show the loss network weights in the cache',
    schema: weightsListSchema,
    run: async (opts, ctx) => {
      const entries = await listLossWeights(opts.cacheDir);
      if (opts.json) {
        ctx.out(`${JSON.stringify(entries, null, 2)}\n`);
        return;
      }
      if (entries.length === 0) {
        ctx.out(`no weights in ${weightsCacheDir(opts.cacheDir)}; run \`hokusai weights fetch vgg16\` (or vgg19), or \`hokusai weights import <file.h5>\`\n`);
        return;
      }
      for (const e of entries) {
        ctx.out(
          `${e.net}  ${e.official ? 'official' : 'NOT official'}  sha256 ${e.sha256.slice(0, 16)}  ${e.float16 ? 'float16' : 'float32'}  ${e.importedAt}  ${e.source}\n`,
        );
      }
    },
  }) as unknown as CommandSpec,
];
