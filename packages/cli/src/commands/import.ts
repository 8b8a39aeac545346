/**
 * `hokusai import ml5 <dir> --out <checkpoint>`: converts a published ml5.js / deeplearn.js style-transfer model
 * (Engstrom's fast-style-transfer architecture, after Johnson et al. 2016: `manifest.json` + raw float32
 * `Variable…` files) into our checkpoint directory format, so `stylize`, `serve` and the demo can use it.
 */
import { readFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { defaultCheckpointMeta, importMl5, serializeCheckpoint } from '@hokusai/model';
import { HokusaiError, InvalidArgumentError, NotFoundError, WeightsError } from '@hokusai/errors';
import { initBackend, saveCheckpointDir } from '@hokusai/node';
import { defineCommand, type CommandContext, type CommandSpec } from '../command.ts';
import { TOOL_VERSION } from '../command-setup.ts';

export const importMl5Schema = z.object({
  dir: z.string().min(1).describe('folder with manifest.json and the Variable… files'),
  out: z.string().min(1).describe('checkpoint folder to create'),
  name: z.string().min(1).max(200).optional().describe('checkpoint name (default: the folder name, or its parent for ".../<style>/variables")'),
  float16: z.boolean().default(false).describe('store weights as float16 (half the size, ~1e-3 relative error)'),
  force: z.boolean().default(false).describe('replace an existing non-empty --out folder'),
});

export type ImportMl5Options = z.infer<typeof importMl5Schema>;

/** `.../wave/variables` → `wave`; `.../udnie` → `udnie`. */
export function checkpointNameFor(dir: string): string {
  const abs = resolve(dir);
  const own = basename(abs);
  if (['variables', 'model', 'models', 'ckpt', 'checkpoint'].includes(own.toLowerCase())) {
    const parent = basename(resolve(abs, '..'));
    if (parent) return parent;
  }
  return own || 'imported';
}

export async function runImportMl5(opts: ImportMl5Options, ctx: CommandContext): Promise<void> {
  const dirStat = await stat(opts.dir).catch(() => null);
  if (dirStat === null) throw new NotFoundError(`ml5 model folder "${opts.dir}": no such folder`);
  if (!dirStat.isDirectory()) {
    throw new InvalidArgumentError(`ml5 model: expected a folder with manifest.json and Variable… files, got the file "${opts.dir}"`);
  }
  const manifestPath = join(opts.dir, 'manifest.json');
  let manifestText: string;
  try {
    manifestText = await readFile(manifestPath, 'utf8');
  } catch (cause) {
    throw new NotFoundError(`ml5 model: expected ${manifestPath}, but it cannot be read (${(cause as Error).message})`, { cause });
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(manifestText);
  } catch (cause) {
    throw new WeightsError(`ml5 model: ${manifestPath} is not valid JSON (${(cause as Error).message})`, { cause });
  }
  const outStat = await stat(opts.out).catch(() => null);
  if (outStat !== null) {
    if (!outStat.isDirectory()) throw new InvalidArgumentError(`--out "${opts.out}": expected a folder to create, got an existing file`);
    if (!opts.force && (await readdir(opts.out)).length > 0) {
      throw new InvalidArgumentError(`--out "${opts.out}": the folder exists and is not empty; pass --force to replace its checkpoint`);
    }
  }

  // a plain data conversion: the CPU backend is always there and exact
  await initBackend('cpu');
  const hash = createHash('sha256').update(manifestText);
  const net = importMl5({
    manifest,
    read: (fileName) => {
      const path = join(opts.dir, fileName);
      try {
        const bytes = readFileSync(path);
        hash.update(bytes);
        return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      } catch (cause) {
        const code = (cause as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw new NotFoundError(`ml5 model: manifest.json lists ${fileName}, but ${path} does not exist`, { cause });
        throw new HokusaiError('IO', `ml5 model: cannot read ${path} (${(cause as Error).message})`, { cause });
      }
    },
  });
  try {
    const name = opts.name ?? checkpointNameFor(opts.dir);
    const meta = {
      ...defaultCheckpointMeta({ name, toolVersion: TOOL_VERSION }),
      command: ['hokusai', ...process.argv.slice(2)].join(' '),
      source: {
        kind: 'ml5',
        path: resolve(opts.dir),
        sha256: hash.digest('hex'),
        note: 'imported from an ml5.js / deeplearn.js CheckpointLoader model (Engstrom architecture); check the original licence before redistributing',
      },
    };
    const files = serializeCheckpoint(net, meta, { float16: opts.float16 });
    await saveCheckpointDir(opts.out, files);
    ctx.log(
      `imported "${name}" (engstrom, ${net.parameterCount().toLocaleString('en-US')} parameters, ${opts.float16 ? 'float16' : 'float32'}) → ${opts.out}`,
    );
  } finally {
    net.dispose();
  }
}

export const commands: CommandSpec[] = [
  defineCommand({
    name: 'import ml5',
    summary: 'convert an ml5.js / deeplearn.js style-transfer model (manifest.json + Variable files) into a checkpoint',
    schema: importMl5Schema,
    positionals: [{ key: 'dir', name: 'dir', required: true }],
    aliases: { out: 'o' },
    run: runImportMl5,
  }) as unknown as CommandSpec,
];
