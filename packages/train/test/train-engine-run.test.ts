// The trainer on the WebGPU engine (engine-trainer.ts) on lavapipe, with a tiny Johnson net, 16x16 crops, batch 2,
// and a VGG19 with random weights to relu1_2 (the tfjs side runs on cpu): checkpoints hold the Trainer's state and
// Adam's moments, so N engine steps + --resume M engine steps land where N+M steps in one go land; a tfjs-path
// checkpoint resumes on the engine and an engine checkpoint on the tfjs path; samples and the validation loss are
// written at their steps; a size beyond the device's limits fails with OUT_OF_MEMORY before training; a device lost
// mid-run stops with BACKEND_UNAVAILABLE and the last checkpoint intact.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TransformerNet, type NetConfig } from '@hokusai/model';
import { HokusaiError } from '@hokusai/errors';
import { PerceptualLoss, convSpecs, type VggWeights } from '@hokusai/losses';
import { probeWebGpu } from '@hokusai/node';
import { needs, type Requirement } from '../../node/test/shared-data.ts';
import { runEngineTraining, type EngineRunOptions } from '../src/engine-trainer.ts';
import { Trainer, type SampleImage, type TrainerConfig } from '../src/trainer.ts';
import { TrainingData } from '../src/dataset.ts';
import { listCheckpoints } from '../src/run-dir.ts';
import { generatedImageFiles, tempDir, testIO, useCpu } from './train-helpers.ts';

const TINY: NetConfig = { arch: 'johnson', channels: [8, 16, 16], residualBlocks: 1 };
const LOSS = { contentLayers: { relu1_2: 1 }, styleLayers: { relu1_1: 1, relu1_2: 1 }, contentWeight: 1, styleWeight: 2, tvWeight: 0.2 };
const WEBGPU: Requirement = { what: 'a WebGPU adapter', missing: await probeWebGpu().then(() => null, (e: unknown) => (e instanceof Error ? e.message : String(e))) };

/** Deterministic VGG19 block-1 weights (He-scaled). */
function vgg(): VggWeights {
  let a = 7;
  const rnd = (n: number, scale: number): Float32Array =>
    Float32Array.from({ length: n }, () => {
      a = (a * 1103515245 + 12345) % 2147483648;
      return (a / 2147483648 - 0.5) * 2 * scale;
    });
  const layers = new Map<string, { kernel: Float32Array; kernelShape: number[]; bias: Float32Array }>();
  for (const s of convSpecs('vgg19').filter((c) => c.block === 1)) {
    const fanIn = 9 * s.inChannels;
    layers.set(s.conv, { kernel: rnd(fanIn * s.outChannels, Math.sqrt(6 / fanIn)), kernelShape: [3, 3, s.inChannels, s.outChannels], bias: rnd(s.outChannels, 0.1) });
  }
  return { net: 'vgg19', layers };
}

let files: string[] = [];
let weights: VggWeights;
let loss: PerceptualLoss;
let styleTargets: Map<string, Float32Array>;

beforeAll(async () => {
  await useCpu();
  files = await generatedImageFiles('engine-run-data', 6);
  weights = vgg();
  loss = PerceptualLoss.fromWeights(weights, LOSS);
  const style = tf.tensor3d(Float32Array.from({ length: 24 * 24 * 3 }, (_, i) => (i * 37) % 256), [24, 24, 3]);
  loss.setStyle([{ image: style, weight: 1 }]);
  style.dispose();
  styleTargets = new Map([...loss.styleTargets!].map(([k, t]) => [k, t.dataSync() as Float32Array]));
});

const dataOf = new WeakMap<Trainer, TrainingData>();

function trainer(out: string, over: Partial<TrainerConfig> = {}): Trainer {
  const cfg: TrainerConfig = {
    out, iterations: 4, batchSize: 2, imageSize: 16, microBatch: 2, lr: 1e-2, lrDecay: 0, checkpointEvery: 2, keep: 5,
    sampleEvery: 0, logEvery: 1, prefetch: 1, backend: 'cpu', meta: { name: 'engine-test' }, ...over,
  };
  const data = new TrainingData(files, { imageSize: 16, batchSize: 2, seed: 3, flip: true, maxScale: 1.2, maxPixels: 1e7, cacheBytes: 1e6 });
  const t = new Trainer(TransformerNet.create(TINY, 5), loss, data, testIO, cfg, () => {});
  dataOf.set(t, data);
  return t;
}

async function onEngine(t: Trainer, opts: Partial<EngineRunOptions> = {}): Promise<Map<string, Float32Array>> {
  const r = await runEngineTraining(t, weights, dataOf.get(t)!, { netConfig: TINY, loss: LOSS, styleTargets }, { log: () => {}, ...opts });
  expect(r.step).toBe(t.config.iterations);
  return named(t);
}

/** Named weights of a trainer's network. */
async function named(t: Trainer): Promise<Map<string, Float32Array>> {
  const net = t.net as TransformerNet;
  const out = new Map<string, Float32Array>();
  for (const [k, v] of Object.entries(net.namedWeights())) out.set(k, (await v.data()) as Float32Array);
  return out;
}

/**
 * Worst per-tensor max|a − b| / max|b|, leaving out the tensors whose gradient is analytically zero (a conv bias
 * right before an instance norm, a residual block's last norm shift): there Adam turns each path's rounding noise
 * into ±lr steps of its own, so those two paths differ by design (engine test train-step.test.ts).
 */
function worstRel(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let worst = 0;
  for (const [k, x] of a) {
    if ((k.endsWith('conv2d.bias') && !k.startsWith('deconv3')) || /^res\d+\.in2\.bias$/.test(k)) continue;
    const y = b.get(k)!;
    const scale = Math.max(1e-6, ...Array.from(y, Math.abs));
    for (let j = 0; j < x.length; j++) worst = Math.max(worst, Math.abs(x[j]! - y[j]!) / scale);
  }
  return worst;
}

describe.runIf(needs('the engine trainer', WEBGPU))('training on the engine', () => {
  it('2 steps + resume 2 steps = 4 steps in one go; checkpoints are the tfjs format', { timeout: 300_000 }, async () => {
    const straight = await onEngine(trainer(await tempDir('engine-straight')));
    const out = await tempDir('engine-resume');
    await onEngine(trainer(out, { iterations: 2 }));
    expect((await listCheckpoints(out)).map((c) => c.step)).toEqual([2]);
    const resumed = trainer(out);
    await resumed.restore(join(out, 'checkpoint-2'));
    expect(resumed.adam.t).toBe(2);
    const got = await onEngine(resumed);
    const err = worstRel(got, straight);
    console.log(`engine 2+2 vs 4 steps: worst weight rel. error ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-5);
    // Without Adam's state the same restart lands elsewhere (the check above can fail).
    const cold = trainer(out);
    await cold.restore(join(out, 'checkpoint-2'));
    const { json, bin } = await cold.adam.serialize();
    cold.adam.restore({ ...json, t: 0 }, new Uint8Array(bin.byteLength));
    expect(worstRel(await onEngine(cold), straight)).toBeGreaterThan(1e-3);
  });

  it('a tfjs checkpoint resumes on the engine, an engine checkpoint on tfjs', { timeout: 300_000 }, async () => {
    // Each against the straight run of the path that took the first two steps: Adam's first steps move every
    // weight by about ±lr whatever the gradient's size, so the two paths' rounding differs most there.
    const tfjsOut = await tempDir('engine-from-tfjs');
    await trainer(tfjsOut, { iterations: 2 }).run({});
    const onGpu = trainer(tfjsOut);
    await onGpu.restore(join(tfjsOut, 'checkpoint-2'));
    const tfjsThenEngine = await onEngine(onGpu);
    const tfjsRef = trainer(await tempDir('tfjs-straight'));
    await tfjsRef.run({});
    const a = worstRel(tfjsThenEngine, await named(tfjsRef));
    const engineOut = await tempDir('tfjs-from-engine');
    await onEngine(trainer(engineOut, { iterations: 2 }));
    const back = trainer(engineOut);
    await back.restore(join(engineOut, 'checkpoint-2'));
    await back.run({});
    const b = worstRel(await named(back), await onEngine(trainer(await tempDir('engine-straight-2'))));
    console.log(`tfjs 2 + engine 2 vs tfjs 4 steps: ${a.toExponential(2)}; engine 2 + tfjs 2 vs engine 4: ${b.toExponential(2)} (worst weight rel. error)`);
    expect(a).toBeLessThan(1e-3);
    expect(b).toBeLessThan(1e-3);
  });

  it('writes samples and the validation loss at their steps', { timeout: 300_000 }, async () => {
    const out = await tempDir('engine-samples');
    const t = trainer(out, { sampleEvery: 2 });
    const sample: SampleImage = { name: 'gen', width: 20, height: 12, data: Uint8Array.from({ length: 20 * 12 * 3 }, (_, i) => (i * 13) % 256) };
    const held = Uint8Array.from({ length: 16 * 16 * 3 }, (_, i) => (i * 7) % 256);
    await onEngine(t, { samples: [sample], validation: [held] });
    expect(existsSync(join(out, 'samples', 'step-2-gen.jpg'))).toBe(true);
    expect(existsSync(join(out, 'samples', 'step-4-gen.jpg'))).toBe(true);
    const lines = (await readFile(join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const val = lines.filter((l) => l['event'] === 'validation');
    expect(val.map((l) => l['step'])).toEqual([2, 4]);
    // The validation loss is the tfjs loss of the engine's weights at that step.
    expect(val[1]!['validation']).toBeCloseTo(await t.validationLoss([held]), 3);
  });

  it('a size whose buffers exceed the device limits fails with OUT_OF_MEMORY before training, naming what fits', { timeout: 120_000 }, async () => {
    // A device with WebGPU's default limits (maxStorageBufferBindingSize 128 MiB): 1024² batch 2 needs a 512 MiB
    // VGG activation. The check runs on the plan, so nothing is allocated and no batch is decoded.
    const out = await tempDir('engine-oom');
    const t = trainer(out, { imageSize: 1024 });
    const gpu = (globalThis as unknown as { navigator: { gpu: GPU } }).navigator.gpu;
    const adapter = (await gpu.requestAdapter())!;
    const device = await adapter.requestDevice();
    const dev = { device, adapter: { description: 'default limits', software: true }, gpu };
    const error = await onEngine(t, { device: dev }).then(() => null, (e: unknown) => e);
    expect((error as HokusaiError).code).toBe('OUT_OF_MEMORY');
    expect((error as Error).message).toMatch(/1024×1024, batch 2 .*binds at most 128\.0 MiB; the largest that fits is --image-size \d+ at batch 2/);
    expect((await listCheckpoints(out)).length).toBe(0);
  });

  it('a device lost mid-run stops with BACKEND_UNAVAILABLE, the last checkpoint intact', { timeout: 300_000 }, async () => {
    const out = await tempDir('engine-lost');
    const t = trainer(out, { iterations: 6 });
    const gpu = (globalThis as unknown as { navigator: { gpu: GPU } }).navigator.gpu;
    const { requestEngineDevice } = await import('@hokusai/engine');
    const dev = await requestEngineDevice(gpu);
    if ('reason' in dev) throw new Error(dev.reason);
    const error = await onEngine(t, { device: dev, onProgress: (step) => step === 3 && dev.device.destroy() }).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(HokusaiError);
    expect((error as HokusaiError).code).toBe('BACKEND_UNAVAILABLE');
    expect((error as Error).message).toMatch(/the GPU device was lost at step 3 .*the last checkpoint \(.*checkpoint-2, step 2\) is intact/s);
    expect((await listCheckpoints(out)).map((c) => c.step)).toEqual([2]);
  });
});
