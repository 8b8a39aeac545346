// Which training runs the WebGPU engine takes over (engine-step.ts): the unsupported options each give their
// reason, --engine auto follows the backend, tfjs never uses the engine.
import { describe, expect, it } from 'vitest';
import { chooseEngine, engineSupport } from '../src/engine-step.ts';
import { trainSchema } from '../src/options.ts';

const base = trainSchema.parse({});

describe('engine choice', () => {
  it('supports the default options and names each unsupported one', () => {
    expect(engineSupport(base)).toBeNull();
    expect(engineSupport({ ...base, styleBlur: 1 })).toMatch(/--style-blur 1/);
    expect(engineSupport({ ...base, latticeWeight: 0.5 })).toMatch(/--lattice-weight 0.5/);
    expect(engineSupport({ ...base, pooling: 'avg' })).toMatch(/--pooling avg/);
    expect(engineSupport({ ...base, jitter: 4 })).toMatch(/--jitter 4/);
    expect(engineSupport({ ...base, imageSize: 30 })).toMatch(/multiples of 4/);
  });

  it('auto uses the engine on webgpu only; gpu insists; tfjs never', () => {
    expect(chooseEngine('auto', 'webgpu', base).engine).toBe(true);
    expect(chooseEngine('auto', 'wasm', base)).toEqual({ engine: false, reason: expect.stringMatching(/backend wasm/) });
    expect(chooseEngine('auto', 'webgpu', { ...base, styleBlur: 2 })).toEqual({ engine: false, reason: expect.stringMatching(/style-blur/) });
    expect(chooseEngine('gpu', 'wasm', base).engine).toBe(true);
    expect(chooseEngine('tfjs', 'webgpu', base).engine).toBe(false);
  });
});
