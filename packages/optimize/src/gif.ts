/**
 * Animated GIF of an optimisation (`hokusai optimize --gif`), encoded with gifenc: frames are collected as the
 * optimiser runs (every `every` iterations, at every level), each resampled to one fixed size (levels differ in
 * size) and quantised to its own 256-colour palette. The last frame is held longer.
 */
import * as gifencNs from 'gifenc';

// gifenc ships CommonJS for Node (functions on the default export) and ESM for bundlers (named exports).
type Gifenc = Pick<typeof gifencNs, 'GIFEncoder' | 'quantize' | 'applyPalette'>;
const gifenc: Gifenc =
  typeof gifencNs.GIFEncoder === 'function' ? gifencNs : (gifencNs as unknown as { default: Gifenc }).default;
const { GIFEncoder, quantize, applyPalette } = gifenc;
import { resizeRgb } from './color-transfer.ts';

export interface GifFrameSource {
  data: ArrayLike<number>;
  width: number;
  height: number;
}

export class GifRecorder {
  private readonly frames: Uint8Array[] = [];

  /** `width`×`height`: the GIF's size (the output's aspect ratio, long edge at most maxSide). */
  constructor(
    readonly width: number,
    readonly height: number,
    readonly delayMs = 80,
  ) {}

  static forOutput(width: number, height: number, maxSide = 384, delayMs = 80): GifRecorder {
    const k = Math.min(1, maxSide / Math.max(width, height));
    return new GifRecorder(Math.max(1, Math.round(width * k)), Math.max(1, Math.round(height * k)), delayMs);
  }

  get frameCount(): number {
    return this.frames.length;
  }

  add(img: GifFrameSource): void {
    const rgb =
      img.width === this.width && img.height === this.height ? img.data : resizeRgb(img.data, img.width, img.height, this.width, this.height);
    const rgba = new Uint8Array(this.width * this.height * 4);
    for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
      rgba[i] = Math.round(rgb[j] as number);
      rgba[i + 1] = Math.round(rgb[j + 1] as number);
      rgba[i + 2] = Math.round(rgb[j + 2] as number);
      rgba[i + 3] = 255;
    }
    this.frames.push(rgba);
  }

  /** The GIF file's bytes (loops forever). */
  encode(): Uint8Array {
    const enc = GIFEncoder();
    this.frames.forEach((rgba, i) => {
      const palette = quantize(rgba, 256);
      const index = applyPalette(rgba, palette);
      const last = i === this.frames.length - 1;
      enc.writeFrame(index, this.width, this.height, { palette, delay: last ? this.delayMs * 20 : this.delayMs, ...(i === 0 ? { repeat: 0 } : {}) });
    });
    enc.finish();
    return enc.bytes();
  }
}
