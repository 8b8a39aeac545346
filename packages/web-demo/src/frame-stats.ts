/**
 * The live readout's figures, counted over styled frames only: frames shown unstyled (no style picked yet,
 * strength 0) say nothing about the network's speed and clear the readout, and the first frame of a network
 * (model upload, shader compilation) is left out of both fps and ms/frame, so a slow start does not drag them.
 */

export interface LiveStats {
  /** Every frame drawn, styled or not. */
  frames: number;
  /** Styled frames per second over the last second or so; null while frames are not styled. */
  fps: number | null;
  /** Time from grabbing a styled frame to its pixels on the canvas, ms (moving average); null likewise. */
  msPerFrame: number | null;
  width: number;
  height: number;
}

/** What a drawn frame was: the camera frame itself, a network's first (warm-up) frame, or a styled frame. */
export type FrameKind = 'unstyled' | 'warmup' | 'styled';

export class FrameStats {
  private stats: LiveStats = { frames: 0, fps: null, msPerFrame: null, width: 0, height: 0 };
  /** Start of the fps window (end of the last frame not counted), or null when no styled frame came yet. */
  private windowStart: number | null = null;
  private windowFrames = 0;

  /** Records a frame that took `startMs`…`endMs` (performance.now()) at width×height; returns the new figures. */
  record(kind: FrameKind, startMs: number, endMs: number, width: number, height: number): LiveStats {
    const s = this.stats;
    s.frames += 1;
    if (s.width !== width || s.height !== height) s.msPerFrame = null; // new size: the old average says nothing
    s.width = width;
    s.height = height;
    if (kind !== 'styled' || this.windowStart === null) {
      this.clearRates();
      if (kind !== 'unstyled') this.windowStart = endMs; // count from the end of the warm-up or first styled frame
      return this.snapshot();
    }
    const ms = endMs - startMs;
    s.msPerFrame = s.msPerFrame === null ? ms : 0.8 * s.msPerFrame + 0.2 * ms;
    this.windowFrames += 1;
    const elapsed = endMs - this.windowStart;
    if (elapsed >= 1000 || s.fps === null) s.fps = (this.windowFrames * 1000) / Math.max(elapsed, 1);
    if (elapsed >= 1000) {
      this.windowStart = endMs;
      this.windowFrames = 0;
    }
    return this.snapshot();
  }

  /** Forgets the rates (camera stopped): the readout goes back to "–". The frame count stays. */
  reset(): LiveStats {
    this.clearRates();
    this.stats.width = 0;
    this.stats.height = 0;
    return this.snapshot();
  }

  snapshot(): LiveStats {
    return { ...this.stats };
  }

  private clearRates(): void {
    this.stats.fps = null;
    this.stats.msPerFrame = null;
    this.windowStart = null;
    this.windowFrames = 0;
  }
}
