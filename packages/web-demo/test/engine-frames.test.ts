/**
 * The page's engine frame path (src/engine-frames.ts) without a browser: the choice of path and the backend label,
 * and the frame function itself on Hokusai's engine under Dawn (npm `webgpu`, lavapipe here) against Node's
 * `stylizeTensor` on the cpu backend: same picture, one forward kept while the size repeats, rebuilt for a new size
 * or network, and a lost device reported once.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { stylizeTensor, type NetConfig, type TransformerNet } from '@hokusai/model';
import { TransformerForward } from '@hokusai/engine';
import { backendLabel, chooseFramePath, EngineFrames, engineWanted } from '../src/engine-frames.ts';
import { makeVisibleNet, probeImage } from './test-net.ts';

const TINY_NET: NetConfig = { arch: 'johnson', channels: [8, 16, 32], residualBlocks: 2 };

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** An RGBA frame (alpha 255) from an RGB image tensor. */
function rgbaOf(image: tf.Tensor3D): Uint8ClampedArray {
  const rgb = image.dataSync();
  const out = new Uint8ClampedArray((rgb.length / 3) * 4);
  for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
    out[i] = rgb[j]!;
    out[i + 1] = rgb[j + 1]!;
    out[i + 2] = rgb[j + 2]!;
    out[i + 3] = 255;
  }
  return out;
}

/** RGB of RGBA bytes, for comparing with a [H,W,3] tensor. */
function rgbOf(rgba: Uint8ClampedArray): Float32Array {
  return Float32Array.from({ length: (rgba.length / 4) * 3 }, (_, k) => rgba[Math.floor(k / 3) * 4 + (k % 3)]!);
}

function meanAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

describe('which path paints the frames', () => {
  test('the engine only on WebGPU pages, for Johnson networks, while its device lives', () => {
    expect(engineWanted('webgpu')).toBe(true);
    for (const b of ['webgl', 'wasm', 'cpu'] as const) expect(engineWanted(b)).toBe(false);
    expect(chooseFramePath(null, TINY_NET)).toEqual({ path: 'tfjs', why: null });
    expect(chooseFramePath({ lost: false }, TINY_NET)).toEqual({ path: 'engine', why: null });
    expect(chooseFramePath({ lost: false }, null).path).toBe('engine');
    expect(chooseFramePath({ lost: true }, TINY_NET)).toEqual({ path: 'tfjs', why: "the Hokusai engine's WebGPU device was lost" });
    const engstrom = chooseFramePath({ lost: false }, { arch: 'engstrom' });
    expect(engstrom.path).toBe('tfjs');
    expect(engstrom.why).toMatch(/Johnson networks only, this one is engstrom/);
  });

  test('the backend line names the engine', () => {
    expect(backendLabel('webgpu', 'engine')).toBe('webgpu (Hokusai engine)');
    expect(backendLabel('webgpu', 'tfjs')).toBe('webgpu (tfjs)');
    expect(backendLabel('wasm', 'tfjs')).toBe('wasm');
  });
});

describe('the frame function on the engine under Dawn', () => {
  let engine: EngineFrames | undefined;
  let lostReasons: string[] = [];
  let skip = '';
  let gpuRef: unknown;
  beforeAll(async () => {
    let dawn: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
    try {
      dawn = (await import('webgpu')) as unknown as typeof dawn;
    } catch (error) {
      skip = `the Dawn binding (npm 'webgpu') failed to load: ${String(error)}`;
      return;
    }
    Object.assign(globalThis, dawn.globals);
    gpuRef = dawn.create([]); // kept referenced: Dawn aborts if its instance is collected while the device lives
    const opened = await EngineFrames.open(gpuRef as GPU, (reason) => lostReasons.push(reason));
    if ('reason' in opened) skip = opened.reason;
    else engine = opened;
    if (skip) console.warn(`SKIPPING the engine frame tests: ${skip}`);
  });
  afterAll(() => engine?.dispose());

  test('a frame matches Node stylizeTensor; one forward per size and network', async (ctx) => {
    if (!engine) return ctx.skip();
    console.log(`engine frames: adapter ${engine.adapter}`);
    const probe = probeImage(40, 72);
    const net = makeVisibleNet(TINY_NET, 11, probe);
    const other = makeVisibleNet(TINY_NET, 12, probe);
    const create = vi.spyOn(TransformerForward, 'create');
    try {
      const rgba = rgbaOf(probe);
      const opts = { strength: 0.8, preserveColors: false };
      const got = await engine.stylize(net, rgba, 72, 40, opts);
      // The reference sees the same 8-bit frame as the engine.
      const expected = tf.tidy(() => tf.round(stylizeTensor(net, tf.tensor3d(rgbOf(rgba), [40, 72, 3]), opts)).dataSync());
      const d = meanAbs(rgbOf(got), expected);
      console.log(`engine frames: engine vs Node stylizeTensor, mean |Δ| ${d.toFixed(4)} grey levels`);
      expect(d).toBeLessThan(1.5);
      expect(meanAbs(rgbOf(got), rgbOf(rgba))).toBeGreaterThan(10); // styled, not the frame itself
      await engine.stylize(net, rgba, 72, 40, opts);
      expect(create).toHaveBeenCalledTimes(1); // kept while the size repeats
      const small = rgbaOf(tf.tidy(() => tf.slice(probe, [0, 0, 0], [20, 36, 3]) as tf.Tensor3D));
      await engine.stylize(net, small, 36, 20, opts);
      await engine.stylize(other, small, 36, 20, opts);
      expect(create).toHaveBeenCalledTimes(3); // a new size, a new network
      await expect(engine.stylize(net, small, 36, 21, opts)).rejects.toThrow(/expects 36×21×4 = 3024 RGBA bytes, got 2880/);
    } finally {
      create.mockRestore();
      tf.dispose([probe]);
      net.dispose();
      other.dispose();
    }
  });

  test('a lost device is reported once and the engine steps aside', async (ctx) => {
    if (!engine) return ctx.skip();
    lostReasons = [];
    engine.loseDevice();
    await expect.poll(() => lostReasons.length).toBe(1);
    expect(engine.lost).toBe(true);
    expect(engine.supports({ config: TINY_NET } as TransformerNet)).toBe(false);
    void gpuRef;
  });
});
