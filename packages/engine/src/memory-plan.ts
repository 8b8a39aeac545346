/**
 * The engine's buffer plan for a training step, measured before anything is allocated: the step is built on a
 * stand-in device that allocates nothing and only records buffer sizes (the graphs' own allocation code is the
 * plan, so it cannot drift from what `EngineTrainStep` really creates). `checkTrainStepFits` compares the plan with
 * the device's limits (maxBufferSize, maxStorageBufferBindingSize) and, when the caller knows it, a memory budget,
 * and fails with OUT_OF_MEMORY naming the largest square training size that fits at that batch size.
 */
import { HokusaiError } from '@hokusai/errors';
import { checkMemoryPlan, formatBytes, type MemoryPlan } from './device.ts';
import { GpuContext } from './gpu-context.ts';
import { EngineTrainStep, type TrainStepSpec } from './train-step.ts';

/** A GPUDevice that allocates nothing: buffers are sized records, pipelines and bind groups empty objects. */
export function planningDevice(plan: MemoryPlan): GPUDevice {
  const layout = {} as GPUBindGroupLayout;
  const fake = {
    createBuffer: (d: GPUBufferDescriptor) => {
      plan.totalBytes += d.size;
      plan.largestBuffer = Math.max(plan.largestBuffer, d.size);
      return { size: d.size, label: d.label ?? '', destroy: () => undefined } as unknown as GPUBuffer;
    },
    createShaderModule: () => ({}) as GPUShaderModule,
    createComputePipeline: () => ({ getBindGroupLayout: () => layout }) as unknown as GPUComputePipeline,
    createBindGroup: () => ({}) as GPUBindGroup,
    queue: { writeBuffer: () => undefined, submit: () => undefined },
  };
  return fake as unknown as GPUDevice;
}

/** Bytes `new EngineTrainStep(ctx, spec)` allocates (total and largest buffer), without a GPU. */
export function trainStepMemory(spec: TrainStepSpec): MemoryPlan {
  const plan: MemoryPlan = { largestBuffer: 0, totalBytes: 0 };
  const ctx = new GpuContext(planningDevice(plan));
  new EngineTrainStep(ctx, spec);
  return plan;
}

function fits(device: GPUDevice, plan: MemoryPlan, budgetBytes: number | undefined): boolean {
  const maxBinding = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  return plan.largestBuffer <= maxBinding && (budgetBytes === undefined || plan.totalBytes <= budgetBytes);
}

/** The largest side (a multiple of 4, 8 ≤ side < spec.size) whose plan fits, or null (binary search; plans grow with the side). */
function largestFittingSide(device: GPUDevice, spec: TrainStepSpec, budgetBytes: number | undefined): number | null {
  let lo = 2; // in units of 4 px: 8 px
  let hi = Math.floor(spec.size / 4) - 1;
  let best: number | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (fits(device, trainStepMemory({ ...spec, size: mid * 4 }), budgetBytes)) {
      best = mid * 4;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}

/**
 * Throws OUT_OF_MEMORY before any allocation when a training step of `spec` cannot fit `device`: a buffer above
 * what it can bind, or (with `budgetBytes`) more memory in total; the message names the largest --image-size that
 * fits at this batch size (or says none does). Returns the plan when it fits.
 */
export function checkTrainStepFits(device: GPUDevice, spec: TrainStepSpec, opts: { budgetBytes?: number } = {}): MemoryPlan {
  const plan = trainStepMemory(spec);
  if (fits(device, plan, opts.budgetBytes)) return plan;
  const side = largestFittingSide(device, spec, opts.budgetBytes);
  const what = `an engine training step at ${spec.size}×${spec.size}, batch ${spec.n} (${formatBytes(plan.totalBytes)} in all)`;
  const largestFit = side === null ? 'none: even 8×8 does not fit at this batch size' : `--image-size ${side} at batch ${spec.n}`;
  checkMemoryPlan(device, plan, what, { ...(opts.budgetBytes === undefined ? {} : { budgetBytes: opts.budgetBytes }), largestFit });
  throw new HokusaiError('INTERNAL', `checkTrainStepFits: ${what} does not fit, but checkMemoryPlan found no limit exceeded`);
}
