/**
 * Choosing and validating the engine's WebGPU adapter and device: the limits the engine's kernels need, software
 * adapter detection (lavapipe, SwiftShader: correct but CPU-speed), a one-line reason whenever the engine cannot be
 * used (so a caller falls back to tfjs and says why), and the memory check that makes a size that does not fit fail
 * before any work with OUT_OF_MEMORY. Takes the `GPU` object from the caller (`navigator.gpu` in a browser, the
 * npm `webgpu` package's `create([])` under Node): no Node imports here.
 */
import { HokusaiError } from '@hokusai/errors';

/** Limits below WebGPU's defaults that the kernels rely on; an adapter under any of them cannot run the engine. */
export const ENGINE_MIN_LIMITS = {
  maxStorageBuffersPerShaderStage: 8,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeWorkgroupsPerDimension: 65535,
} as const;

/** Limits the engine asks for at the adapter's maximum (big buffers, more bindings). */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
] as const;

const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|software|softpipe/i;

export interface EngineAdapterInfo {
  description: string;
  /** A software rasteriser (runs on the CPU): correct, but no faster than the CPU backends. */
  software: boolean;
}

export interface EngineDevice {
  device: GPUDevice;
  adapter: EngineAdapterInfo;
  /** The GPU object the device came from, kept referenced: Dawn's Node binding aborts if its instance is collected. */
  gpu: GPU;
}

/** Readable name of an adapter and whether it is a software one. */
export function describeEngineAdapter(adapter: GPUAdapter): EngineAdapterInfo {
  const info = adapter.info as Partial<GPUAdapterInfo> | undefined;
  const parts = [info?.vendor, info?.architecture, info?.device, info?.description].filter((s): s is string => !!s);
  const text = parts.join(' ');
  const fallback = (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return { description: text || 'an unnamed adapter', software: fallback || SOFTWARE_ADAPTER.test(text) };
}

/** Why `limits` cannot run the engine, or null when they can. */
export function limitsShortfall(limits: GPUSupportedLimits): string | null {
  for (const [name, min] of Object.entries(ENGINE_MIN_LIMITS)) {
    const have = (limits as unknown as Record<string, number>)[name] ?? 0;
    if (have < min) return `the adapter's ${name} is ${have}, the engine needs at least ${min}`;
  }
  return null;
}

/**
 * The engine's device on the best adapter of `gpu`, or the reason there is none usable (no adapter, a limit too
 * low, device creation failed). Never throws for an unusable adapter: the caller decides to fall back.
 */
export async function requestEngineDevice(gpu: GPU | undefined): Promise<EngineDevice | { reason: string }> {
  if (gpu === undefined) return { reason: 'no WebGPU (navigator.gpu is undefined)' };
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (error) {
    return { reason: `requestAdapter failed: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (adapter === null) return { reason: 'no WebGPU adapter found' };
  const shortfall = limitsShortfall(adapter.limits);
  if (shortfall !== null) return { reason: shortfall };
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
  try {
    const device = await adapter.requestDevice({ requiredLimits });
    return { device, adapter: describeEngineAdapter(adapter), gpu };
  } catch (error) {
    return { reason: `requestDevice failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** What a graph will allocate: the largest single buffer and the total, in bytes. */
export interface MemoryPlan {
  largestBuffer: number;
  totalBytes: number;
}

export function formatBytes(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * Throws OUT_OF_MEMORY (before anything is allocated) when a plan cannot fit the device: a buffer larger than it
 * can bind, or more in total than `budgetBytes` (when the caller knows the memory size). `what` names the work and
 * `largestFit` may say what would fit.
 */
export function checkMemoryPlan(
  device: GPUDevice,
  plan: MemoryPlan,
  what: string,
  opts: { budgetBytes?: number; largestFit?: string } = {},
): void {
  const maxBinding = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const hint = opts.largestFit !== undefined ? `; the largest that fits is ${opts.largestFit}` : '';
  if (plan.largestBuffer > maxBinding) {
    throw new HokusaiError(
      'OUT_OF_MEMORY',
      `${what} needs a ${formatBytes(plan.largestBuffer)} buffer, but the device binds at most ${formatBytes(maxBinding)}${hint}`,
      { details: { ...plan, maxBinding } },
    );
  }
  if (opts.budgetBytes !== undefined && plan.totalBytes > opts.budgetBytes) {
    throw new HokusaiError(
      'OUT_OF_MEMORY',
      `${what} needs ${formatBytes(plan.totalBytes)} of GPU memory, more than the ${formatBytes(opts.budgetBytes)} available${hint}`,
      { details: { ...plan, budgetBytes: opts.budgetBytes } },
    );
  }
}
