/**
 * End-to-end test of the web demo in a real browser: Debian's Chromium (headless, fake camera, no GPU) driven by
 * playwright-core against the built page served with a tiny random-init checkpoint. Checks that the live loop
 * produces frames, that they are styled (differ from the camera frame) exactly like Node's `stylizeTensor` of
 * the same frame (within a tolerance), that the tensor count is stable, and that failures (model that does not
 * load, camera denied, lost WebGL context) end as readable messages. Issue 19 point 7: the fps readout counts
 * styled frames only, a network's first frame shows progress over the stage, stopping the camera clears the
 * stage and readout, and the automatic choice skips a software WebGPU adapter (Chromium's SwiftShader, offered
 * with --enable-unsafe-webgpu) with a visible note. Issue 21 point 4: a style with a stable-for-video variant
 * (`<id>-stable`, trained with a stability loss) is listed once, and the camera uses the variant, stills the regular
 * network. Screenshots go to test-artifacts/.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { serializeCheckpoint, stylizeTensor, type NetConfig, type TransformerNet } from '@hokusai/model';
import { encodeImage, initBackend, saveCheckpointDir } from '@hokusai/node';
import { startServer, type RunningServer } from '@hokusai/serve';
import type { Page } from 'playwright-core';
import { REPO_ROOT, buildDemo, launchChromium, rgbaBase64ToRgb } from './browser-harness.ts';
import { makeVisibleNet, probeImage, testMeta } from './test-net.ts';
import type { FrameCapture } from '../src/render-loop.ts';

// Smaller than HALF_NET ([16,32,64], 5 blocks) so that SwiftShader/wasm and Node's cpu backend stay quick.
const TINY_NET: NetConfig = { arch: 'johnson', channels: [8, 16, 32], residualBlocks: 2 };
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');

let tmp: string;
let net: TransformerNet;
let stableOther: TransformerNet;
let server: RunningServer;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let page: Page;
const pageErrors: string[] = [];

async function openPage(p: Page, query = ''): Promise<void> {
  await p.goto(`${server.url}/${query}`);
  await p.waitForFunction(() => window.__hokusai?.ready === true, null, { timeout: 60_000 });
}

function diffStats(a: Uint8Array, b: Uint8Array): { mean: number; max: number; over: number } {
  let sum = 0;
  let max = 0;
  let over = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] ?? 0) - (b[i] ?? 0));
    sum += d;
    if (d > max) max = d;
    if (d > 4) over++;
  }
  return { mean: sum / a.length, max, over: over / a.length };
}

/** The captured camera frame's output against Node's `stylizeTensor` of the same input with `reference`. */
function compareWithNode(cap: FrameCapture, reference: TransformerNet): { diff: ReturnType<typeof diffStats>; nodeOut: Uint8Array } {
  const input = rgbaBase64ToRgb(cap.input);
  const expected = tf.tidy(() => {
    const x = tf.tensor3d(Float32Array.from(input), [cap.height, cap.width, 3]);
    return tf.round(stylizeTensor(reference, x, { strength: 1 })).dataSync();
  });
  const nodeOut = Uint8Array.from(expected);
  return { diff: diffStats(rgbaBase64ToRgb(cap.output), nodeOut), nodeOut };
}

beforeAll(async () => {
  await initBackend('cpu');
  tmp = await mkdtemp(join(tmpdir(), 'hokusai-web-e2e-'));
  const probe = probeImage();
  net = makeVisibleNet(TINY_NET, 11, probe);
  // Thumbnail: the network's own output on the probe image.
  const thumb = tf.tidy(() => tf.round(stylizeTensor(net, probe)));
  const thumbPng = await encodeImage({ data: Uint8Array.from(await thumb.data()), width: 96, height: 64 }, 'png');
  tf.dispose([thumb, probe]);
  const checkpoints = join(tmp, 'checkpoints');
  await saveCheckpointDir(join(checkpoints, 'tiny'), serializeCheckpoint(net, testMeta('Tiny random net')), { 'thumbnail.png': thumbPng });
  const probe2 = probeImage();
  const second = makeVisibleNet(TINY_NET, 12, probe2);
  probe2.dispose();
  // The second style is stored as float16: the page loads whatever model.json describes.
  await saveCheckpointDir(join(checkpoints, 'other'), serializeCheckpoint(second, testMeta('Other random net'), { float16: true }));
  second.dispose();
  // …and has a stable-for-video variant (another net, whose meta.json says it was trained with a stability loss).
  const probe3 = probeImage();
  stableOther = makeVisibleNet(TINY_NET, 13, probe3);
  probe3.dispose();
  const stableMeta = { ...testMeta('Other random net'), training: { stabilityWeight: 100, stabilityNoise: 4, stabilityShift: 4 } };
  await saveCheckpointDir(join(checkpoints, 'other-stable'), serializeCheckpoint(stableOther, stableMeta));

  const dist = await buildDemo(join(tmp, 'dist'));
  // The real `hokusai serve`, in-process on loopback, serving the build at / and the checkpoints at /models/.
  server = await startServer(
    { port: 0, host: '127.0.0.1', checkpoints, demoDir: dist, engine: 'tfjs', backend: 'cpu', workers: 1, warmupSize: 8, pollMs: 0 },
    { log: () => undefined },
  );
  await server.ready;
  browser = await launchChromium();
  page = browser.page;
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await mkdir(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.shutdown();
  net?.dispose();
  stableOther?.dispose();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('web demo in headless Chromium', () => {
  test('styles the fake camera live, like Node does, with a stable tensor count', async () => {
    await openPage(page);
    const backend = await page.evaluate(() => window.__hokusai.backend);
    console.log(`web demo e2e: page backend = ${backend}`);
    expect(['webgpu', 'webgl', 'wasm', 'cpu']).toContain(backend);
    await expect.poll(() => page.getByTestId('backend').textContent()).toBe(backend);

    // The picker lists the served styles, a stable-for-video variant folded into its style; choosing one (keyboard:
    // focus + Space) loads it.
    await expect.poll(() => page.getByRole('radio').count()).toBe(2);
    expect(await page.locator('.style-option', { hasText: 'Other random net' }).locator('.video-tag').textContent()).toBe('stable for video');
    expect(await page.locator('.style-option', { hasText: 'Tiny random net' }).locator('.video-tag').count()).toBe(0);
    const radio = page.getByRole('radio', { name: 'Tiny random net' });
    await radio.focus();
    await page.keyboard.press('Space');
    await page.waitForFunction(() => window.__hokusai.style === 'tiny', null, { timeout: 30_000 });

    await page.getByRole('button', { name: 'Start camera' }).click();
    await page.waitForFunction(() => window.__hokusai.frames >= 5, null, { timeout: 60_000 });
    const tensors0 = await page.evaluate(() => window.__hokusai.numTensors());
    const frames0 = await page.evaluate(() => window.__hokusai.frames);
    await page.waitForTimeout(3000);
    const tensors1 = await page.evaluate(() => window.__hokusai.numTensors());
    const frames1 = await page.evaluate(() => window.__hokusai.frames);
    console.log(`web demo e2e: ${frames1 - frames0} frames in 3 s, tensors ${tensors0} → ${tensors1}`);
    expect(frames1).toBeGreaterThan(frames0);
    expect(tensors1).toBe(tensors0);
    expect(await page.getByTestId('messages').textContent()).toBe('');

    const cap: FrameCapture = await page.evaluate(() => window.__hokusai.lastFrame());
    expect(cap.styled).toBe(true);
    expect(cap.strength).toBe(1);
    expect(Math.max(cap.width, cap.height)).toBe(256);
    const input = rgbaBase64ToRgb(cap.input);
    const output = rgbaBase64ToRgb(cap.output);
    expect(input.length).toBe(cap.width * cap.height * 3);
    expect(output.length).toBe(input.length);

    // Styled: far from the camera frame.
    expect(diffStats(output, input).mean).toBeGreaterThan(20);
    // Same as Node's stylisation of the same input frame (cpu backend, float32).
    const { diff: d, nodeOut } = compareWithNode(cap, net);
    console.log(`web demo e2e: browser vs Node: mean |Δ| ${d.mean.toFixed(3)}, max ${d.max}, >4 levels ${(d.over * 100).toFixed(3)}%`);
    expect(d.mean).toBeLessThan(1);
    expect(d.over).toBeLessThan(0.01);
    // …and not merely "everything is grey": the styled frame has structure.
    const spread = Math.max(...nodeOut) - Math.min(...nodeOut);
    expect(spread).toBeGreaterThan(100);

    await page.screenshot({ path: join(ARTIFACTS, 'web-demo-e2e.png'), fullPage: true });
    await writeFile(join(ARTIFACTS, 'web-demo-e2e.json'), JSON.stringify({ backend, frames: frames1, diff: d }, null, 2));

    // Snapshot: a PNG download of the output canvas.
    const [snap] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Snapshot (PNG)' }).click()]);
    expect(snap.suggestedFilename()).toMatch(/^hokusai-tiny-\d+\.png$/);
    const snapBytes = await readFile((await snap.path()) as string);
    expect([...snapBytes.subarray(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG');

    // Strength 0 shows the camera frame itself.
    await page.getByTestId('strength').fill('0');
    const plain: FrameCapture = await page.evaluate(() => window.__hokusai.lastFrame());
    expect(diffStats(rgbaBase64ToRgb(plain.output), rgbaBase64ToRgb(plain.input)).max).toBeLessThanOrEqual(1);
    await page.getByTestId('strength').fill('100');

    // Switching style while running: the next frames use the other style, through its stable-for-video variant.
    await page.getByRole('radio', { name: 'Other random net' }).check();
    await page.waitForFunction(() => window.__hokusai.style === 'other', null, { timeout: 30_000 });
    expect(await page.evaluate(() => window.__hokusai.network)).toBe('other-stable');
    expect(await page.locator('#status').textContent()).toBe('Style: Other random net (stable for video)');
    const other: FrameCapture = await page.evaluate(() => window.__hokusai.lastFrame());
    expect(diffStats(rgbaBase64ToRgb(other.output), rgbaBase64ToRgb(other.input)).mean).toBeGreaterThan(20);
    const viaStable = compareWithNode(other, stableOther).diff;
    console.log(`web demo e2e: other-stable in the browser vs Node: mean |Δ| ${viaStable.mean.toFixed(3)}`);
    expect(viaStable.mean).toBeLessThan(1);
    expect(pageErrors).toEqual([]);
    await page.getByRole('button', { name: 'Stop camera' }).click();
    expect(await page.locator('#status').textContent()).toBe('Style: Other random net');
  });

  test('counts styled frames only, shows a first frame in progress, and clears the stage when the camera stops', async () => {
    await openPage(page);
    // Camera first, no style yet: frames are drawn (the camera itself) but the readout does not count them.
    await page.getByRole('button', { name: 'Start camera' }).click();
    await page.waitForFunction(() => window.__hokusai.frames >= 5, null, { timeout: 60_000 });
    expect(await page.getByTestId('fps').textContent()).toBe('– fps');
    expect(await page.locator('#ms').textContent()).toBe('– ms/frame');
    expect(await page.getByTestId('stage-note').isHidden()).toBe(true); // "Starting the camera…" went with the first frame

    // A style: its first frame is announced over the stage, then the readout shows styled frames per second.
    await page.getByRole('radio', { name: 'Tiny random net' }).check();
    await page.waitForFunction(() => window.__hokusai.stageNotes.some((n) => n.startsWith('Preparing “Tiny random net”')), null, { timeout: 60_000 });
    await expect.poll(() => page.getByTestId('fps').textContent(), { timeout: 60_000 }).toMatch(/^\d+\.\d fps$/);
    expect(await page.getByTestId('stage-note').isHidden()).toBe(true);
    const notes = await page.evaluate(() => window.__hokusai.stageNotes);
    console.log(`web demo e2e: stage notes ${JSON.stringify(notes)}; readout ${await page.getByTestId('fps').textContent()}`);

    // Stop: no last frame left on the stage, no stale rate.
    await page.getByRole('button', { name: 'Stop camera' }).click();
    await expect.poll(() => page.getByTestId('fps').textContent()).toBe('– fps');
    expect(await page.locator('#ms').textContent()).toBe('– ms/frame');
    expect(await page.getByTestId('output').isHidden()).toBe(true);
    expect(await page.evaluate(() => (document.getElementById('output') as HTMLCanvasElement).width)).toBe(0);
    expect(await page.getByText('Camera off: press “Start camera”.').isVisible()).toBe(true);
    expect(pageErrors).toEqual([]);
  });

  test('skips a software WebGPU adapter with a visible note and runs on wasm', async () => {
    const gpu = await launchChromium({ extraArgs: ['--enable-unsafe-webgpu'] });
    try {
      await openPage(gpu.page);
      // This browser does offer a WebGPU adapter, a software one (no GPU here, --disable-gpu).
      const adapter = await gpu.page.evaluate(async () => {
        const a = (await (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string } } | null> } }).gpu?.requestAdapter()) ?? null;
        return a ? `${a.info?.vendor ?? ''} ${a.info?.architecture ?? ''}` : null;
      });
      console.log(`web demo e2e: WebGPU adapter offered: ${adapter}`);
      expect(adapter).not.toBe(null);
      expect(await gpu.page.evaluate(() => window.__hokusai.backend)).toBe('wasm');
      const note = gpu.page.locator('#backend-note');
      expect(await note.isVisible()).toBe(true);
      expect(await note.textContent()).toMatch(/webgpu: software WebGPU adapter \(swiftshader\) is slower than wasm/);
    } finally {
      await gpu.close();
    }
  });

  test('styles a chosen image file at full size and offers a PNG download', async () => {
    await openPage(page);
    await page.getByRole('radio', { name: 'Tiny random net' }).check();
    await page.waitForFunction(() => window.__hokusai.style === 'tiny', null, { timeout: 30_000 });
    await page.getByTestId('file').setInputFiles(join(REPO_ROOT, 'examples', 'photos', 'coffee.jpg'));
    const link = page.getByRole('link', { name: 'Download PNG' });
    await link.waitFor({ state: 'visible', timeout: 60_000 });
    const size = await page.evaluate(() => {
      const c = document.getElementById('still-output') as HTMLCanvasElement;
      return [c.width, c.height];
    });
    expect(size).toEqual([600, 400]); // the photo's own size
    const download = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(download[0].suggestedFilename()).toMatch(/^coffee-tiny\.png$/);
    expect(await page.getByTestId('messages').textContent()).toBe('');

    // A style with a stable-for-video variant paints stills with its regular network.
    await page.getByRole('radio', { name: 'Other random net' }).check();
    await page.waitForFunction(() => window.__hokusai.network === 'other', null, { timeout: 30_000 });
    // (another photo: choosing the same file again fires no change event)
    await page.getByTestId('file').setInputFiles(join(REPO_ROOT, 'examples', 'photos', 'chelsea.jpg'));
    await expect.poll(() => page.getByRole('link', { name: 'Download PNG' }).getAttribute('download'), { timeout: 60_000 }).toBe('chelsea-other.png');
    expect(await page.evaluate(() => window.__hokusai.network)).toBe('other');
  });

  test('model files come from the Cache API on a reload; a model that fails to load is a readable message', async () => {
    const ctx = browser.context;
    const again = await ctx.newPage();
    let weightFetches = 0;
    again.on('request', (r) => {
      if (r.url().endsWith('/models/tiny/weights.bin')) weightFetches++;
    });
    await openPage(again);
    await again.getByRole('radio', { name: 'Tiny random net' }).check();
    await again.waitForFunction(() => window.__hokusai.style === 'tiny', null, { timeout: 30_000 });
    expect(weightFetches).toBe(0);

    await again.route('**/models/other/model.json', (route) => route.fulfill({ status: 500, body: 'boom' }));
    await again.getByRole('radio', { name: 'Other random net' }).check();
    await expect.poll(() => again.getByTestId('messages').textContent(), { timeout: 20_000 }).toMatch(/could not be loaded.*500/);
    expect(await again.evaluate(() => window.__hokusai.style)).toBe(null);
    await again.close();
  });

  test('camera denied, lost WebGL context, phone viewport: readable messages, never a blank page', async () => {
    const ctx = browser.context;
    const denied = await ctx.newPage();
    await denied.addInitScript(() => {
      navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
    });
    await openPage(denied);
    await denied.getByRole('button', { name: 'Start camera' }).click();
    await expect.poll(() => denied.getByTestId('messages').textContent()).toMatch(/Camera access was denied/);
    await denied.close();

    // Phone-sized viewport: nothing overflows sideways.
    await page.setViewportSize({ width: 360, height: 740 });
    await openPage(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(ARTIFACTS, 'web-demo-phone.png'), fullPage: true });

    // WebGL forced (headless Chromium has SwiftShader), then its context lost.
    await openPage(page, '?backend=webgl');
    expect(await page.evaluate(() => window.__hokusai.backend)).toBe('webgl');
    expect(await page.evaluate(() => window.__hokusai.loseContext())).toBe(true);
    await expect.poll(() => page.getByTestId('messages').textContent()).toMatch(/WebGL context was lost/);
    expect(await page.getByRole('button', { name: 'Start camera' }).isDisabled()).toBe(true);
  });
});
