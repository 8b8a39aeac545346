// `hokusai stylize`'s two engines give the same picture: onnxruntime-node (the default, --backend auto) against tfjs
// on the cpu backend, mean |diff| < 1 grey level, for the bundled great-wave checkpoint (with --strength and
// --preserve-colors too), a Johnson net with input noise at an odd size, and an Engstrom net; and openEngine picks
// onnxruntime for auto and tfjs for a named backend. No tensors are left behind.
import { beforeAll, describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { TransformerNet, type NetConfig } from '@hokusai/model';
import { initBackend, loadCheckpointDir, type RgbImage } from '@hokusai/node';
import { loadOnnxRuntime, type Ort } from '@hokusai/serve';
import { onnxEngine, openEngine, tfjsEngine } from '../src/commands/stylize.ts';
import { imageRangeNet, noisyRgb as testImage, pixelDiffs as diffs } from '../../serve/test/helpers.ts';

const GREAT_WAVE = resolve(import.meta.dirname, '../../../checkpoints/great-wave');

let ort: Ort;
beforeAll(async () => {
  await initBackend('cpu');
  ort = await loadOnnxRuntime();
});

/** Runs `img` through both engines built from `net` (disposed here) and returns both outputs. */
async function bothEngines(net: TransformerNet, img: RgbImage, opts = { strength: 1, preserveColors: false }) {
  const before = tf.memory().numTensors;
  const onnx = await onnxEngine(ort, net, 1);
  const tfjs = tfjsEngine(net);
  try {
    const a = await onnx.stylize(img, opts);
    const b = await tfjs.stylize(img, opts);
    expect([a.width, a.height, b.width, b.height]).toEqual([img.width, img.height, img.width, img.height]);
    expect(onnx.label).toMatch(/^onnxruntime-node/);
    expect(tfjs.label).toBe('tfjs cpu');
    return { onnx: a.data, tfjs: b.data };
  } finally {
    onnx.dispose();
    tfjs.dispose(); // disposes net
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before - net.variables.length);
  }
}

/** The comparison means something only if the network changed the picture and did not clip most of it. */
function expectMeaningful(out: Uint8Array, input: Uint8Array): void {
  expect(diffs(out, input).mean).toBeGreaterThan(10);
  const mid = out.filter((v) => v > 0 && v < 255).length;
  expect(mid / out.length).toBeGreaterThan(0.2);
}

describe('stylize engines: onnxruntime vs tfjs cpu', () => {
  it('the bundled great-wave checkpoint: same image within 1 grey level (plain, and with strength + preserve colours)', async () => {
    const img = testImage(72, 48);
    const plain = await bothEngines((await loadCheckpointDir(GREAT_WAVE)).net, img);
    expectMeaningful(plain.onnx, img.data);
    const d = diffs(plain.onnx, plain.tfjs);
    expect(d.mean).toBeLessThan(1);
    expect(d.max).toBeLessThanOrEqual(3);
    const blended = await bothEngines((await loadCheckpointDir(GREAT_WAVE)).net, img, { strength: 0.6, preserveColors: true });
    expect(diffs(blended.onnx, blended.tfjs).mean).toBeLessThan(1);
    // the options took effect on both engines
    expect(diffs(blended.onnx, plain.onnx).mean).toBeGreaterThan(5);
  }, 120_000);

  it.each<[string, NetConfig, number, number]>([
    ['Johnson with input noise, odd size', { arch: 'johnson', channels: [4, 8, 8], residualBlocks: 1, inputNoise: 12 }, 37, 29],
    ['Engstrom', { arch: 'engstrom' }, 40, 30],
  ])('%s: same image within 1 grey level', async (_name, config, width, height) => {
    const img = testImage(width, height);
    const { onnx, tfjs } = await bothEngines(imageRangeNet(config, 3), img);
    expectMeaningful(onnx, img.data);
    expect(diffs(onnx, tfjs).mean).toBeLessThan(1);
  }, 120_000);

  it('openEngine: auto runs onnxruntime, a named backend runs tfjs; both say which checkpoint', async () => {
    const log: string[] = [];
    const auto = await openEngine(GREAT_WAVE, 'auto', (l) => log.push(l));
    const cpu = await openEngine(GREAT_WAVE, 'cpu', (l) => log.push(l));
    try {
      expect(auto.engine.label).toMatch(/^onnxruntime-node .*\(cpu, \d+ thread\(s\)\)$/);
      expect(cpu.engine.label).toBe('tfjs cpu');
      expect(auto.summary).toBe(cpu.summary);
      expect(auto.summary).toMatch(/^checkpoint "great-wave" \(johnson, [\d,]+ parameters\)$/);
      expect(log.join('\n')).not.toMatch(/did not load/);
    } finally {
      auto.engine.dispose();
      cpu.engine.dispose();
    }
  }, 60_000);
});
