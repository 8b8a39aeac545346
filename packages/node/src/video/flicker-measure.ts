/**
 * The flicker of a frame-by-frame network on a clip of known motion (motion-clip.ts): how much its output changes
 * between consecutive frames beyond the true motion, relative to how much the input does:
 *
 *   flicker = Σ_t mean_valid |out_t − warp(out_{t−1})| / Σ_t mean_valid |in_t − warp(in_{t−1})|
 *
 * where warp samples the previous frame (Lanczos-3, as the clip was made) where each pixel was, and "valid" keeps the
 * pixels whose previous position has the kernel's taps inside the frame. 1: the output changes as much as the input
 * (an identity network); above 1: the network amplifies noise and sub-pixel motion into texture changes; 0: a still
 * output.
 */
import type { RgbImage } from '../image-io.ts';
import { previousFramePoint, sampleLanczos3, type WindowPose } from './motion-clip.ts';

/** Mean |cur − warp(prev)| over valid pixels and channels, in grey levels; NaN when no pixel is valid. */
export function warpedDifference(prev: RgbImage, cur: RgbImage, prevPose: WindowPose, curPose: WindowPose): number {
  const { width: w, height: h } = cur;
  if (prev.width !== w || prev.height !== h) throw new RangeError(`frames of different sizes: ${prev.width}×${prev.height}, ${w}×${h}`);
  const px = new Float32Array(3);
  let sum = 0;
  let n = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [sx, sy] = previousFramePoint(prevPose, curPose, x, y, w, h);
      if (!sampleLanczos3(prev.data, w, h, sx, sy, px)) continue;
      const i = (y * w + x) * 3;
      for (let c = 0; c < 3; c++) sum += Math.abs((cur.data[i + c] as number) - (px[c] as number));
      n += 3;
    }
  }
  return n === 0 ? Number.NaN : sum / n;
}

export interface FlickerResult {
  /** The ratio above. */
  flicker: number;
  /** Mean warped difference of the outputs, of the inputs (grey levels), averaged over frame pairs. */
  outputChange: number;
  inputChange: number;
}

/** Mean over consecutive pairs of |frame_t − warp(frame_{t−1})| (grey levels), for frames of a clip with `poses`. */
export function meanWarpedChange(frames: RgbImage[], poses: WindowPose[]): number {
  if (frames.length !== poses.length || frames.length < 2) {
    throw new RangeError(`expected ≥ 2 frames with one pose each, got ${frames.length} frames, ${poses.length} poses`);
  }
  let sum = 0;
  for (let t = 1; t < frames.length; t++) {
    sum += warpedDifference(frames[t - 1] as RgbImage, frames[t] as RgbImage, poses[t - 1] as WindowPose, poses[t] as WindowPose);
  }
  return sum / (frames.length - 1);
}

/** The ratio above, from the two mean changes; NaN when the input does not change. */
export function flickerRatio(outputChange: number, inputChange: number): number {
  return inputChange === 0 ? Number.NaN : outputChange / inputChange;
}

/** Flicker of `outputs` (one per input frame, same size) on a clip with `poses`. */
export function measureFlicker(inputs: RgbImage[], outputs: RgbImage[], poses: WindowPose[]): FlickerResult {
  if (inputs.length !== outputs.length || inputs.length !== poses.length || inputs.length < 2) {
    throw new RangeError(`expected ≥ 2 frames with one output and one pose each, got ${inputs.length} inputs, ${outputs.length} outputs, ${poses.length} poses`);
  }
  const outputChange = meanWarpedChange(outputs, poses);
  const inputChange = meanWarpedChange(inputs, poses);
  return { flicker: flickerRatio(outputChange, inputChange), outputChange, inputChange };
}
