// Tests for the zod → commander mapping of the hokusai CLI (cli-program.ts), in-process with fake commands.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { CommanderError } from 'commander';
import { HokusaiError } from '@hokusai/errors';
import { defineCommand, type CommandContext, type CommandSpec } from '../src/command.ts';
import { buildProgram, describeField } from '../src/cli-program.ts';

const schema = z.object({
  inputs: z.array(z.string()).min(1).describe('input files'),
  steps: z.number().int().min(1).default(100).describe('number of steps'),
  lr: z.number().positive().default(0.001).describe('learning rate'),
  preserveColors: z.boolean().default(false).describe('keep the colours'),
  augment: z.boolean().default(true).describe('random crops'),
  backend: z.enum(['cpu', 'wasm']).default('cpu').describe('engine'),
  out: z.string().optional().describe('output file'),
  sizes: z.array(z.number().int()).default([256]).describe('sizes'),
  styleLayers: z.record(z.string(), z.number()).default({ relu1_2: 1 }).describe('style layer weights'),
});

function harness(extra: Partial<CommandSpec> = {}) {
  const calls: unknown[] = [];
  const givens: (ReadonlySet<string> | undefined)[] = [];
  let help = '';
  let err = '';
  const spec = defineCommand({
    name: 'go',
    summary: 'do it',
    schema,
    positionals: [{ key: 'inputs', name: 'input...', variadic: true, required: true }],
    aliases: { out: 'o' },
    configFile: true,
    run: async (o, _ctx, given) => {
      calls.push(o);
      givens.push(given);
    },
    ...extra,
  }) as unknown as CommandSpec;
  const sub = defineCommand({
    name: 'weights fetch',
    summary: 'fetch weights',
    schema: z.object({ net: z.enum(['vgg16', 'vgg19']).default('vgg16').describe('which') }),
    run: async (o) => {
      calls.push({ sub: o });
    },
  }) as unknown as CommandSpec;
  const ctx: CommandContext = { log: () => {}, out: () => {}, signal: new AbortController().signal };
  const program = buildProgram([spec, sub], {
    version: '9.9.9',
    ctx,
    writeOut: (s) => (help += s),
    writeErr: (s) => (err += s),
  });
  const run = (args: string[]) => program.parseAsync(['node', 'hokusai', ...args]);
  return { calls, givens, run, help: () => help, err: () => err };
}

describe('describeField', () => {
  it('unwraps defaults and classifies', () => {
    const s = schema.shape;
    expect(describeField(s.steps)).toMatchObject({ kind: 'integer', hasDefault: true, defaultValue: 100, description: 'number of steps' });
    expect(describeField(s.lr)).toMatchObject({ kind: 'number', defaultValue: 0.001 });
    expect(describeField(s.backend)).toMatchObject({ kind: 'enum', choices: ['cpu', 'wasm'] });
    expect(describeField(s.out)).toMatchObject({ kind: 'string', optional: true, hasDefault: false });
    expect(describeField(s.sizes)).toMatchObject({ kind: 'array', element: 'number' });
    expect(describeField(s.styleLayers)).toMatchObject({ kind: 'record', element: 'number' });
  });
});

describe('buildProgram', () => {
  it('applies schema defaults and converts types', async () => {
    const h = harness();
    await h.run(['go', 'a.jpg', 'b.jpg']);
    expect(h.calls[0]).toEqual({
      inputs: ['a.jpg', 'b.jpg'],
      steps: 100,
      lr: 0.001,
      preserveColors: false,
      augment: true,
      backend: 'cpu',
      sizes: [256],
      styleLayers: { relu1_2: 1 },
    });
  });

  it('tells the command which options were given, even one equal to its default', async () => {
    const h = harness();
    const dir = mkdtempSync(join(tmpdir(), 'hokusai-given-'));
    const cfg = join(dir, 'run.json');
    writeFileSync(cfg, JSON.stringify({ lr: 0.5 }));
    await h.run(['go', 'a.jpg', '--steps', '100', '--backend', 'cpu', '--config', cfg]);
    expect(h.calls[0]).toMatchObject({ steps: 100, backend: 'cpu', lr: 0.5 });
    expect([...(h.givens[0] ?? [])].sort()).toEqual(['backend', 'inputs', 'lr', 'steps']);
  });

  it('parses every option kind', async () => {
    const h = harness();
    await h.run([
      'go', 'a.jpg', '--steps', '7', '--lr=0.5', '--preserve-colors', '--no-augment', '--backend', 'wasm', '-o', 'x.png',
      '--sizes', '128,256', '--sizes', '512', '--style-layers', 'relu1_2=1,relu2_2=0.5', '--style-layers', 'relu3_3=2',
    ]);
    expect(h.calls[0]).toEqual({
      inputs: ['a.jpg'],
      steps: 7,
      lr: 0.5,
      preserveColors: true,
      augment: false,
      backend: 'wasm',
      out: 'x.png',
      sizes: [128, 256, 512],
      styleLayers: { relu1_2: 1, relu2_2: 0.5, relu3_3: 2 },
    });
  });

  it('rejects bad values with a HokusaiError naming the flag', async () => {
    const h = harness();
    const e = await h.run(['go', 'a.jpg', '--steps', '1.5']).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HokusaiError);
    expect((e as HokusaiError).code).toBe('INVALID_ARGUMENT');
    expect((e as HokusaiError).message).toContain('--steps');
    const e2 = await h.run(['go', 'a.jpg', '--lr', 'fast']).catch((x: unknown) => x);
    expect((e2 as HokusaiError).message).toContain('--lr');
  });

  it('reports usage errors as CommanderError (exit 2 in cli.ts)', async () => {
    const h = harness();
    const bad = await h.run(['go', 'a.jpg', '--backend', 'gpu']).catch((x: unknown) => x);
    expect(bad).toBeInstanceOf(CommanderError);
    const missing = await harness().run(['go']).catch((x: unknown) => x);
    expect(missing).toBeInstanceOf(CommanderError);
    expect(h.calls).toHaveLength(0);
  });

  it('shows descriptions and defaults in help', async () => {
    const h = harness();
    await h.run(['go', '--help']).catch(() => undefined);
    const text = h.help();
    expect(text).toContain('--steps <n>');
    expect(text).toContain('number of steps (default: 100)');
    expect(text).toContain('--no-augment');
    expect(text).toContain('relu1_2=1');
    expect(text).toMatch(/choices: "cpu",\s+"wasm"/);
    expect(text).toMatch(/--no-augment\s+turn off: random crops \(default: true\)/);
  });

  it('merges --config under the command line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hokusai-cli-'));
    const file = join(dir, 'run.json');
    writeFileSync(file, JSON.stringify({ steps: 42, lr: 0.1, 'style-layers': { relu4_2: 3 } }));
    const h = harness();
    await h.run(['go', 'a.jpg', '--config', file, '--lr', '0.2']);
    expect(h.calls[0]).toMatchObject({ steps: 42, lr: 0.2, styleLayers: { relu4_2: 3 } });
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{nope');
    const e = await harness().run(['go', 'a.jpg', '--config', bad]).catch((x: unknown) => x);
    expect((e as HokusaiError).code).toBe('INVALID_ARGUMENT');
  });

  it('nests multi-word commands', async () => {
    const h = harness();
    await h.run(['weights', 'fetch', '--net', 'vgg19']);
    expect(h.calls[0]).toEqual({ sub: { net: 'vgg19' } });
  });
});
