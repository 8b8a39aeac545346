/**
 * The live loop: camera frame → processing size (long edge 192–512, optionally mirrored) → style network
 * (`stylizeTensor` from @hokusai/model, blended with the frame by `strength`) → output canvas.
 * Exactly one frame is in flight: the next frame starts only after the previous output has been read back
 * (`toPixels` awaited), and camera frames that arrive meanwhile are dropped, so the picture never lags behind.
 * Every tensor of a frame is created inside `tf.tidy` and the result is disposed after drawing.
 * The first frame of a network at a size is its warm-up (weights uploaded, shaders compiled: seconds to tens of
 * seconds on WebGL); `onWarmup` says when one starts and ends so the page can show progress meanwhile.
 * With `engine` set (the page runs on WebGPU), frames of networks it supports go through Hokusai's engine instead
 * (engine-frames.ts: no tensors, the result drawn with `putImageData`); the rest keep the tfjs path.
 */
import * as tf from '@tensorflow/tfjs-core';
import { stylizeTensor, type TransformerNet } from '@hokusai/model';
import { FrameStats, type FrameKind, type LiveStats } from './frame-stats.ts';
import type { EngineFrames, FramePath } from './engine-frames.ts';

export type { LiveStats } from './frame-stats.ts';

export interface LiveSettings {
  /** Long edge of the processed frame, px. */
  size: number;
  mirror: boolean;
  /** 0 = camera frame, 1 = fully styled. */
  strength: number;
  /** Keep the camera frame's colours, take only the styled luminance. */
  preserveColors: boolean;
}

/** One processed frame, for tests: RGBA bytes (base64) of the network input and of the drawn output. */
export interface FrameCapture {
  width: number;
  height: number;
  strength: number;
  preserveColors: boolean;
  styled: boolean;
  /** Which path drew it: Hokusai's engine or tfjs. */
  path: FramePath;
  input: string;
  output: string;
}

function toBase64(bytes: Uint8Array | Uint8ClampedArray): string {
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

/** Processing dimensions: long edge = `size`, aspect kept, at least 1 px. */
export function processingSize(videoWidth: number, videoHeight: number, size: number): { width: number; height: number } {
  if (videoWidth <= 0 || videoHeight <= 0) return { width: size, height: size };
  const scale = size / Math.max(videoWidth, videoHeight);
  return { width: Math.max(1, Math.round(videoWidth * scale)), height: Math.max(1, Math.round(videoHeight * scale)) };
}

export class LiveStylizer {
  readonly settings: LiveSettings;
  /** Hokusai's engine for the frames of networks it runs (WebGPU pages), or null: tfjs only. */
  engine: EngineFrames | null = null;
  private currentNet: TransformerNet | null = null;
  private readonly video: HTMLVideoElement;
  private readonly output: HTMLCanvasElement;
  private readonly input: HTMLCanvasElement;
  private readonly inputCtx: CanvasRenderingContext2D;
  private readonly onStats: (stats: LiveStats) => void;
  private readonly onError: (error: unknown) => void;
  private readonly onWarmup: (active: boolean) => void;
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private lastVideoTime = -1;
  private captureWaiters: ((capture: FrameCapture) => void)[] = [];
  private readonly stats = new FrameStats();
  /** Sizes ("W×H") each network has already drawn a frame at: later frames there are not warm-ups. */
  private readonly warm = new WeakMap<TransformerNet, Set<string>>();

  constructor(opts: {
    video: HTMLVideoElement;
    output: HTMLCanvasElement;
    settings: LiveSettings;
    /** true for CPU-side backends (wasm, cpu), which read the input canvas back every frame. */
    cpuReadback: boolean;
    onStats: (stats: LiveStats) => void;
    onError: (error: unknown) => void;
    /** true when a network's first frame (at a size) starts, false when it is drawn or failed. */
    onWarmup?: (active: boolean) => void;
  }) {
    this.video = opts.video;
    this.output = opts.output;
    this.settings = opts.settings;
    this.onStats = opts.onStats;
    this.onError = opts.onError;
    this.onWarmup = opts.onWarmup ?? (() => {});
    this.input = document.createElement('canvas');
    const ctx = this.input.getContext('2d', { willReadFrequently: opts.cpuReadback });
    if (!ctx) throw new Error('This browser could not create a 2D canvas for the camera frames');
    this.inputCtx = ctx;
  }

  get net(): TransformerNet | null {
    return this.currentNet;
  }

  /** The network frames are styled with; a new one frees the engine's forward of the previous one. */
  set net(net: TransformerNet | null) {
    if (net !== this.currentNet) this.releaseEngine();
    this.currentNet = net;
  }

  /** Frees the engine's forward; the current network's next frame there is a warm-up again. */
  private releaseEngine(): void {
    if (!this.engine) return;
    this.engine.release();
    if (this.currentNet) this.warm.delete(this.currentNet);
  }

  get isRunning(): boolean {
    return this.running;
  }

  get frames(): number {
    return this.stats.snapshot().frames;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  /** Stops after the frame in flight; resolves when nothing is running. The readout's rates are cleared. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loopDone;
    this.releaseEngine();
    this.onStats(this.stats.reset());
  }

  /** Resolves with the next processed frame (input and output bytes). */
  nextCapture(): Promise<FrameCapture> {
    return new Promise((resolve) => this.captureWaiters.push(resolve));
  }

  /**
   * Waits for a camera frame newer than the last one processed. Always yields to the event loop (a frame of
   * rendering, or the next video frame), so input events, painting and test hooks run between frames even on
   * backends whose reads resolve as microtasks (wasm, cpu).
   */
  private waitForVideoFrame(): Promise<void> {
    const video = this.video;
    return new Promise((resolve) => {
      let done = false;
      const finish = (): void => {
        if (!done) {
          done = true;
          resolve();
        }
      };
      const fresh = video.readyState >= 2 && video.currentTime !== this.lastVideoTime;
      if (!fresh && 'requestVideoFrameCallback' in video) video.requestVideoFrameCallback(() => finish());
      else requestAnimationFrame(() => finish());
      // Never hang on a paused stream or a hidden tab: re-check at least every 200 ms.
      setTimeout(finish, 200);
    });
  }

  private async loop(): Promise<void> {
    while (this.running) {
      await this.waitForVideoFrame();
      if (!this.running) break;
      if (this.video.readyState < 2 || this.video.videoWidth === 0) continue;
      try {
        await this.step();
      } catch (error) {
        this.running = false;
        this.onError(error);
      }
    }
  }

  private async step(): Promise<void> {
    const t0 = performance.now();
    const { width, height } = this.grabFrame();
    const ctx = this.inputCtx;
    const capture = this.captureWaiters.length > 0;
    const net = this.net;
    const { strength, preserveColors } = this.settings;
    const styled = net !== null && strength > 0;
    const path: FramePath = net !== null && strength > 0 && this.engine?.supports(net) ? 'engine' : 'tfjs';
    const inputBytes = capture || path === 'engine' ? ctx.getImageData(0, 0, width, height).data : null;
    const sizeKey = `${width}×${height}`;
    const kind: FrameKind = !styled || !net ? 'unstyled' : this.warm.get(net)?.has(sizeKey) ? 'styled' : 'warmup';
    if (kind === 'warmup') this.onWarmup(true);
    let pixels: Uint8ClampedArray;
    try {
      pixels =
        path === 'engine' && net && inputBytes
          ? await this.drawWithEngine(net, inputBytes, width, height)
          : await this.drawWithTfjs(styled ? net : null);
      if (kind === 'warmup' && net) this.warm.set(net, (this.warm.get(net) ?? new Set()).add(sizeKey));
    } finally {
      if (kind === 'warmup') this.onWarmup(false);
    }

    this.onStats(this.stats.record(kind, t0, performance.now(), width, height));

    if (capture && inputBytes) {
      const waiters = this.captureWaiters;
      this.captureWaiters = [];
      const frameCapture: FrameCapture = {
        width,
        height,
        strength,
        preserveColors,
        styled,
        path,
        input: toBase64(inputBytes),
        output: toBase64(pixels),
      };
      for (const resolve of waiters) resolve(frameCapture);
    }
  }

  /** Draws the current camera frame (optionally mirrored) at the processing size on the input canvas. */
  private grabFrame(): { width: number; height: number } {
    const video = this.video;
    this.lastVideoTime = video.currentTime;
    const { width, height } = processingSize(video.videoWidth, video.videoHeight, this.settings.size);
    for (const canvas of [this.input, this.output]) {
      if (canvas.width !== width || canvas.height !== height) {
        canvas.width = width;
        canvas.height = height;
      }
    }
    const ctx = this.inputCtx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    if (this.settings.mirror) ctx.setTransform(-1, 0, 0, 1, width, 0);
    ctx.drawImage(video, 0, 0, width, height);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    return { width, height };
  }

  /** The frame through tfjs (`stylizeTensor` in `tf.tidy`, or the frame itself when `net` is null) → `toPixels`. */
  private async drawWithTfjs(net: TransformerNet | null): Promise<Uint8ClampedArray> {
    const { strength, preserveColors } = this.settings;
    const result = tf.tidy(() => {
      const frame = tf.browser.fromPixels(this.input);
      if (!net) return frame;
      const y = stylizeTensor(net, tf.cast(frame, 'float32'), { strength, preserveColors });
      return tf.cast(tf.round(y), 'int32');
    });
    try {
      return await tf.browser.toPixels(result, this.output);
    } finally {
      result.dispose();
    }
  }

  /** The frame through Hokusai's engine → `putImageData`. If the device is lost meanwhile, this frame goes through tfjs. */
  private async drawWithEngine(net: TransformerNet, rgba: Uint8ClampedArray, width: number, height: number): Promise<Uint8ClampedArray> {
    const engine = this.engine;
    if (!engine) return this.drawWithTfjs(net);
    const { strength, preserveColors } = this.settings;
    let pixels: Uint8ClampedArray<ArrayBuffer>;
    try {
      pixels = await engine.stylize(net, rgba, width, height, { strength, preserveColors });
    } catch (error) {
      if (!(await engine.lostAfterFailure())) throw error;
      return this.drawWithTfjs(net);
    }
    const ctx = this.output.getContext('2d');
    if (!ctx) throw new Error('This browser could not create a 2D canvas for the styled frames');
    ctx.putImageData(new ImageData(pixels, width, height), 0, 0);
    return pixels;
  }
}
