/**
 * End-to-end test of the page's WebGPU path through Hokusai's engine (issue 18 point 5): Debian's Chromium headless
 * with `--enable-unsafe-webgpu` (no GPU here, so it offers its SwiftShader WebGPU adapter) opens the built page with
 * `?backend=webgpu`; the backend line says "webgpu (Hokusai engine)", a fake-camera frame is painted by the engine
 * (`lastFrame().path`) and matches Node's `stylizeTensor` of the same input frame (cpu backend) within mean |Δ| < 1.5
 * grey levels; a lost engine device ends in a message and the page falls back to tfjs on WebGPU.
 * A tiny random-init network and the harness's static server keep it short.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { serializeCheckpoint, stylizeTensor, type NetConfig, type TransformerNet } from '@hokusai/model';
import { initBackend, saveCheckpointDir } from '@hokusai/node';
import { buildDemo, launchChromium, rgbaBase64ToRgb, startStaticServer } from './browser-harness.ts';
import { makeVisibleNet, probeImage, testMeta } from './test-net.ts';
import type { FrameCapture } from '../src/render-loop.ts';

const TINY_NET: NetConfig = { arch: 'johnson', channels: [8, 16, 32], residualBlocks: 2 };

let tmp: string;
let net: TransformerNet;
let server: Awaited<ReturnType<typeof startStaticServer>>;
let browser: Awaited<ReturnType<typeof launchChromium>>;
const pageErrors: string[] = [];

beforeAll(async () => {
  await initBackend('cpu');
  tmp = await mkdtemp(join(tmpdir(), 'hokusai-web-engine-e2e-'));
  const probe = probeImage();
  net = makeVisibleNet(TINY_NET, 11, probe);
  probe.dispose();
  const dir = join(tmp, 'checkpoints', 'tiny');
  await saveCheckpointDir(dir, serializeCheckpoint(net, testMeta('Tiny random net')));
  const dist = await buildDemo(join(tmp, 'dist'));
  server = await startStaticServer(dist, [{ id: 'tiny', name: 'Tiny random net', dir }]);
  browser = await launchChromium({ extraArgs: ['--enable-unsafe-webgpu'] });
  browser.page.on('pageerror', (e) => pageErrors.push(e.message));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  net?.dispose();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function meanAbs(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] ?? 0) - (b[i] ?? 0));
  return sum / a.length;
}

describe('web demo on WebGPU', () => {
  test('frames go through the Hokusai engine and match Node; a lost device falls back to tfjs', async () => {
    const page = browser.page;
    await page.goto(`${server.url}?backend=webgpu`);
    await page.waitForFunction(() => window.__hokusai?.ready === true, null, { timeout: 60_000 });
    expect(await page.evaluate(() => window.__hokusai.backend)).toBe('webgpu');
    expect(await page.getByTestId('backend').textContent()).toBe('webgpu (Hokusai engine)');
    console.log(`web demo engine e2e: ${await page.locator('#backend-note').textContent()}`);

    await page.getByRole('radio', { name: 'Tiny random net' }).check();
    await page.waitForFunction(() => window.__hokusai.style === 'tiny', null, { timeout: 30_000 });
    await page.getByTestId('size').selectOption('192');
    await page.getByRole('button', { name: 'Start camera' }).click();
    await page.waitForFunction(() => window.__hokusai.frames >= 2, null, { timeout: 60_000 });
    const cap: FrameCapture = await page.evaluate(() => window.__hokusai.lastFrame());
    expect(cap.path).toBe('engine');
    expect(cap.styled).toBe(true);
    const input = rgbaBase64ToRgb(cap.input);
    const output = rgbaBase64ToRgb(cap.output);
    const expected = tf.tidy(() => {
      const x = tf.tensor3d(Float32Array.from(input), [cap.height, cap.width, 3]);
      return Uint8Array.from(tf.round(stylizeTensor(net, x, { strength: cap.strength })).dataSync());
    });
    const d = meanAbs(output, expected);
    console.log(`web demo engine e2e: ${cap.width}×${cap.height}, engine in Chromium vs Node stylizeTensor: mean |Δ| ${d.toFixed(4)}`);
    expect(d).toBeLessThan(1.5);
    expect(meanAbs(output, input)).toBeGreaterThan(20); // styled, not the camera frame
    expect(await page.evaluate(() => window.__hokusai.framePath)).toBe('engine');
    expect(await page.getByTestId('messages').textContent()).toBe('');

    // The engine's device goes away: a message, the backend line says tfjs, the camera keeps running.
    expect(await page.evaluate(() => window.__hokusai.loseContext())).toBe(true);
    await expect.poll(() => page.getByTestId('messages').textContent(), { timeout: 10_000 }).toMatch(/lost/);
    console.log(`web demo engine e2e: after the loss: ${await page.getByTestId('messages').textContent()}`);
    expect(await page.getByTestId('messages').textContent()).toMatch(/Hokusai engine was lost .*TensorFlow\.js on webgpu/);
    expect(await page.getByTestId('backend').textContent()).toBe('webgpu (tfjs)');
    expect(await page.evaluate(() => window.__hokusai.framePath)).toBe('tfjs');
    expect(await page.getByTestId('camera-toggle').textContent()).toBe('Stop camera');
    expect(await page.getByTestId('camera-toggle').isEnabled()).toBe(true);
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
