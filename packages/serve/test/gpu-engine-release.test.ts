// The GPU engine of stylize-engines.ts (shared by `hokusai stylize` and the server's workers) gives back its GPU
// memory: release() (the server's idle release) destroys every buffer of its forward, the next image rebuilds it
// with the same picture, and an engine on a shared device (one per server worker) leaves the device alive.
// Forced onto whatever adapter Dawn finds (lavapipe here and in CI).
import { describe, expect, it } from 'vitest';
import { HokusaiError } from '@hokusai/errors';
import type { EngineDevice } from '@hokusai/engine';
import type { NetConfig } from '@hokusai/model';
import { initBackend } from '@hokusai/node';
import { engineDeviceFor, gpuEngine } from '../src/index.ts';
import { imageRangeNet, noisyRgb, pixelDiffs } from './helpers.ts';

const NOISY: NetConfig = { arch: 'johnson', channels: [4, 8, 8], residualBlocks: 1, inputNoise: 12 };

/** The engine's device on any adapter, or null (skipped: no adapter, outside CI). */
async function gpuDevice(): Promise<EngineDevice | null> {
  await initBackend('cpu');
  try {
    return await engineDeviceFor(null, 'gpu', () => {});
  } catch (error) {
    // The house skip policy (node/test/shared-data.ts): under CI a missing adapter is a failure, not a skip.
    const ci = process.env['CI'] === 'true' || process.env['CI'] === '1';
    if (ci || !(error instanceof HokusaiError && error.code === 'BACKEND_UNAVAILABLE')) throw error;
    console.warn(`SKIPPING: ${error.message}`);
    return null;
  }
}

describe('gpuEngine (stylize-engines.ts)', () => {
  it("release() destroys every GPU buffer of the forward; the next image rebuilds it; a shared device outlives dispose()", async () => {
    const dev = await gpuDevice();
    if (dev === null) return;
    let live = 0;
    const create = dev.device.createBuffer.bind(dev.device);
    dev.device.createBuffer = (desc: GPUBufferDescriptor) => {
      const buffer = create(desc);
      const destroy = buffer.destroy.bind(buffer);
      live++;
      buffer.destroy = () => (live--, destroy());
      return buffer;
    };
    const net = imageRangeNet(NOISY, 3);
    const engine = await gpuEngine(dev, net, { ownDevice: false });
    net.dispose();
    const img = noisyRgb(16, 12);
    const first = await engine.stylize(img, { strength: 1, preserveColors: false });
    expect(live).toBeGreaterThan(0);
    engine.release?.();
    expect(live).toBe(0);
    expect(pixelDiffs((await engine.stylize(img, { strength: 1, preserveColors: false })).data, first.data).max).toBe(0);
    engine.dispose();
    expect(live).toBe(0);
    expect(dev.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE })).toBeDefined(); // not destroyed
    dev.device.destroy();
  }, 60_000);
});

