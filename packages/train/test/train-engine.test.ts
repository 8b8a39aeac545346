// Which training runs the WebGPU engine takes over (engine-step.ts): the unsupported options each give their
// reason, --engine auto follows the backend and takes only a hardware adapter, gpu insists, tfjs never; the one
// line says which and why.
import { describe, expect, it } from 'vitest';
import type { EngineDevice } from '@hokusai/engine';
import { chooseEngine, engineSupport, selectEngine, type EngineDeviceRequest } from '../src/engine-step.ts';
import { trainSchema } from '../src/options.ts';

const base = trainSchema.parse({});

/** A stand-in device request: an adapter described as `description`, software or not; counts destroy() calls. */
function fakeRequest(description: string, software: boolean): { request: EngineDeviceRequest; destroyed: () => number } {
  let destroyed = 0;
  const dev = { device: { destroy: () => void destroyed++ }, adapter: { description, software }, gpu: {} } as unknown as EngineDevice;
  return { request: () => Promise.resolve(dev), destroyed: () => destroyed };
}
const noDevice: EngineDeviceRequest = () => Promise.resolve({ reason: 'no WebGPU adapter found' });

describe('engine choice', () => {
  it('supports the default options and names each unsupported one', () => {
    expect(engineSupport(base)).toBeNull();
    expect(engineSupport({ ...base, styleBlur: 1 })).toMatch(/--style-blur 1/);
    expect(engineSupport({ ...base, latticeWeight: 0.5 })).toMatch(/--lattice-weight 0.5/);
    expect(engineSupport({ ...base, pooling: 'avg' })).toMatch(/--pooling avg/);
    expect(engineSupport({ ...base, jitter: 4 })).toMatch(/--jitter 4/);
    expect(engineSupport({ ...base, stabilityWeight: 1 })).toMatch(/--stability-weight 1/);
    expect(engineSupport({ ...base, inputNoise: 2 })).toMatch(/--input-noise 2/);
    expect(engineSupport({ ...base, imageSize: 30 })).toMatch(/multiples of 4/);
  });

  it('auto uses the engine on webgpu only; gpu insists; tfjs never', () => {
    expect(base.engine).toBe('auto');
    expect(chooseEngine('auto', 'webgpu', base).engine).toBe(true);
    expect(chooseEngine('auto', 'wasm', base)).toEqual({ engine: false, reason: expect.stringMatching(/backend wasm/) });
    expect(chooseEngine('auto', 'webgpu', { ...base, styleBlur: 2 })).toEqual({ engine: false, reason: expect.stringMatching(/style-blur/) });
    expect(chooseEngine('gpu', 'wasm', base).engine).toBe(true);
    expect(chooseEngine('tfjs', 'webgpu', base).engine).toBe(false);
  });

  it('auto takes a hardware adapter, leaves a software one (destroying its device) and falls back without one', async () => {
    const hw = fakeRequest('nvidia hopper nvidia-h200', false);
    const got = await selectEngine('auto', 'webgpu', base, hw.request);
    expect(got.device).not.toBeNull();
    expect(got.line).toMatch(/^engine: gpu \(a hardware adapter .*nvidia-h200/);
    const sw = fakeRequest('mesa llvmpipe', true);
    const soft = await selectEngine('auto', 'webgpu', base, sw.request);
    expect(soft).toEqual({ device: null, line: expect.stringMatching(/^engine: tfjs \(mesa llvmpipe is a software adapter.*--engine gpu forces it\)$/) });
    expect(sw.destroyed()).toBe(1);
    expect((await selectEngine('auto', 'webgpu', base, noDevice)).line).toBe('engine: tfjs (no usable WebGPU device for the engine: no WebGPU adapter found)');
    expect((await selectEngine('auto', 'wasm', base, hw.request)).line).toMatch(/^engine: tfjs \(backend wasm/);
    expect((await selectEngine('tfjs', 'webgpu', base, hw.request)).line).toBe('engine: tfjs (--engine tfjs)');
  });

  it('gpu takes a software adapter, and refuses an unsupported option, another backend or no device', async () => {
    const sw = fakeRequest('mesa llvmpipe', true);
    const got = await selectEngine('gpu', 'webgpu', base, sw.request);
    expect(got.device).not.toBeNull();
    expect(got.line).toMatch(/^engine: gpu \(--engine gpu, on mesa llvmpipe: a software adapter/);
    await expect(selectEngine('gpu', 'webgpu', { ...base, jitter: 2 }, sw.request)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/--engine gpu: --jitter 2/) });
    await expect(selectEngine('gpu', 'cpu', base, sw.request)).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE', message: expect.stringMatching(/expected --backend webgpu/) });
    await expect(selectEngine('gpu', 'webgpu', base, noDevice)).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE', message: expect.stringMatching(/no WebGPU adapter found/) });
  });
});
