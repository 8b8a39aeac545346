// Web demo bench: frames per second of the live camera loop in headless Chromium (Debian's /usr/bin/chromium,
// fake camera, no GPU) at each processing size, with the backend the page got. Random-init networks (HALF_NET by
// default; speed does not depend on the weights' values), the page built with Vite and served on loopback.
// Usage: npx tsx bench/web-fps.ts [--backends auto,wasm,webgl,webgpu] [--nets half,full,tiny] [--sizes 192,256,384,512]
//        [--seconds 5] [--checkpoints dir,dir]   (real checkpoint folders instead of --nets, e.g. a style and its
//        stable-for-video variant: issue 21.4, same architecture so the same fps)
// With webgpu among the backends, Chromium gets --enable-unsafe-webgpu (without a GPU it then offers SwiftShader, a
// software adapter: not representative of GPUs) and the page runs its frames through Hokusai's engine where it
// can (issue 18.5): the backend column is the page's own label, e.g. "webgpu (Hokusai engine)", and `path` says
// which path drew the measured frames (engine or tfjs). `webgpu-tfjs` runs the page with ?backend=webgpu&engine=off
// (tfjs on the same WebGPU adapter, for comparison).
import { list, parseArgs, printTable } from './bench-util.ts';

const args = parseArgs({ backends: 'auto', nets: 'half', sizes: '192,256,384,512', seconds: '5', checkpoints: '' });
const { mkdtemp, rm } = await import('node:fs/promises');
const { tmpdir } = await import('node:os');
const { basename, join, resolve } = await import('node:path');
const tf = await import('@tensorflow/tfjs-core');
const { FULL_NET, HALF_NET, serializeCheckpoint } = await import('@hokusai/model');
// The e2e tests' tiny network: for software adapters, where HALF_NET takes seconds a frame.
const TINY_NET = { arch: 'johnson', channels: [8, 16, 32], residualBlocks: 2 } as const;
const { initBackend, saveCheckpointDir } = await import('@hokusai/node');
const { buildDemo, launchChromium, startStaticServer } = await import('../packages/web-demo/test/browser-harness.ts');
const { makeVisibleNet, probeImage, testMeta } = await import('../packages/web-demo/test/test-net.ts');

await initBackend('cpu');
const seconds = Number(args['seconds']);
const tmp = await mkdtemp(join(tmpdir(), 'hokusai-web-fps-'));
const checkpointDirs = list(args['checkpoints'] as string).filter((d) => d !== '');
const nets = checkpointDirs.length ? checkpointDirs.map((d) => basename(d)) : list(args['nets'] as string);
const styles = checkpointDirs.map((d) => ({ id: basename(d), name: `${basename(d)} net`, dir: resolve(d) }));
if (new Set(nets).size !== nets.length) throw new Error(`--checkpoints: expected folders with different names, got ${nets.join(', ')}`);
for (const id of checkpointDirs.length ? [] : nets) {
  const config = id === 'full' ? FULL_NET : id === 'half' ? HALF_NET : id === 'tiny' ? { ...TINY_NET, channels: [...TINY_NET.channels] as [number, number, number] } : null;
  if (!config) throw new Error(`--nets expects half, full and/or tiny, got ${id}`);
  const probe = probeImage();
  const net = makeVisibleNet(config, 1, probe);
  const dir = join(tmp, 'checkpoints', id);
  await saveCheckpointDir(dir, serializeCheckpoint(net, testMeta(`${id} net`)));
  net.dispose();
  tf.dispose(probe);
  styles.push({ id, name: `${id} net`, dir });
}
const dist = await buildDemo(join(tmp, 'dist'));
const server = await startStaticServer(dist, styles);
const backends = list(args['backends'] as string);
const webgpu = backends.some((b) => b.startsWith('webgpu'));
const browser = await launchChromium(webgpu ? { extraArgs: ['--enable-unsafe-webgpu'] } : {});
const page = browser.page;
page.setDefaultTimeout(120_000);
const rows: string[][] = [];
const userAgent = await page.evaluate(() => navigator.userAgent);
const chromiumBuild = browser.context.browser()?.version() ?? '';

try {
  for (const backend of backends) {
    const query = backend === 'auto' ? '' : backend === 'webgpu-tfjs' ? '?backend=webgpu&engine=off' : `?backend=${backend}`;
    await page.goto(`${server.url}${query}`);
    await page.waitForFunction(() => window.__hokusai?.ready === true || document.getElementById('messages')?.textContent !== '');
    const got = await page.evaluate(() => window.__hokusai.backend);
    if (!got) {
      console.log(`${backend}: ${await page.getByTestId('messages').textContent()}`);
      continue;
    }
    console.log(`requested ${backend}: page runs ${got}; ${await page.locator('#backend-note').textContent()}`);
    if (backend === 'auto' && webgpu) console.log('  (this Chromium has --enable-unsafe-webgpu: auto skips a software WebGPU adapter)');
    await page.getByRole('button', { name: 'Start camera' }).click();
    for (const id of nets) {
      await page.getByRole('radio', { name: `${id} net`, exact: true }).check();
      await page.waitForFunction((s) => window.__hokusai.style === s, id);
      for (const size of list(args['sizes'] as string)) {
        await page.getByTestId('size').selectOption(size);
        // Warm-up: two frames at the new size (shader compilation, allocations).
        const start = await page.evaluate(() => window.__hokusai.frames);
        await page.waitForFunction((n) => window.__hokusai.frames >= n + 2, start);
        const f0 = await page.evaluate(() => window.__hokusai.frames);
        const t0 = performance.now();
        await page.waitForTimeout(seconds * 1000);
        // At least 3 frames per measurement, whatever --seconds says (slow backends).
        await page.waitForFunction((n) => window.__hokusai.frames >= n + 3, f0);
        const f1 = await page.evaluate(() => window.__hokusai.frames);
        const elapsed = (performance.now() - t0) / 1000;
        const fps = (f1 - f0) / elapsed;
        const dims = (await page.locator('#dims').textContent()) ?? '';
        const ms = (await page.locator('#ms').textContent()) ?? '';
        const tensors = await page.evaluate(() => window.__hokusai.numTensors());
        const label = (await page.getByTestId('backend').textContent()) ?? got;
        const path = await page.evaluate(() => window.__hokusai.framePath);
        rows.push([label, path, id, size, dims, fps.toFixed(2), ms.replace(' ms/frame', ''), String(tensors)]);
        console.log(`  ${label} ${id} ${size}: ${fps.toFixed(2)} fps (${f1 - f0} frames in ${elapsed.toFixed(1)} s)`);
      }
    }
    await page.getByRole('button', { name: 'Stop camera' }).click();
  }
} finally {
  await browser.close();
  await server.close();
  await rm(tmp, { recursive: true, force: true });
}
const chromiumVersion = chromiumBuild || (/Chrome\/([\d.]+)/.exec(userAgent)?.[1] ?? userAgent);
const flags = `--disable-gpu${webgpu ? ' --enable-unsafe-webgpu' : ''}`;
console.log(`\nheadless Chromium ${chromiumVersion} (${flags}), fake camera; ${seconds}+ s and 3+ frames per row\n`);
printTable(['backend', 'path', 'net', 'size', 'frame', 'fps', 'ms/frame (page avg)', 'tensors'], rows);
