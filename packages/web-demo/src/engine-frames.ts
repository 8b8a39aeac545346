/**
 * The page's WebGPU frame path through Hokusai's own engine (@hokusai/engine's TransformerForward, the same forward
 * the CLI's `stylize --engine gpu` runs under Dawn): when the page runs on WebGPU, camera frames of a Johnson
 * network go through the engine on a GPUDevice of its own (from `navigator.gpu`), not through tfjs. One forward is
 * kept, for the current network and processing size, and rebuilt when either changes; weights are the network's
 * own (`readNetWeights`, as the CLI passes them). The output gets `stylizeTensor`'s clip, colour transfer and blend
 * by strength on the CPU (@hokusai/model's `finishPixels`, the same operations in the same order). Networks the
 * engine cannot run (not Johnson) keep the tfjs path. When the device is lost, `onLost` says so once and the page
 * falls back to tfjs.
 */
import {
  checkForwardFits, GpuContext, readNetWeights, requestEngineDevice, TransformerForward, type EngineDevice, type NamedWeights,
} from '@hokusai/engine';
import { HokusaiError, InvalidArgumentError } from '@hokusai/errors';
import { finishPixels, type NetConfig, type TransformerNet } from '@hokusai/model';
import type { PageBackend } from './backend.ts';

export type FramePath = 'engine' | 'tfjs';

/** Whether the page opens the engine for `backend`: only on WebGPU (the engine is WebGPU compute). */
export function engineWanted(backend: PageBackend): boolean {
  return backend === 'webgpu';
}

/**
 * Which path paints frames of a network with `config`: the engine when it is open (not lost) and runs that
 * architecture, else tfjs, with the reason (null when the page is not on the engine at all).
 */
export function chooseFramePath(engine: { lost: boolean } | null, config: NetConfig | null): { path: FramePath; why: string | null } {
  if (engine === null) return { path: 'tfjs', why: null };
  if (engine.lost) return { path: 'tfjs', why: "the Hokusai engine's WebGPU device was lost" };
  if (config !== null && config.arch !== 'johnson') {
    return { path: 'tfjs', why: `the Hokusai engine runs Johnson networks only, this one is ${config.arch}` };
  }
  return { path: 'engine', why: null };
}

/** The backend line at the top of the page: `webgpu (Hokusai engine)` while frames go through the engine. */
export function backendLabel(backend: PageBackend, path: FramePath): string {
  return path === 'engine' ? `${backend} (Hokusai engine)` : backend === 'webgpu' ? 'webgpu (tfjs)' : backend;
}

/** RGBA bytes → RGB float32 0–255 (the forward's input layout, [1, h, w, 3]). */
export function rgbaToRgbFloat(rgba: Uint8ClampedArray): Float32Array {
  const out = new Float32Array((rgba.length / 4) * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    out[j] = rgba[i]!;
    out[j + 1] = rgba[i + 1]!;
    out[j + 2] = rgba[i + 2]!;
  }
  return out;
}

interface KeptForward {
  net: TransformerNet;
  key: string;
  ctx: GpuContext;
  forward: TransformerForward;
}

export class EngineFrames {
  private kept: KeptForward | null = null;
  private readonly weights = new WeakMap<TransformerNet, Promise<NamedWeights>>();
  private closed = false;
  private isLost = false;

  /** Takes `dev` (destroyed by `dispose`); `onLost` runs once if the device is lost while the page uses it. */
  constructor(
    readonly dev: EngineDevice,
    onLost: (reason: string) => void,
  ) {
    void dev.device.lost.then((info) => {
      this.isLost = true;
      this.release();
      if (!this.closed) onLost(info.message || info.reason || 'unknown reason');
    });
  }

  /** The engine on `gpu`'s best adapter (`navigator.gpu` in the page), or the reason it cannot run there. */
  static async open(gpu: GPU | undefined, onLost: (reason: string) => void): Promise<EngineFrames | { reason: string }> {
    const dev = await requestEngineDevice(gpu);
    return 'reason' in dev ? dev : new EngineFrames(dev, onLost);
  }

  get lost(): boolean {
    return this.isLost || this.closed;
  }

  /**
   * After a failed frame: whether the device is (being) lost. A read in flight may fail before `device.lost`
   * resolves, so this waits for it briefly.
   */
  async lostAfterFailure(waitMs = 1000): Promise<boolean> {
    if (this.lost) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((ok) => (timer = setTimeout(() => ok(false), waitMs)));
    const lost = await Promise.race([this.dev.device.lost.then(() => true), timeout]);
    clearTimeout(timer);
    return lost || this.lost;
  }

  /** e.g. "swiftshader (software)" */
  get adapter(): string {
    return `${this.dev.adapter.description}${this.dev.adapter.software ? ' (software)' : ''}`;
  }

  supports(net: TransformerNet): boolean {
    return chooseFramePath(this, net.config).path === 'engine';
  }

  /** Styles one camera frame (RGBA bytes, `width`×`height`) with `net`; RGBA bytes out, as the tfjs path draws them. */
  async stylize(
    net: TransformerNet,
    rgba: Uint8ClampedArray,
    width: number,
    height: number,
    opts: { strength: number; preserveColors: boolean },
  ): Promise<Uint8ClampedArray<ArrayBuffer>> {
    if (rgba.length !== width * height * 4) {
      throw new InvalidArgumentError(`EngineFrames.stylize expects ${width}×${height}×4 = ${width * height * 4} RGBA bytes, got ${rgba.length}`);
    }
    const forward = await this.forwardFor(net, height, width);
    const styled = await forward.run(rgbaToRgbFloat(rgba));
    return new Uint8ClampedArray(finishPixels(styled, rgba, opts.strength, opts.preserveColors, 4).buffer);
  }

  /** The kept forward for `net` at h×w, built (and the previous one disposed) when either changed. */
  private async forwardFor(net: TransformerNet, h: number, w: number): Promise<TransformerForward> {
    if (this.lost) throw new HokusaiError('BACKEND_UNAVAILABLE', "the Hokusai engine's WebGPU device is gone");
    const key = `${h}x${w}`;
    if (this.kept?.net === net && this.kept.key === key) return this.kept.forward;
    this.release();
    let weights = this.weights.get(net);
    if (!weights) {
      weights = readNetWeights(net);
      this.weights.set(net, weights);
      weights.catch(() => this.weights.delete(net)); // a failed read is tried again on the next frame
    }
    const parts = { config: net.config, weights: await weights };
    const device = this.dev.device;
    checkForwardFits(device, net.config, { n: 1, h, w });
    const ctx = new GpuContext(device);
    try {
      device.pushErrorScope('out-of-memory');
      const forward = await TransformerForward.create(ctx, parts, { n: 1, h, w });
      const error = await device.popErrorScope();
      if (error !== null) {
        throw new HokusaiError('OUT_OF_MEMORY', `the engine's forward at ${w}×${h} does not fit GPU memory (${error.message}): pick a smaller size`);
      }
      this.release(); // another frame may have built one meanwhile
      this.kept = { net, key, ctx, forward };
      return forward;
    } catch (error) {
      ctx.dispose();
      throw error;
    }
  }

  /** Disposes the kept forward (style switch, camera stopped); the next frame builds a new one. */
  release(): void {
    this.kept?.ctx.dispose();
    this.kept = null;
  }

  /** Test hook: loses the device as a GPU reset would (`onLost` runs). */
  loseDevice(): void {
    this.isLost = true;
    this.release();
    this.dev.device.destroy();
  }

  dispose(): void {
    this.closed = true;
    this.release();
    this.dev.device.destroy();
  }
}
