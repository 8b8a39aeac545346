// Small traps of the CLI, through the real command specs in-process: a missing required option is named as such
// (not zod's "expected string, received undefined"), and `stylize -o out.gif` is refused with the supported
// extensions instead of silently creating a folder `out.gif/`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { z } from 'zod';
import { HokusaiError } from '@hokusai/errors';
import { resolveOptions, type CommandContext } from '../src/command.ts';
import { buildProgram } from '../src/cli-program.ts';
import { allCommands } from '../src/commands/index.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
let tmp: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'hokusai-traps-'));
  await sharp({ create: { width: 16, height: 12, channels: 3, background: { r: 10, g: 120, b: 200 } } }).png().toFile(join(tmp, 'tiny.png'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs `hokusai <args>` in-process; resolves with the error it throws (or undefined). */
async function hokusaiError(args: string[]): Promise<HokusaiError | undefined> {
  const ctx: CommandContext = { log: () => {}, out: () => {}, signal: new AbortController().signal };
  const program = buildProgram(allCommands, { version: 'test', ctx, writeOut: () => {}, writeErr: () => {} });
  try {
    await program.parseAsync(['node', 'hokusai', ...args]);
    return undefined;
  } catch (error) {
    if (error instanceof HokusaiError) return error;
    throw error;
  }
}

describe('required options', () => {
  const schema = z.object({
    checkpoint: z.string().min(1).describe('checkpoint directory'),
    out: z.string().min(1),
    size: z.number().int().positive().default(256),
  });

  it('names a missing option as required, with its description', () => {
    expect(() => resolveOptions(schema, { out: 'x.png' })).toThrow(/^--checkpoint is required: checkpoint directory$/);
    expect(() => resolveOptions(schema, {})).toThrow(/Missing required options:\n {2}--checkpoint is required: checkpoint directory\n {2}--out is required$/);
  });

  it('still says what was expected and what arrived for a bad value next to a missing one', () => {
    let message = '';
    try {
      resolveOptions(schema, { out: 'x.png', size: -3 });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^Invalid options:/);
    expect(message).toContain('--checkpoint is required');
    expect(message).toMatch(/--size: .*>0/);
    expect(message).not.toContain('received undefined');
  });

  it.each([
    ['stylize', ['x.png', '-o', 'y.png'], '--checkpoint is required'],
    ['export', ['--format', 'onnx', '--out', 'x.onnx'], '--checkpoint is required'],
  ])('hokusai %s without its required option says so', async (name, args, want) => {
    const error = await hokusaiError([name, ...args]);
    expect(error?.code).toBe('INVALID_ARGUMENT');
    expect(error?.message).toContain(want);
    expect(error?.message).not.toContain('received undefined');
  });
});

describe('stylize --out extensions', () => {
  it.each(['out.gif', 'out.TIFF', 'out.bmp'])('refuses -o %s, listing the supported extensions, and creates nothing', async (name) => {
    const out = join(tmp, name);
    const error = await hokusaiError(['stylize', '-c', join(ROOT, 'checkpoints/great-wave'), join(tmp, 'tiny.png'), '-o', out]);
    expect(error?.code).toBe('INVALID_ARGUMENT');
    expect(error?.message).toMatch(/cannot write \.(gif|tiff|bmp) images; expected a file name ending in \.jpg, \.jpeg, \.png or \.webp/);
    expect(existsSync(out)).toBe(false);
  });
});
