/**
 * Which `hokusai train` runs the WebGPU engine (@hokusai/engine's EngineTrainStep: Johnson et al. 2016's network
 * and perceptual loss, forward, backward and Adam on the GPU in one submit per step) can take over from the tfjs
 * path, and why not otherwise: one line the trainer prints when it falls back.
 */
import type { TrainOptions } from './options.ts';

/** Options the engine's training step does not implement (each falls back to tfjs with this reason). */
export function engineSupport(o: Pick<TrainOptions, 'styleBlur' | 'latticeWeight' | 'pooling' | 'jitter' | 'imageSize'>): string | null {
  if (o.styleBlur > 0) return `--style-blur ${o.styleBlur} is not implemented by the engine`;
  if (o.latticeWeight > 0) return `--lattice-weight ${o.latticeWeight} is not implemented by the engine`;
  if (o.pooling !== 'max') return `--pooling ${o.pooling}: the engine implements max pooling only`;
  if (o.jitter > 0) return `--jitter ${o.jitter} is not implemented by the engine`;
  if (o.imageSize % 4 !== 0) return `--image-size ${o.imageSize}: the engine trains on multiples of 4`;
  return null;
}

export type EngineChoice = 'auto' | 'gpu' | 'tfjs';

/**
 * Whether a run uses the engine: `gpu` insists (a reason is an error for the caller to raise), `tfjs` never, `auto`
 * when the backend is webgpu and the options are supported. `reason` says why not.
 */
export function chooseEngine(choice: EngineChoice, backend: string, options: Parameters<typeof engineSupport>[0]): { engine: boolean; reason: string } {
  if (choice === 'tfjs') return { engine: false, reason: '--engine tfjs' };
  const unsupported = engineSupport(options);
  if (unsupported !== null) return { engine: false, reason: unsupported };
  if (choice === 'auto' && backend !== 'webgpu') return { engine: false, reason: `backend ${backend} (the engine runs with --backend webgpu)` };
  return { engine: true, reason: choice === 'gpu' ? '--engine gpu' : 'backend webgpu and the options are supported' };
}
