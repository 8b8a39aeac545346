/**
 * Backend (engine) selection for Node apps: `initBackend('auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu')`.
 * Loads the tfjs backend, registers our kernel fixes for it (./kernels), runs a tiny smoke op and says which
 * backend runs and why. `auto` tries tensorflow (libtensorflow via @tensorflow/tfjs-node-gpu or -node,
 * optional dependencies) → webgpu on a hardware adapter (Dawn) → wasm (XNNPACK) → cpu. A software WebGPU
 * adapter (Mesa lavapipe/llvmpipe, SwiftShader) is skipped by `auto`: measured slower than wasm (docs/backends.md).
 * Dawn is loaded only when WebGPU is asked for, or by `auto` where a GPU device file exists (gpuDeviceFiles):
 * its adapter scan prints lavapipe's limit warnings to stderr from native code, which JavaScript cannot filter.
 * The first call also puts tfjs in production mode (in tfjs 4.22 that only silences tfjs-core's console warnings,
 * such as the cpu backend's "install tfjs-node" banner; our own backend line says what runs); HOKUSAI_DEBUG=1
 * keeps them.
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { HokusaiError } from '@hokusai/errors';
import { registerKernelFixes } from '@hokusai/tfjs-kernels';

export type BackendName = 'auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export type ConcreteBackendName = Exclude<BackendName, 'auto'>;
export interface BackendInfo {
  name: ConcreteBackendName;
  reason: string;
}

export const BACKEND_NAMES: readonly BackendName[] = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

/** What a WebGPU adapter says about itself (GPUAdapterInfo + isFallbackAdapter). */
export interface WebGpuAdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  software: boolean;
}

class BackendUnavailable extends HokusaiError {
  constructor(message: string, cause?: unknown) {
    super('BACKEND_UNAVAILABLE', message, cause === undefined ? undefined : { cause });
  }
}

const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|software|softpipe/i;

const requireHere = createRequire(import.meta.url);

function errorText(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0] ?? String(error) : String(error);
}

/** Dynamic import of a package that may be absent (kept opaque to the type checker and bundlers). */
async function importOptional(specifier: string): Promise<unknown> {
  return import(/* @vite-ignore */ specifier);
}

/** A conv + matMul with a known answer, so that a backend that loads but computes garbage is rejected. */
async function smokeTest(name: string): Promise<void> {
  const t = tf.tidy(() => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    const w = tf.tensor4d([1, 0, 0, -1], [2, 2, 1, 1]);
    const y = tf.conv2d(x, w, 1, 'valid'); // each output = x[i][j] − x[i+1][j+1] = −4
    const m = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([1, 1, 1, 1], [2, 2])); // [[3,3],[7,7]]
    return tf.concat([tf.reshape(y, [-1]), tf.reshape(m, [-1])]);
  });
  const got = Array.from(await t.data(), Number);
  t.dispose();
  const want = [-4, -4, -4, -4, 3, 3, 7, 7];
  if (got.length !== want.length || got.some((v, i) => Math.abs(v - (want[i] as number)) > 1e-4)) {
    throw new BackendUnavailable(
      `${name}: smoke test computed wrong values: expected [${want.join(', ')}], got [${got.join(', ')}]`,
    );
  }
}

async function activate(name: string): Promise<void> {
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
  } catch (error) {
    throw new BackendUnavailable(`${name}: backend failed to initialise: ${errorText(error)}`, error);
  }
  if (!ok) throw new BackendUnavailable(`${name}: backend failed to initialise (tf.setBackend returned false)`);
  await tf.ready();
}

function fixesText(name: string): string {
  const fixes = registerKernelFixes(name);
  return fixes.length === 0 ? '' : `; our kernels: ${fixes.map((f) => f.kernelName).join(', ')}`;
}

async function initTensorflow(): Promise<string> {
  // libtensorflow logs to stderr from C++ (on a machine without CUDA, tfjs-node-gpu's build warns about every CUDA
  // library it cannot open); keep errors only, unless the user set a level or asked for debugging.
  if (process.env.TF_CPP_MIN_LOG_LEVEL === undefined && process.env.HOKUSAI_DEBUG !== '1') process.env.TF_CPP_MIN_LOG_LEVEL = '2';
  const failures: string[] = [];
  let allMissing = true;
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await importOptional(pkg);
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') allMissing = false;
      failures.push(`${pkg}: ${errorText(error)}`);
      continue;
    }
    allMissing = false;
    if (tf.findBackend('tensorflow') === null && tf.findBackendFactory('tensorflow') === null) {
      failures.push(`${pkg}: loaded but registered no 'tensorflow' backend (a second copy of @tensorflow/tfjs-core?)`);
      continue;
    }
    await activate('tensorflow');
    await smokeTest('tensorflow');
    return `tensorflow: libtensorflow via ${pkg}${fixesText('tensorflow')}`;
  }
  const what = allMissing ? 'is installed' : `could be loaded (${failures.join('; ')})`;
  throw new BackendUnavailable(
    `tensorflow: neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node ${what}. ` +
      'Fix: npm install @tensorflow/tfjs-node@4.22.0 (CPU) or @tensorflow/tfjs-node-gpu@4.22.0 (CUDA 11.8 + cuDNN 8), ' +
      'or choose --backend wasm.',
  );
}

interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<AdapterLike | null>;
}
interface AdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
  isFallbackAdapter?: boolean;
}

let dawnGpu: GpuLike | undefined;

/** Installs Dawn's WebGPU (npm `webgpu`) as navigator.gpu, once; must run before tfjs-backend-webgpu loads. */
async function installDawn(): Promise<GpuLike> {
  if (dawnGpu !== undefined) return dawnGpu;
  let dawn: { create: (flags: string[]) => GpuLike; globals: Record<string, unknown> };
  try {
    dawn = (await importOptional('webgpu')) as typeof dawn;
  } catch (error) {
    throw new BackendUnavailable(
      `webgpu: the Dawn binding (npm package 'webgpu') failed to load: ${errorText(error)}. Fix: npm install webgpu@0.6.2`,
      error,
    );
  }
  const g = globalThis as unknown as { navigator?: { gpu?: GpuLike } };
  const existing = g.navigator?.gpu;
  if (existing !== undefined) {
    dawnGpu = existing;
    return existing;
  }
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]);
  if (g.navigator === undefined) {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  } else {
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
  }
  dawnGpu = gpu;
  return gpu;
}

/** Looks for a WebGPU adapter without starting the tfjs backend; throws BACKEND_UNAVAILABLE if there is none. */
export async function probeWebGpu(): Promise<WebGpuAdapterSummary> {
  const gpu = await installDawn();
  let adapter: AdapterLike | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (error) {
    adapter = null;
    void error;
  }
  if (adapter === null) {
    throw new BackendUnavailable(
      'webgpu: Dawn found no Vulkan adapter. Fix: install a Vulkan driver: your GPU vendor\'s, or the software ' +
        'one (Debian bookworm: apt-get install -t bookworm-backports mesa-vulkan-drivers; check with vulkaninfo --summary), ' +
        'or choose --backend wasm.',
    );
  }
  const info = adapter.info ?? {};
  const summary = {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
  };
  const software =
    adapter.isFallbackAdapter === true ||
    SOFTWARE_ADAPTER.test(`${summary.architecture} ${summary.device} ${summary.description} ${summary.vendor}`);
  return { ...summary, software };
}

/**
 * The device files through which a hardware Vulkan driver reaches a GPU on Linux: /dev/dri/renderD* (Mesa's
 * drivers), /dev/nvidia<N> (NVIDIA's), /dev/dxg (WSL 2). None means only a software adapter can exist. Undefined
 * where this cannot be told (other systems): then `auto` asks Dawn.
 */
export function gpuDeviceFiles(platform: string = process.platform, dev = '/dev'): string[] | undefined {
  if (platform !== 'linux') return undefined;
  const list = (dir: string): string[] => {
    try {
      return readdirSync(path.join(dev, dir));
    } catch {
      return [];
    }
  };
  const dri = list('dri').filter((f) => /^renderD\d+$/.test(f)).map((f) => `dri/${f}`);
  const top = list('.').filter((f) => /^nvidia\d+$/.test(f) || f === 'dxg');
  return [...dri, ...top].sort().map((f) => path.join(dev, f));
}

/** The adapter `auto` may use, or why not: without GPU device files Dawn is not even loaded (see the header). */
async function autoWebGpuAdapter(): Promise<WebGpuAdapterSummary | string> {
  const notChosen = "slower than wasm here, not chosen (force it with 'webgpu')";
  if (gpuDeviceFiles()?.length === 0) {
    return `webgpu: no GPU device file (/dev/dri/renderD*, /dev/nvidia*, /dev/dxg), so only a software adapter could run: ${notChosen}`;
  }
  const adapter = await probeWebGpu();
  return adapter.software ? `webgpu: ${describeAdapter(adapter)} is ${notChosen}` : adapter;
}

function describeAdapter(a: WebGpuAdapterSummary): string {
  const what = [a.vendor, a.architecture, a.device, a.description].filter((s) => s !== '').join(' ');
  return `Dawn/Vulkan on ${what || 'an unnamed adapter'}${a.software ? ' (software rasteriser, runs on the CPU)' : ''}`;
}

async function initWebGpu(adapter?: WebGpuAdapterSummary): Promise<string> {
  const found = adapter ?? (await probeWebGpu());
  try {
    await import('@tensorflow/tfjs-backend-webgpu');
  } catch (error) {
    throw new BackendUnavailable(`webgpu: @tensorflow/tfjs-backend-webgpu failed to load: ${errorText(error)}`, error);
  }
  await activate('webgpu');
  await smokeTest('webgpu');
  return `webgpu: ${describeAdapter(found)}${fixesText('webgpu')}`;
}

/** Directory of the tfjs-backend-wasm .wasm binaries, as a file path ending in '/'. */
export function wasmBinaryDir(): string {
  return path.dirname(requireHere.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
}

async function initWasm(): Promise<string> {
  let wasm: { setWasmPaths: (prefix: string) => void };
  try {
    wasm = (await import('@tensorflow/tfjs-backend-wasm')) as unknown as typeof wasm;
  } catch (error) {
    throw new BackendUnavailable(`wasm: @tensorflow/tfjs-backend-wasm failed to load: ${errorText(error)}`, error);
  }
  if (tf.findBackend('wasm') === null) wasm.setWasmPaths(wasmBinaryDir());
  await activate('wasm');
  const fixes = fixesText('wasm');
  await smokeTest('wasm');
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  const threads = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) === true;
  return `wasm: XNNPACK, ${simd ? 'SIMD' : 'no SIMD'}, ${threads ? 'multi-threaded' : 'single thread'}${fixes}`;
}

async function initCpu(): Promise<string> {
  await import('@tensorflow/tfjs-backend-cpu');
  await activate('cpu');
  const fixes = fixesText('cpu');
  await smokeTest('cpu');
  return `cpu: plain JavaScript kernels (slowest)${fixes}`;
}

async function initOne(name: ConcreteBackendName, adapter?: WebGpuAdapterSummary): Promise<string> {
  switch (name) {
    case 'tensorflow':
      return initTensorflow();
    case 'webgpu':
      return initWebGpu(adapter);
    case 'wasm':
      return initWasm();
    case 'cpu':
      return initCpu();
  }
}

let current: { requested: BackendName; info: BackendInfo } | undefined;

/**
 * Selects and initialises the tfjs backend once per process (apps call this at startup; calling it again with
 * the backend already active returns the same answer). Throws HokusaiError 'BACKEND_UNAVAILABLE' when the
 * requested backend (or, for 'auto', every backend) cannot run, saying what failed and how to fix it.
 */
export async function initBackend(name: BackendName = 'auto', log?: (line: string) => void): Promise<BackendInfo> {
  if (!BACKEND_NAMES.includes(name)) {
    throw new HokusaiError('INVALID_ARGUMENT', `backend: expected one of ${BACKEND_NAMES.join(', ')}, got '${String(name)}'`);
  }
  if (process.env.HOKUSAI_DEBUG !== '1') tf.env().set('PROD', true);
  if (current !== undefined && (name === current.requested || name === current.info.name) && tf.getBackend() === current.info.name) {
    return current.info;
  }
  let result: BackendInfo;
  if (name !== 'auto') {
    result = { name, reason: await initOne(name) };
  } else {
    const skipped: string[] = [];
    let chosen: BackendInfo | undefined;
    for (const candidate of ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const) {
      try {
        let adapter: WebGpuAdapterSummary | undefined;
        if (candidate === 'webgpu') {
          const found = await autoWebGpuAdapter();
          if (typeof found === 'string') {
            skipped.push(found);
            continue;
          }
          adapter = found;
        }
        chosen = { name: candidate, reason: await initOne(candidate, adapter) };
        break;
      } catch (error) {
        skipped.push(errorText(error).replace(/\.? Fix: .*$/, ''));
      }
    }
    if (chosen === undefined) {
      throw new BackendUnavailable(`auto: no tfjs backend could be started: ${skipped.join('; ')}`);
    }
    result = skipped.length === 0 ? chosen : { name: chosen.name, reason: `${chosen.reason} [skipped: ${skipped.join('; ')}]` };
  }
  current = { requested: name, info: result };
  log?.(`backend ${result.name}: ${result.reason}`);
  return result;
}
