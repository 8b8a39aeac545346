/**
 * Backend choice for the page: WebGPU where `navigator.gpu` gives a hardware adapter, else WebGL on a hardware
 * renderer, else WebAssembly (else the plain-JS CPU backend, so the page never ends up with nothing). Software
 * WebGPU adapters and software WebGL (SwiftShader, llvmpipe/lavapipe) are skipped by the automatic choice, as
 * packages/node/src/backend.ts does in Node: they are many times slower than wasm (a first frame took 74.6 s on
 * SwiftShader WebGPU). The page shows what was skipped and why. `?backend=` forces one.
 * Each backend is imported lazily so a page that gets WebGL never downloads the WebGPU kernels, and the wasm
 * binaries are emitted by Vite as build assets (their URLs handed to `setWasmPaths`). Once a backend runs, our kernel
 * fixes for it (@hokusai/tfjs-kernels) replace the slow built-ins, as `initBackend` does in Node.
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerKernelFixes } from '@hokusai/tfjs-kernels';

export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type PageBackend = (typeof BACKENDS)[number];

export interface BackendChoice {
  name: PageBackend;
  /** One line per backend tried, e.g. "webgpu: navigator.gpu is absent". */
  tried: string[];
}

export function parseBackendParam(value: string | null): PageBackend | null {
  if (value === null || value === '' || value === 'auto') return null;
  if ((BACKENDS as readonly string[]).includes(value)) return value as PageBackend;
  throw new Error(`?backend= expects one of auto, ${BACKENDS.join(', ')}; got "${value}"`);
}

async function register(name: PageBackend): Promise<void> {
  switch (name) {
    case 'webgpu':
      await import('@tensorflow/tfjs-backend-webgpu');
      return;
    case 'webgl':
      await import('@tensorflow/tfjs-backend-webgl');
      return;
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const [plain, simd, threaded] = await Promise.all([
        import('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url'),
        import('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url'),
        import('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url'),
      ]);
      wasm.setWasmPaths({
        'tfjs-backend-wasm.wasm': plain.default,
        'tfjs-backend-wasm-simd.wasm': simd.default,
        'tfjs-backend-wasm-threaded-simd.wasm': threaded.default,
      });
      return;
    }
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      return;
  }
}

const SOFTWARE_RENDERER = /swiftshader|llvmpipe|lavapipe|softpipe|software|basic render/i;

/** What a WebGPU adapter may say about itself (`GPUAdapter.info`, older Chromium: `requestAdapterInfo()`). */
export interface WebGpuAdapterLike {
  isFallbackAdapter?: boolean;
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  requestAdapterInfo?: () => Promise<WebGpuAdapterLike['info']>;
}

/** The software renderer's name (e.g. "swiftshader") when the adapter is one, "fallback adapter" when the browser flags it so, else null. */
export async function softwareWebGpuAdapter(adapter: WebGpuAdapterLike): Promise<string | null> {
  const info = adapter.info ?? (await adapter.requestAdapterInfo?.().catch(() => undefined));
  const text = [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(' ');
  const software = SOFTWARE_RENDERER.exec(text);
  if (software) return software[0].toLowerCase();
  return adapter.isFallbackAdapter || info?.isFallbackAdapter ? 'fallback adapter' : null;
}

/** The software rasteriser's name (SwiftShader, llvmpipe…) when WebGL runs on one, else null. */
export function softwareWebGlRenderer(): string | null {
  try {
    const gl = document.createElement('canvas').getContext('webgl2') ?? document.createElement('canvas').getContext('webgl');
    if (!gl) return null;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    const software = SOFTWARE_RENDERER.exec(renderer);
    return software ? software[0] : null;
  } catch {
    return null;
  }
}

async function tryBackend(name: PageBackend, auto: boolean): Promise<string | null> {
  if (name === 'webgpu') {
    const gpu = (navigator as { gpu?: { requestAdapter(): Promise<WebGpuAdapterLike | null> } }).gpu;
    if (!gpu) return 'navigator.gpu is absent';
    // Ask first: tfjs would log a stack trace for the same answer.
    const adapter = await gpu.requestAdapter().catch(() => null);
    if (!adapter) return 'no WebGPU adapter';
    const software = auto ? await softwareWebGpuAdapter(adapter) : null;
    if (software) return `software WebGPU adapter (${software}) is slower than wasm; ?backend=webgpu forces it`;
  }
  if (name === 'webgl' && auto) {
    // WebGL on a software rasteriser is many times slower than wasm (bench/web-fps.ts): only when asked for.
    const software = softwareWebGlRenderer();
    if (software) return `software WebGL (${software}) is slower than wasm; ?backend=webgl forces it`;
  }
  try {
    await register(name);
    const ok = await tf.setBackend(name);
    if (!ok) return 'failed to initialise';
    await tf.ready();
    // Our kernels for wasm and cpu, as in Node: on wasm, Tile (the network's nearest upsampling) and Mean/Sum
    // (instance norm) are many times faster than the built-ins (docs/backends.md).
    registerKernelFixes(name);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Picks and activates a backend; throws with every reason when none works. */
export async function chooseBackend(forced: PageBackend | null): Promise<BackendChoice> {
  const order: readonly PageBackend[] = forced ? [forced] : BACKENDS;
  const tried: string[] = [];
  for (const name of order) {
    const failure = await tryBackend(name, forced === null);
    if (failure === null) return { name, tried };
    tried.push(`${name}: ${failure}`);
  }
  throw new Error(`No TensorFlow.js backend could start (${tried.join('; ')})`);
}

/**
 * Calls `onLost` when the GPU context behind the active backend goes away (WebGL context lost, WebGPU device lost).
 * Returns a function that stops listening.
 */
export function watchContextLoss(onLost: (what: string) => void): () => void {
  const backend = tf.backend() as unknown as {
    gpgpu?: { gl?: WebGLRenderingContext };
    device?: { lost?: Promise<{ message?: string }> };
  };
  const canvas = backend.gpgpu?.gl?.canvas;
  if (canvas && 'addEventListener' in canvas) {
    const handler = (event: Event): void => {
      event.preventDefault();
      onLost('the WebGL context was lost');
    };
    canvas.addEventListener('webglcontextlost', handler);
    return () => canvas.removeEventListener('webglcontextlost', handler);
  }
  let active = true;
  void backend.device?.lost?.then((info) => {
    if (active) onLost(`the WebGPU device was lost${info.message ? ` (${info.message})` : ''}`);
  });
  return () => {
    active = false;
  };
}
