/**
 * Test helper: a Dawn WebGPU device in Node (npm `webgpu`), with the adapter's largest storage/buffer/workgroup
 * limits, shared by the kernel tests of one file. When no adapter can be had at all, `gpuDevice()` resolves to
 * undefined and `NO_GPU_REASON` says why (the tests print it and skip visibly); it never fails silently.
 */
import { GpuContext } from '../src/gpu-context.ts';

interface DawnModule {
  create: (flags: string[]) => GPU;
  globals: Record<string, unknown>;
}

let cached: Promise<GPUDevice | undefined> | undefined;
/**
 * Dawn's instance and adapter must stay reachable while the device lives: when the garbage collector finalises
 * the instance, Dawn aborts the process ('std::system_error: Invalid argument').
 */
const keepAlive: unknown[] = [];
export let NO_GPU_REASON = '';

const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
] as const;

async function acquire(): Promise<GPUDevice | undefined> {
  let dawn: DawnModule;
  try {
    dawn = (await import('webgpu')) as unknown as DawnModule;
  } catch (error) {
    NO_GPU_REASON = `the Dawn binding (npm 'webgpu') failed to load: ${String(error)}`;
    return undefined;
  }
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  keepAlive.push(gpu, adapter);
  if (adapter === null) {
    NO_GPU_REASON = 'Dawn found no Vulkan adapter (install mesa-vulkan-drivers for lavapipe; check vulkaninfo --summary)';
    return undefined;
  }
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ requiredLimits });
  device.addEventListener('uncapturederror', (e) => {
    console.error('WebGPU uncaptured error:', (e as GPUUncapturedErrorEvent).error.message);
  });
  return device;
}

/** The process's test device (created once), or undefined with NO_GPU_REASON set. */
export function gpuDevice(): Promise<GPUDevice | undefined> {
  cached ??= acquire();
  return cached;
}

/** A fresh GpuContext on the test device; undefined (with the reason printed) when there is none. */
export async function testContext(): Promise<GpuContext | undefined> {
  const device = await gpuDevice();
  if (device === undefined) {
    // The house skip policy (node/test/shared-data.ts): under CI a missing adapter is a failure, not a skip.
    const ci = process.env['CI'];
    if (ci === 'true' || ci === '1') throw new Error(`the WebGPU engine tests need an adapter under CI: ${NO_GPU_REASON}`);
    console.warn(`SKIPPING WebGPU kernel tests: ${NO_GPU_REASON}`);
    return undefined;
  }
  return new GpuContext(device);
}

/** Uploads `data` into a new buffer of `ctx` (at least 4 bytes). */
export function bufferFrom(ctx: GpuContext, data: Float32Array, label = 'test input'): GPUBuffer {
  const buf = ctx.createBuffer(Math.max(4, data.byteLength), label);
  if (data.byteLength > 0) ctx.upload(buf, data);
  return buf;
}

/** Runs dispatches, then reads `count` floats of `buffer` (waits for the device's validation errors first). */
export async function runAndRead(ctx: GpuContext, dispatches: readonly import('../src/gpu-context.ts').Dispatch[], buffer: GPUBuffer, count: number): Promise<Float32Array> {
  ctx.device.pushErrorScope('validation');
  ctx.run(dispatches);
  const out = await ctx.read(buffer, count * 4);
  const error = await ctx.device.popErrorScope();
  if (error !== null) throw new Error(`WebGPU validation error: ${error.message}`);
  return out;
}

/** max |a−b| / max |ref|: the relative error the kernel tests bound. */
export function relError(got: Float32Array, ref: Float32Array | number[]): number {
  if (got.length !== ref.length) throw new Error(`length mismatch: got ${got.length}, expected ${ref.length}`);
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < got.length; i++) {
    const r = ref[i] as number;
    const d = Math.abs((got[i] as number) - r);
    if (!(d <= maxDiff)) maxDiff = Number.isNaN(d) ? Infinity : d;
    maxRef = Math.max(maxRef, Math.abs(r));
  }
  return maxDiff / Math.max(maxRef, 1e-30);
}

/** Deterministic pseudo-random floats in [-scale, scale) (mulberry32). */
export function randomFloats(count: number, seed: number, scale = 1): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = (u * 2 - 1) * scale;
  }
  return out;
}
