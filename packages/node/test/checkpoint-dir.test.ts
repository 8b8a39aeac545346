// Tests for checkpoint directories (checkpoint-dir.ts): round trip, atomic replacement, clear errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { HokusaiError, TransformerNet, defaultCheckpointMeta, serializeCheckpoint, type NetConfig } from '@hokusai/model';
import { loadCheckpointDir, saveCheckpointDir } from '../src/index.ts';

const TINY: NetConfig = { arch: 'johnson', channels: [4, 8, 8], residualBlocks: 1 };
let dir: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'hokusai-ckpt-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function filesFor(seed: number, name: string) {
  const net = TransformerNet.create(TINY, seed);
  const files = serializeCheckpoint(net, defaultCheckpointMeta({ name, toolVersion: 'test' }));
  const weights = Object.fromEntries(Object.entries(net.namedWeights()).map(([k, v]) => [k, Array.from(v.dataSync())]));
  net.dispose();
  return { files, weights };
}

async function codeOf(p: Promise<unknown>): Promise<HokusaiError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(HokusaiError);
  return e as HokusaiError;
}

describe('checkpoint directories', () => {
  it('round-trips weights and meta, replaces atomically, leaves no temp folders', async () => {
    const before = tf.memory().numTensors;
    const target = join(dir, 'ck');
    const a = filesFor(1, 'first');
    await saveCheckpointDir(target, a.files, { 'preview.txt': 'hello' });
    expect(readdirSync(target).sort()).toEqual(['meta.json', 'model.json', 'preview.txt', 'weights.bin']);
    const loaded = await loadCheckpointDir(target);
    expect(loaded.meta.name).toBe('first');
    for (const [k, v] of Object.entries(loaded.net.namedWeights())) expect(Array.from(v.dataSync())).toEqual(a.weights[k]);
    loaded.net.dispose();

    const b = filesFor(2, 'second');
    await saveCheckpointDir(target, b.files);
    expect(readdirSync(dir)).toEqual(['ck']);
    expect(readdirSync(target).sort()).toEqual(['meta.json', 'model.json', 'weights.bin']);
    const again = await loadCheckpointDir(target);
    expect(again.meta.name).toBe('second');
    for (const [k, v] of Object.entries(again.net.namedWeights())) expect(Array.from(v.dataSync())).toEqual(b.weights[k]);
    again.net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('says which file is missing or broken', async () => {
    expect((await codeOf(loadCheckpointDir(join(dir, 'nope')))).code).toBe('NOT_FOUND');
    const target = join(dir, 'broken');
    await saveCheckpointDir(target, filesFor(3, 'x').files);
    const bin = readFileSync(join(target, 'weights.bin'));
    writeFileSync(join(target, 'weights.bin'), bin.subarray(0, bin.length - 4));
    const truncated = await codeOf(loadCheckpointDir(target));
    expect(truncated.code).toBe('CHECKPOINT_INVALID');
    expect(truncated.message).toContain(target);
    unlinkSync(join(target, 'meta.json'));
    const missing = await codeOf(loadCheckpointDir(target));
    expect(missing.code).toBe('CHECKPOINT_INVALID');
    expect(missing.message).toContain('meta.json');
  });

  it('refuses extra files that would escape the folder or shadow checkpoint files', async () => {
    const { files } = filesFor(4, 'y');
    expect((await codeOf(saveCheckpointDir(join(dir, 'z'), files, { '../evil': 'x' }))).code).toBe('INVALID_ARGUMENT');
    expect((await codeOf(saveCheckpointDir(join(dir, 'z'), files, { 'meta.json': 'x' }))).code).toBe('INVALID_ARGUMENT');
    expect(readdirSync(dir).filter((n) => n.includes('z'))).toEqual([]);
  });
});
