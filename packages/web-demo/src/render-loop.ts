/**
 * The live loop: camera frame → processing size (long edge 192–512, optionally mirrored) → style network
 * (`stylizeTensor` from @hokusai/model, blended with the frame by `strength`) → output canvas.
 * Exactly one frame is in flight: the next frame starts only after the previous output has been read back
 * (`toPixels` awaited), and camera frames that arrive meanwhile are dropped, so the picture never lags behind.
 * Every tensor of a frame is created inside `tf.tidy` and the result is disposed after drawing.
 * The first frame of a network at a size is its warm-up (weights uploaded, shaders compiled: seconds to tens of
 * seconds on WebGL); `onWarmup` says when one starts and ends so the page can show progress meanwhile.
 */
import * as tf from '@tensorflow/tfjs-core';
import { stylizeTensor, type TransformerNet } from '@hokusai/model';
import { FrameStats, type FrameKind, type LiveStats } from './frame-stats.ts';

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
  net: TransformerNet | null = null;
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
    const video = this.video;
    this.lastVideoTime = video.currentTime;
    const { width, height } = processingSize(video.videoWidth, video.videoHeight, this.settings.size);
    if (this.input.width !== width || this.input.height !== height) {
      this.input.width = width;
      this.input.height = height;
    }
    if (this.output.width !== width || this.output.height !== height) {
      this.output.width = width;
      this.output.height = height;
    }
    const ctx = this.inputCtx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    if (this.settings.mirror) ctx.setTransform(-1, 0, 0, 1, width, 0);
    ctx.drawImage(video, 0, 0, width, height);
    ctx.setTransform(1, 0, 0, 1, 0, 0);

    const capture = this.captureWaiters.length > 0;
    const inputBytes = capture ? ctx.getImageData(0, 0, width, height).data : null;

    const net = this.net;
    const strength = this.settings.strength;
    const preserveColors = this.settings.preserveColors;
    const styled = net !== null && strength > 0;
    const sizeKey = `${width}×${height}`;
    const kind: FrameKind = !styled || !net ? 'unstyled' : this.warm.get(net)?.has(sizeKey) ? 'styled' : 'warmup';
    if (kind === 'warmup') this.onWarmup(true);
    let pixels: Uint8ClampedArray;
    try {
      const result = tf.tidy(() => {
        const frame = tf.browser.fromPixels(this.input);
        if (!styled || !net) return frame;
        const y = stylizeTensor(net, tf.cast(frame, 'float32'), { strength, preserveColors });
        return tf.cast(tf.round(y), 'int32');
      });
      try {
        pixels = await tf.browser.toPixels(result, this.output);
      } finally {
        result.dispose();
      }
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
        input: toBase64(inputBytes),
        output: toBase64(pixels),
      };
      for (const resolve of waiters) resolve(frameCapture);
    }
  }
}
