// The training step's buffer plan (memory-plan.ts): measured without a GPU it equals what EngineTrainStep really
// allocates on the test device; a device whose limits (or memory budget) are too small for the requested size is
// refused with OUT_OF_MEMORY naming the largest size that fits, and that size's plan does fit while the next does not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convSpecs } from '@hokusai/losses';
import { johnsonWeightSpecs, type NetConfig } from '@hokusai/model';
import { HokusaiError } from '@hokusai/errors';
import type { GpuContext } from '../src/gpu-context.ts';
import { checkTrainStepFits, trainStepMemory } from '../src/memory-plan.ts';
import type { NamedWeights } from '../src/param-layout.ts';
import { EngineTrainStep, type TrainStepSpec } from '../src/train-step.ts';
import { vggConvsFromKeras } from '../src/vgg-graph.ts';
import { randomFloats, testContext } from './gpu-device.ts';

const CONFIG: NetConfig = { arch: 'johnson', channels: [8, 16, 16], residualBlocks: 1 };

function spec(size: number): TrainStepSpec {
  const layers = new Map<string, { kernel: Float32Array; kernelShape: number[]; bias: Float32Array }>();
  convSpecs('vgg19')
    .filter((s) => s.block <= 2)
    .forEach((s, i) => {
      layers.set(s.conv, { kernel: randomFloats(9 * s.inChannels * s.outChannels, i, 0.1), kernelShape: [3, 3, s.inChannels, s.outChannels], bias: randomFloats(s.outChannels, 40 + i, 0.1) });
    });
  const weights: NamedWeights = {};
  for (const w of johnsonWeightSpecs([8, 16, 16], 1)) weights[w.name] = new Float32Array(w.shape.reduce((a, b) => a * b, 1));
  return {
    config: CONFIG,
    weights,
    vgg: vggConvsFromKeras(layers, convSpecs('vgg19'), 'relu2_2'),
    loss: { contentLayers: { relu2_2: 1 }, styleLayers: { relu1_2: 1, relu2_2: 1 }, contentWeight: 1, styleWeight: 1, tvWeight: 1 },
    styleTargets: new Map([['relu1_2', new Float32Array(64 * 64)], ['relu2_2', new Float32Array(128 * 128)]]),
    n: 2,
    size,
    adam: { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
  };
}

/** A device stand-in with just the limits the check reads. */
const limited = (maxBytes: number): GPUDevice => ({ limits: { maxStorageBufferBindingSize: maxBytes, maxBufferSize: 2 ** 31 } }) as unknown as GPUDevice;

function outOfMemory(fn: () => unknown): HokusaiError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(HokusaiError);
    expect((error as HokusaiError).code).toBe('OUT_OF_MEMORY');
    return error as HokusaiError;
  }
  throw new Error('expected OUT_OF_MEMORY, nothing was thrown');
}

describe('training step memory plan', () => {
  it('grows with the size; a binding limit between the 64 and 68 px plans names --image-size 64', () => {
    // (Below ~48 px the largest buffer is VGG's weights, the same at every size.)
    const p64 = trainStepMemory(spec(64));
    const p68 = trainStepMemory(spec(68));
    expect(p68.totalBytes).toBeGreaterThan(p64.totalBytes);
    expect(p68.largestBuffer).toBeGreaterThan(p64.largestBuffer);
    const device = limited(p64.largestBuffer);
    expect(checkTrainStepFits(device, spec(64)).totalBytes).toBe(p64.totalBytes);
    const e = outOfMemory(() => checkTrainStepFits(device, spec(128)));
    expect(e.message).toMatch(/--image-size 64 at batch 2/);
    expect(e.message).toMatch(/binds at most/);
  });

  it('a memory budget between the 16 and 20 px plans names --image-size 16; below 8 px none fits', () => {
    const p16 = trainStepMemory(spec(16));
    const device = limited(2 ** 30);
    const e = outOfMemory(() => checkTrainStepFits(device, spec(48), { budgetBytes: p16.totalBytes + 1 }));
    expect(e.message).toMatch(/--image-size 16 at batch 2/);
    expect(e.message).toMatch(/more than the .* available/);
    const none = outOfMemory(() => checkTrainStepFits(device, spec(48), { budgetBytes: 1000 }));
    expect(none.message).toMatch(/even 8×8 does not fit/);
  });
});

describe('plan vs the device', () => {
  let ctx: GpuContext | undefined;
  beforeAll(async () => {
    ctx = await testContext();
  });
  afterAll(() => ctx?.dispose());

  it('EngineTrainStep allocates exactly the planned bytes', { timeout: 300_000 }, async () => {
    if (!ctx) return;
    const before = ctx.snapshot();
    new EngineTrainStep(ctx, spec(16));
    const allocated = ctx.since(before).bytesAllocated;
    expect(allocated).toBe(trainStepMemory(spec(16)).totalBytes);
  });
});
