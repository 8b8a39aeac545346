/**
 * Video for `hokusai stylize`: `hokusai stylize clip.mp4 --checkpoint <dir> --out clip-styled.mp4` (also .mov,
 * .mkv, .webm, .gif in and out; a folder of frames in, with --fps, or out). FFmpeg (found by @hokusai/node's
 * findFfmpeg) decodes to RGB frames over a pipe; each frame goes through the engine image `stylize` uses
 * (openEngine: --engine auto = the GPU engine on a hardware adapter, else onnxruntime on the CPU; the GPU engine
 * keeps one forward for the clip's frame size), while FFmpeg decodes ahead and encodes behind in its
 * own processes; the frame rate is kept and the audio copied (re-encoded where the container needs another codec).
 * Frame-by-frame networks flicker; docs/video.md says how much (`hokusai flicker`).
 * Errors: no video stream, a corrupt file, more than --max-frames frames, an unwritable --out; each before any
 * output exists or with the temporary output removed (Ctrl-C too).
 */
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { HokusaiError, ImageError, InvalidArgumentError } from '@hokusai/errors';
import {
  checkWritable,
  containerFromPath,
  createVideoEncoder,
  decodeFrames,
  findFfmpeg,
  formatFromPath,
  frameListFor,
  needsEvenSize,
  probeVideo,
  VIDEO_EXTENSIONS,
  type FrameList,
  type VideoContainer,
  type VideoEncoder,
  type VideoInfo,
} from '@hokusai/node';
import type { CommandContext } from '../command.ts';
import { createProgress } from '../progress.ts';
import { openEngine, type StylizeCommandOptions } from './stylize.ts';

/**
 * True when `stylize` should treat the job as video: one input that is a clip (by extension), or any other
 * non-image file or a folder of frames with an --out that names a clip. (An image with --out x.gif stays an image job, which refuses .gif.)
 */
export async function isVideoJob(inputs: string[], out: string): Promise<boolean> {
  if (inputs.length !== 1) return false;
  const input = inputs[0] as string;
  const s = await stat(input).catch(() => null);
  const ext = extname(input).toLowerCase();
  // A file that is not one of our image types, written to a clip, is a video job (FFmpeg says what it holds).
  if (s?.isFile() === true) return VIDEO_EXTENSIONS[ext] !== undefined || (containerFromPath(out) !== null && formatFromPath(input) === null);
  return s?.isDirectory() === true && containerFromPath(out) !== null;
}

/** Output size: --max-size (never upscaling), then even sides where the codec needs them. */
export function videoSize(width: number, height: number, maxSize: number | undefined, container: VideoContainer): { width: number; height: number } {
  const scale = maxSize === undefined ? 1 : Math.min(1, maxSize / Math.max(width, height));
  let w = Math.max(1, Math.round(width * scale));
  let h = Math.max(1, Math.round(height * scale));
  if (needsEvenSize(container)) {
    w = Math.max(2, 2 * Math.round(w / 2));
    h = Math.max(2, 2 * Math.round(h / 2));
  }
  return { width: w, height: h };
}

interface Source {
  path: string;
  info: VideoInfo;
  inputArgs: string[];
  list: FrameList | null;
}

async function openSource(ffmpeg: string, input: string, fps: number): Promise<Source> {
  const s = await stat(input).catch(() => null);
  if (s?.isDirectory() === true) {
    const list = await frameListFor(input);
    try {
      const info = await probeVideo(ffmpeg, list.path, list.inputArgs);
      return { path: list.path, list, inputArgs: list.inputArgs, info: { ...info, fps: String(fps), fpsValue: fps, estimatedFrames: list.count, duration: list.count / fps, audioCodec: null } };
    } catch (error) {
      await list.dispose();
      throw error;
    }
  }
  return { path: input, list: null, inputArgs: [], info: await probeVideo(ffmpeg, input) };
}

function outputContainer(out: string): VideoContainer {
  const c = containerFromPath(out);
  if (c !== null) return c;
  if (formatFromPath(out) !== null || extname(out) !== '') {
    throw new InvalidArgumentError(
      `--out "${out}": for a video, expected a file name ending in ${Object.keys(VIDEO_EXTENSIONS).join(', ')}, or a folder for the frames; got ${extname(out)}`,
    );
  }
  return 'frames';
}

/** Stylises one clip (or folder of frames) into a clip (or folder of frames). */
export async function runStylizeVideo(opts: StylizeCommandOptions, ctx: CommandContext): Promise<void> {
  if (opts.inputs.length !== 1) {
    throw new InvalidArgumentError(`a video is stylised from one input (a clip or a folder of frames), got ${opts.inputs.length} inputs`);
  }
  const input = opts.inputs[0] as string;
  const container = outputContainer(opts.out);
  const ffmpeg = findFfmpeg();
  const source = await openSource(ffmpeg.path, input, opts.fps);
  let encoder: VideoEncoder | null = null;
  let engine: Awaited<ReturnType<typeof openEngine>>['engine'] | null = null;
  const progress = { bar: null as ReturnType<typeof createProgress> | null };
  try {
    const { info } = source;
    // Refused up front only when clearly over (the container's duration can include a longer audio track);
    // the exact count is enforced while decoding.
    if (info.estimatedFrames !== null && info.estimatedFrames > opts.maxFrames * 1.1 + 1) {
      throw new ImageError('PAYLOAD_TOO_LARGE', `input "${input}": expected at most --max-frames ${opts.maxFrames} frames, the clip has about ${info.estimatedFrames}`);
    }
    const size = videoSize(info.width, info.height, opts.maxSize, container);
    await checkWritable(opts.out, container);
    const opened = await openEngine(opts.checkpoint, opts, ctx.log);
    engine = opened.engine;
    ctx.log(`${opened.summary} on ${engine.label}`);
    ctx.log(
      `${input}: ${info.width}×${info.height} ${info.videoCodec} at ${info.fpsValue.toFixed(3).replace(/\.?0+$/, '')} fps` +
        `${info.estimatedFrames === null ? '' : `, ~${info.estimatedFrames} frames`}${info.audioCodec === null ? '' : `, audio ${info.audioCodec}`}` +
        ` → ${opts.out} (${size.width}×${size.height}, ${container}); ffmpeg: ${ffmpeg.path} (${ffmpeg.source})`,
    );
    encoder = await createVideoEncoder(ffmpeg.path, opts.out, {
      ...size,
      fps: info.fps,
      container,
      ...(info.audioCodec === null || source.list !== null ? {} : { audioFrom: { path: input, codec: info.audioCodec } }),
    });
    progress.bar = createProgress({ total: info.estimatedFrames ?? 0, label: 'stylize', unit: 'frames', fields: { fps: 0 } });
    const t0 = performance.now();
    let frames = 0;
    const decoded = decodeFrames(ffmpeg.path, source.path, { ...size, maxFrames: opts.maxFrames, inputArgs: source.inputArgs, signal: ctx.signal });
    for await (const frame of decoded) {
      if (ctx.signal.aborted) break;
      const styled = await engine.stylize(frame, { strength: opts.strength, preserveColors: opts.preserveColors });
      await encoder.write(styled);
      frames += 1;
      progress.bar.increment(1, { fps: Number((frames / ((performance.now() - t0) / 1000)).toFixed(2)) });
    }
    if (ctx.signal.aborted) throw new HokusaiError('INTERRUPTED', `interrupted after ${frames} frame(s); nothing written to "${opts.out}"`);
    await encoder.finish();
    progress.bar.stop();
    const seconds = (performance.now() - t0) / 1000;
    ctx.log(`${input} → ${opts.out}: ${frames} frames ${size.width}×${size.height} in ${seconds.toFixed(1)} s (${(frames / seconds).toFixed(2)} frames/s)`);
  } catch (error) {
    progress.bar?.stop();
    await encoder?.abort();
    if (ctx.signal.aborted && !(error instanceof HokusaiError && error.code === 'INTERRUPTED')) {
      throw new HokusaiError('INTERRUPTED', `interrupted; nothing written to "${opts.out}"`, { cause: error });
    }
    throw error;
  } finally {
    engine?.dispose();
    await source.list?.dispose();
  }
}
