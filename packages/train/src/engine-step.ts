/**
 * Which `hokusai train` runs the WebGPU engine (@hokusai/engine's EngineTrainStep: Johnson et al. 2016's network
 * and perceptual loss, forward, backward and Adam on the GPU in one submit per step) takes over from the tfjs path,
 * and the one line that says which and why.
 */
import { HokusaiError, InvalidArgumentError } from '@hokusai/errors';
import type { EngineDevice } from '@hokusai/engine';
import type { TrainOptions } from './options.ts';

/** The options that decide whether the engine can run a training. */
export type EngineOptions = Pick<TrainOptions, 'styleBlur' | 'latticeWeight' | 'pooling' | 'jitter' | 'imageSize' | 'stabilityWeight' | 'inputNoise'>;

/** Options the engine's training step does not implement (each falls back to tfjs with this reason). */
export function engineSupport(o: EngineOptions): string | null {
  if (o.styleBlur > 0) return `--style-blur ${o.styleBlur} is not implemented by the engine`;
  if (o.latticeWeight > 0) return `--lattice-weight ${o.latticeWeight} is not implemented by the engine`;
  if (o.pooling !== 'max') return `--pooling ${o.pooling}: the engine implements max pooling only`;
  if (o.jitter > 0) return `--jitter ${o.jitter} is not implemented by the engine`;
  if (o.stabilityWeight > 0) return `--stability-weight ${o.stabilityWeight} is not implemented by the engine`;
  if (o.inputNoise > 0) return `--input-noise ${o.inputNoise} is not implemented by the engine`;
  if (o.imageSize % 4 !== 0) return `--image-size ${o.imageSize}: the engine trains on multiples of 4`;
  return null;
}

export type EngineChoice = 'auto' | 'gpu' | 'tfjs';

/**
 * Whether a run may use the engine, before looking at the adapter: `gpu` insists (a reason is an error for the
 * caller to raise), `tfjs` never, `auto` when the backend is webgpu and the options are supported. `reason` says
 * why not.
 */
export function chooseEngine(choice: EngineChoice, backend: string, options: EngineOptions): { engine: boolean; reason: string } {
  if (choice === 'tfjs') return { engine: false, reason: '--engine tfjs' };
  const unsupported = engineSupport(options);
  if (unsupported !== null) return { engine: false, reason: unsupported };
  if (choice === 'auto' && backend !== 'webgpu') return { engine: false, reason: `backend ${backend} (the engine runs with --backend webgpu)` };
  return { engine: true, reason: choice === 'gpu' ? '--engine gpu' : 'backend webgpu and the options are supported' };
}

/** Asks for the engine's device (requestEngineDevice of @hokusai/engine on navigator.gpu; a stand-in in tests). */
export type EngineDeviceRequest = () => Promise<EngineDevice | { reason: string }>;

/**
 * The engine for a run and the line that says which and why. `gpu` insists: an unsupported option is
 * INVALID_ARGUMENT, another backend or no usable device BACKEND_UNAVAILABLE; any adapter is taken, a software one
 * too. `auto` takes the engine only on a hardware adapter with the engine's limits (on a software adapter such as
 * lavapipe the engine runs at CPU speed, so tfjs stays) and otherwise trains on tfjs; `tfjs` never. A device that
 * is not returned is destroyed here; the returned one belongs to the caller.
 */
export async function selectEngine(choice: EngineChoice, backend: string, options: EngineOptions, request: EngineDeviceRequest): Promise<{ device: EngineDevice | null; line: string }> {
  const allowed = chooseEngine(choice, backend, options);
  if (choice === 'gpu') {
    if (!allowed.engine) throw new InvalidArgumentError(`--engine gpu: ${allowed.reason}; use --engine tfjs (or auto)`);
    if (backend !== 'webgpu') throw new HokusaiError('BACKEND_UNAVAILABLE', `--engine gpu: expected --backend webgpu (the engine runs on Dawn's WebGPU), got backend ${backend}`);
    const dev = await request();
    if ('reason' in dev) throw new HokusaiError('BACKEND_UNAVAILABLE', `--engine gpu: no usable WebGPU device for the engine: ${dev.reason}`);
    return { device: dev, line: `engine: gpu (--engine gpu, on ${dev.adapter.description}${dev.adapter.software ? ': a software adapter, CPU speed' : ''})` };
  }
  if (!allowed.engine) return { device: null, line: `engine: tfjs (${allowed.reason})` };
  const dev = await request();
  if ('reason' in dev) return { device: null, line: `engine: tfjs (no usable WebGPU device for the engine: ${dev.reason})` };
  if (dev.adapter.software) {
    dev.device.destroy();
    return { device: null, line: `engine: tfjs (${dev.adapter.description} is a software adapter: the engine would run at CPU speed; --engine gpu forces it)` };
  }
  return { device: dev, line: `engine: gpu (a hardware adapter with the engine's limits, ${dev.adapter.description}, and the options are supported)` };
}
