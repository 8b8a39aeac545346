// The inference forward's buffer plan (TransformerForward.memory): planned without a GPU it equals what
// TransformerForward.create really allocates on the test device, plus the staging buffer of its first read (the
// run itself is not made here: lavapipe compiles the shaders on first use, a minute under load); checkForwardFits refuses a size
// whose buffers exceed the device's binding limit with OUT_OF_MEMORY naming the largest --max-size that fits (at the
// same aspect ratio), and that size's plan fits while the next pixel up does not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { johnsonWeightSpecs, type NetConfig } from '@hokusai/model';
import { HokusaiError } from '@hokusai/errors';
import type { GpuContext } from '../src/gpu-context.ts';
import { checkForwardFits, TransformerForward } from '../src/transformer-forward.ts';
import type { NamedWeights } from '../src/param-layout.ts';
import { randomFloats, testContext } from './gpu-device.ts';

const CONFIG: NetConfig = { arch: 'johnson', channels: [4, 8, 8], residualBlocks: 1, inputNoise: 4 };

/** A device stand-in with just the limits the check reads. */
const limited = (maxBytes: number): GPUDevice => ({ limits: { maxStorageBufferBindingSize: maxBytes, maxBufferSize: 2 ** 31 } }) as unknown as GPUDevice;

function fits(device: GPUDevice, h: number, w: number): boolean {
  try {
    checkForwardFits(device, CONFIG, { n: 1, h, w });
    return true;
  } catch (error) {
    expect((error as HokusaiError).code).toBe('OUT_OF_MEMORY');
    return false;
  }
}

let ctx: GpuContext | undefined;
beforeAll(async () => {
  ctx = await testContext();
});
afterAll(() => ctx?.dispose());

describe('inference forward memory plan', () => {
  it('grows with the size; a binding limit names the largest --max-size that fits at the aspect ratio', () => {
    const small = TransformerForward.memory(CONFIG, { n: 1, h: 30, w: 40 });
    const big = TransformerForward.memory(CONFIG, { n: 1, h: 300, w: 400 });
    expect(big.totalBytes).toBeGreaterThan(small.totalBytes * 50);
    expect(big.largestBuffer).toBeGreaterThan(small.largestBuffer * 50);
    const device = limited(Math.round((small.largestBuffer + big.largestBuffer) / 2));
    expect(checkForwardFits(device, CONFIG, { n: 1, h: 30, w: 40 })).toEqual(small);
    let caught: unknown;
    try {
      checkForwardFits(device, CONFIG, { n: 1, h: 300, w: 400 });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(HokusaiError);
    expect((caught as HokusaiError).code).toBe('OUT_OF_MEMORY');
    const message = (caught as HokusaiError).message;
    expect(message).toMatch(/^the engine's forward at 400×300 \(.* in all\) needs a .* buffer, but the device binds at most .*; the largest that fits is --max-size \d+$/);
    const edge = Number(/--max-size (\d+)$/.exec(message)?.[1]);
    expect(edge).toBeGreaterThan(40);
    expect(edge).toBeLessThan(400);
    // the named size fits, one pixel more on the long edge does not (same 4:3 rounding as the search)
    expect(fits(device, Math.round((300 * edge) / 400), edge)).toBe(true);
    expect(fits(device, Math.round((300 * (edge + 1)) / 400), edge + 1)).toBe(false);
  });

  it('a device that cannot bind even the smallest plan says none fits; bad sizes stay INVALID_ARGUMENT', () => {
    expect(() => checkForwardFits(limited(64), CONFIG, { n: 1, h: 30, w: 40 })).toThrow(/the largest that fits is none: even 8 px does not fit/);
    expect(() => checkForwardFits(limited(2 ** 30), CONFIG, { n: 1, h: 0, w: 40 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('equals what create allocates on the test device, plus the output-sized staging buffer of the first read', async () => {
    if (!ctx) return;
    const weights: NamedWeights = {};
    johnsonWeightSpecs([4, 8, 8], 1).forEach((s, i) => (weights[s.name] = randomFloats(s.shape.reduce((a, b) => a * b, 1), i, 0.2)));
    const size = { n: 1, h: 13, w: 21 };
    const before = ctx.snapshot();
    const forward = await TransformerForward.create(ctx, { config: CONFIG, weights }, size);
    const allocated = ctx.since(before).bytesAllocated;
    expect(forward.dispatches.length).toBeGreaterThan(10);
    expect(TransformerForward.memory(CONFIG, size).totalBytes).toBe(allocated + 13 * 21 * 3 * 4);
  }, 120_000);
});
