/**
 * Clips with known motion, for measuring flicker without an optical-flow library (issue 21.2): each frame is a
 * window of a still photo, moved (pan) and scaled (zoom) by sub-pixel amounts and sampled bilinearly, plus
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

/** Bilinear sample of an interleaved RGB image (float or 8-bit) at (x, y) into `out`; false outside [0, w−1]×[0, h−1]. */
export function sampleBilinear(data: ArrayLike<number>, w: number, h: number, x: number, y: number, out: Float32Array): boolean {
  if (!(x >= 0 && y >= 0 && x <= w - 1 && y <= h - 1)) return false;
  const x0 = Math.min(Math.floor(x), w - 2 < 0 ? 0 : w - 2);
  const y0 = Math.min(Math.floor(y), h - 2 < 0 ? 0 : h - 2);
  const fx = x - x0;
  const fy = y - y0;
  const x1 = Math.min(x0 + 1, w - 1);
  const y1 = Math.min(y0 + 1, h - 1);
  const i00 = (y0 * w + x0) * 3;
  const i01 = (y0 * w + x1) * 3;
  const i10 = (y1 * w + x0) * 3;
  const i11 = (y1 * w + x1) * 3;
  for (let c = 0; c < 3; c++) {
    const top = (data[i00 + c] as number) * (1 - fx) + (data[i01 + c] as number) * fx;
    const bottom = (data[i10 + c] as number) * (1 - fx) + (data[i11 + c] as number) * fx;
    out[c] = top * (1 - fy) + bottom * fy;
  }
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
        if (!sampleBilinear(still.data, still.width, still.height, sx, sy, px)) {
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
