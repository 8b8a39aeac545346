/**
 * Clips with known motion, for measuring flicker without an optical-flow library (issue 21.2): each frame is a
 * window of a still photo, moved (pan) and scaled (zoom) by sub-pixel amounts and sampled with a Lanczos-3 kernel, plus
 * independent Gaussian "sensor" noise per frame, so where every pixel of frame t came from in frame t−1 is known
 * exactly (`previousFramePoint`). A static clip (the same window, new noise each frame) isolates the response to
 * noise alone. The idea of the measure follows Gupta et al. 2017 ("Characterizing and Improving Stability in
 * Neural Style Transfer") and Ruder et al. 2016's warped temporal error, with exact instead of estimated motion.
 */
import { gaussianSampler } from '@hokusai/model';
import type { RgbImage } from '../image-io.ts';

/** Where frame t's window sits on the still: zoom (frame pixels per still pixel) and the window centre's offset. */
export interface WindowPose {
  zoom: number;
  dx: number;
  dy: number;
}

export type MotionKind = 'pan' | 'zoom' | 'static';

export interface MotionClipOptions {
  /** Frame size; the still must be larger (a margin of ≥ 10% per side is safe for the default motions). */
  width: number;
  height: number;
  frames: number;
  kind: MotionKind;
  /** Gaussian noise σ in grey levels (0–255), new each frame. */
  noise: number;
  seed?: number;
  /** Pan: pixels per frame in x and y (default 0.37, 0.23: sub-pixel, so the warp interpolates). */
  panStep?: [number, number];
  /** Zoom: factor per frame (default 1.004). */
  zoomStep?: number;
}

export interface MotionClip {
  frames: RgbImage[];
  poses: WindowPose[];
  width: number;
  height: number;
}

/** Taps per side of the Lanczos kernel: Lanczos-3, the usual sharp resampler (sharp's and ImageMagick's default). */
const LANCZOS_A = 3;

/** Lanczos-3 weights of the 6 taps x0 − 2 … x0 + 3 around x (x0 = ⌊x⌋), into `w`. */
function lanczosWeights(x: number, w: Float64Array): void {
  const x0 = Math.floor(x);
  for (let k = 0; k < 2 * LANCZOS_A; k++) {
    const d = x - (x0 - LANCZOS_A + 1 + k);
    if (d === 0) w[k] = 1;
    else {
      const p = Math.PI * d;
      w[k] = Math.abs(d) >= LANCZOS_A ? 0 : (LANCZOS_A * Math.sin(p) * Math.sin(p / LANCZOS_A)) / (p * p);
    }
  }
}

const wx = new Float64Array(2 * LANCZOS_A);
const wy = new Float64Array(2 * LANCZOS_A);

/**
 * Lanczos-3 sample of an interleaved RGB image (float or 8-bit) at (x, y) into `out` (normalised weights); false
 * where the kernel's 6×6 taps do not all lie in the image, [2, w−3]×[2, h−3]. Not bilinear: bilinear interpolation
 * blurs by an amount that depends on the sub-pixel phase, so a sharp texture moved exactly would differ from its own
 * warp by up to half of what a flickering network does (docs/video.md, "The floor").
 */
export function sampleLanczos3(data: ArrayLike<number>, w: number, h: number, x: number, y: number, out: Float32Array): boolean {
  if (!(x >= LANCZOS_A - 1 && y >= LANCZOS_A - 1 && x <= w - LANCZOS_A && y <= h - LANCZOS_A)) return false;
  lanczosWeights(x, wx);
  lanczosWeights(y, wy);
  const x0 = Math.floor(x) - LANCZOS_A + 1;
  const y0 = Math.floor(y) - LANCZOS_A + 1;
  let r = 0;
  let g = 0;
  let b = 0;
  let sum = 0;
  for (let j = 0; j < 2 * LANCZOS_A; j++) {
    const row = Math.min(h - 1, Math.max(0, y0 + j)) * w;
    const fy = wy[j] as number;
    for (let i = 0; i < 2 * LANCZOS_A; i++) {
      const f = fy * (wx[i] as number);
      const o = (row + Math.min(w - 1, Math.max(0, x0 + i))) * 3;
      r += f * (data[o] as number);
      g += f * (data[o + 1] as number);
      b += f * (data[o + 2] as number);
      sum += f;
    }
  }
  out[0] = r / sum;
  out[1] = g / sum;
  out[2] = b / sum;
  return true;
}

/** The still-image point frame pixel (x, y) shows under `pose` (frame and still centred on each other). */
function stillPoint(pose: WindowPose, x: number, y: number, frameW: number, frameH: number, stillW: number, stillH: number): [number, number] {
  return [(stillW - 1) / 2 + pose.dx + (x - (frameW - 1) / 2) / pose.zoom, (stillH - 1) / 2 + pose.dy + (y - (frameH - 1) / 2) / pose.zoom];
}

/** Where frame pixel (x, y) under pose `cur` was in the previous frame (pose `prev`): the exact motion. */
export function previousFramePoint(prev: WindowPose, cur: WindowPose, x: number, y: number, frameW: number, frameH: number): [number, number] {
  const cx = (frameW - 1) / 2;
  const cy = (frameH - 1) / 2;
  return [cx + prev.zoom * ((x - cx) / cur.zoom + cur.dx - prev.dx), cy + prev.zoom * ((y - cy) / cur.zoom + cur.dy - prev.dy)];
}

export function posesFor(opts: MotionClipOptions): WindowPose[] {
  const [px, py] = opts.panStep ?? [0.37, 0.23];
  const z = opts.zoomStep ?? 1.004;
  return Array.from({ length: opts.frames }, (_, t) => {
    if (opts.kind === 'pan') return { zoom: 1, dx: px * (t - (opts.frames - 1) / 2), dy: py * (t - (opts.frames - 1) / 2) };
    if (opts.kind === 'zoom') return { zoom: z ** t, dx: 0, dy: 0 };
    return { zoom: 1, dx: 0, dy: 0 };
  });
}

/** Makes a clip from `still` (larger than the frame) by the motion and noise of `opts`. */
export function makeMotionClip(still: RgbImage, opts: MotionClipOptions): MotionClip {
  const { width: w, height: h } = opts;
  const poses = posesFor(opts);
  const gauss = gaussianSampler(opts.seed ?? 21);
  const px = new Float32Array(3);
  const frames = poses.map((pose) => {
    const data = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const [sx, sy] = stillPoint(pose, x, y, w, h, still.width, still.height);
        if (!sampleLanczos3(still.data, still.width, still.height, sx, sy, px)) {
          throw new RangeError(`the still (${still.width}×${still.height}) is too small for a ${w}×${h} window under this motion`);
        }
        const i = (y * w + x) * 3;
        for (let c = 0; c < 3; c++) data[i + c] = Math.min(255, Math.max(0, Math.round((px[c] as number) + opts.noise * gauss())));
      }
    }
    return { data, width: w, height: h };
  });
  return { frames, poses, width: w, height: h };
}
