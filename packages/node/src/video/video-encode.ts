/**
 * Encoding RGB frames into a video (or a folder of PNG frames) with FFmpeg, atomically: FFmpeg writes a hidden
 * temporary file (or folder) next to the target, renamed over it only when FFmpeg has finished without error;
 * `abort()` (an error, Ctrl-C) ends FFmpeg and removes the temporary output, so nothing half-written is left.
 * The audio of `audioFrom` is copied when the container takes its codec, otherwise re-encoded (AAC, Opus).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import { HokusaiError, InvalidArgumentError } from '@hokusai/errors';
import { tempPathFor } from '../atomic-file.ts';
import type { RgbImage } from '../image-io.ts';
import { ffmpegTail } from './ffmpeg-binary.ts';

/** Containers `stylize` writes; `frames` is a folder of PNG files (frame_000001.png, …). */
export type VideoContainer = 'mp4' | 'mov' | 'mkv' | 'webm' | 'gif' | 'frames';

export const VIDEO_EXTENSIONS: Record<string, Exclude<VideoContainer, 'frames'>> = {
  '.mp4': 'mp4',
  '.m4v': 'mp4',
  '.mov': 'mov',
  '.mkv': 'mkv',
  '.webm': 'webm',
  '.gif': 'gif',
};

/** The container for an output path by its extension; null when it names none (then: a folder of frames). */
export function containerFromPath(path: string): Exclude<VideoContainer, 'frames'> | null {
  return VIDEO_EXTENSIONS[extname(path).toLowerCase()] ?? null;
}

/** H.264 and VP9 in 4:2:0 need even sides. */
export function needsEvenSize(container: VideoContainer): boolean {
  return container === 'mp4' || container === 'mov' || container === 'mkv' || container === 'webm';
}

export interface EncodeOptions {
  width: number;
  height: number;
  /** Frame rate as FFmpeg takes it (`25`, `30000/1001`). */
  fps: string;
  container: VideoContainer;
  /** Copy (or re-encode) the audio of this file, whose first audio stream has this codec. */
  audioFrom?: { path: string; codec: string };
}

const AUDIO_COPY: Partial<Record<VideoContainer, { copy: string[]; encode: string[] }>> = {
  mp4: { copy: ['aac', 'mp3', 'alac', 'ac3', 'eac3'], encode: ['-c:a', 'aac', '-b:a', '160k'] },
  mov: { copy: ['aac', 'mp3', 'alac', 'ac3', 'eac3', 'pcm_s16le', 'pcm_s24le'], encode: ['-c:a', 'aac', '-b:a', '160k'] },
  mkv: { copy: ['aac', 'mp3', 'opus', 'vorbis', 'flac', 'ac3', 'eac3', 'pcm_s16le', 'alac'], encode: ['-c:a', 'aac', '-b:a', '160k'] },
  webm: { copy: ['opus', 'vorbis'], encode: ['-c:a', 'libopus', '-b:a', '128k'] },
};

function videoCodecArgs(container: VideoContainer): string[] {
  switch (container) {
    case 'mp4':
    case 'mov':
      return ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', '-f', container];
    case 'mkv':
      return ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p', '-f', 'matroska'];
    case 'webm':
      return ['-c:v', 'libvpx-vp9', '-crf', '32', '-b:v', '0', '-deadline', 'realtime', '-cpu-used', '8', '-row-mt', '1', '-pix_fmt', 'yuv420p', '-f', 'webm'];
    case 'gif':
      return ['-filter_complex', '[0:v]split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse=dither=bayer', '-loop', '0', '-f', 'gif'];
    case 'frames':
      return ['-c:v', 'png', '-f', 'image2', '-start_number', '1'];
  }
}

/** The FFmpeg arguments that encode raw RGB frames from stdin into `target` (a file, or for frames a folder). */
export function encodeArgs(target: string, opts: EncodeOptions): string[] {
  const args = ['-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${opts.width}x${opts.height}`, '-framerate', opts.fps, '-i', 'pipe:0'];
  const audio = AUDIO_COPY[opts.container];
  if (opts.audioFrom !== undefined && audio !== undefined) {
    args.push('-i', opts.audioFrom.path, '-map', '0:v:0', '-map', '1:a:0');
    args.push(...(audio.copy.includes(opts.audioFrom.codec) ? ['-c:a', 'copy'] : audio.encode));
  } else {
    args.push('-map', '0:v:0', '-an');
  }
  // one encoder thread: the cores belong to the network, which is the bottleneck
  args.push(...videoCodecArgs(opts.container), '-threads', '1');
  args.push(opts.container === 'frames' ? `${target}/frame_%06d.png` : target);
  return args;
}

export interface VideoEncoder {
  write(frame: RgbImage): Promise<void>;
  /** Ends the stream, waits for FFmpeg and moves the result into place. */
  finish(): Promise<void>;
  /** Ends FFmpeg and removes the temporary output. Safe to call at any time, twice. */
  abort(): Promise<void>;
}

/** `mkdir -p` one level at a time (Node's recursive mkdir can spin forever on some paths, e.g. under /proc). */
async function makeDirs(dir: string): Promise<void> {
  const s = await stat(dir).catch(() => null);
  if (s !== null) {
    if (!s.isDirectory()) throw new Error(`"${dir}" is not a folder`);
    return;
  }
  const parent = dirname(dir);
  if (parent !== dir) await makeDirs(parent);
  await mkdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
}

/** Checks that `out` can be written (its folder exists or can be created, and is writable), before any work. */
export async function checkWritable(out: string, container: VideoContainer): Promise<void> {
  const existing = await stat(out).catch(() => null);
  if (container === 'frames') {
    if (existing !== null && !existing.isDirectory()) throw new InvalidArgumentError(`--out "${out}": expected a folder for frames, but it is a file`);
    if (existing !== null && (await readdir(out)).length > 0) {
      throw new InvalidArgumentError(`--out "${out}": expected a new or empty folder for the frames, but it holds files`);
    }
  } else if (existing?.isDirectory() === true) {
    throw new InvalidArgumentError(`--out "${out}": expected a video file name, but it is a folder`);
  }
  const dir = dirname(out);
  const probe = tempPathFor(out);
  try {
    await makeDirs(dir);
    await mkdir(probe);
    await rmdir(probe);
  } catch (cause) {
    throw new HokusaiError('IO', `--out "${out}": cannot write in "${dir}": ${(cause as Error).message}`, { cause });
  }
}

async function finishProcess(child: ChildProcess, closed: Promise<number | null>, stderr: () => string, out: string): Promise<void> {
  child.stdin?.end();
  const code = await closed;
  if (code !== 0) throw new HokusaiError('IO', `cannot encode "${out}": ffmpeg exit ${code}: ${ffmpegTail(stderr())}`);
}

/** Starts FFmpeg encoding into a temporary file (folder) next to `out`. */
export async function createVideoEncoder(ffmpeg: string, out: string, opts: EncodeOptions): Promise<VideoEncoder> {
  const tmp = tempPathFor(out);
  if (opts.container === 'frames') await mkdir(tmp, { recursive: true });
  const child = spawn(ffmpeg, encodeArgs(tmp, opts), { stdio: ['pipe', 'ignore', 'pipe'], detached: true }); // Ctrl-C: see decodeFrames
  let err = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    if (err.length < 1 << 16) err += s;
  });
  const closed = new Promise<number | null>((resolve) => {
    child.on('error', (e) => {
      err += `\n${e.message}`;
      resolve(-1);
    });
    child.on('close', (code) => resolve(code));
  });
  child.stdin?.on('error', () => undefined); // EPIPE when FFmpeg fails: reported by its exit code
  let done = false;
  const removeTmp = (): Promise<void> => rm(tmp, { recursive: true, force: true });
  const abort = async (): Promise<void> => {
    if (done) return;
    done = true;
    child.stdin?.destroy();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await closed;
    await removeTmp();
  };
  return {
    async write(frame) {
      if (frame.width !== opts.width || frame.height !== opts.height) {
        throw new HokusaiError('INTERNAL', `frame ${frame.width}×${frame.height}, encoder ${opts.width}×${opts.height}`);
      }
      const stdin = child.stdin;
      if (done || stdin === null || stdin.destroyed || child.exitCode !== null) {
        await closed;
        throw new HokusaiError('IO', `cannot encode "${out}": ffmpeg stopped: ${ffmpegTail(err)}`);
      }
      if (!stdin.write(frame.data)) await Promise.race([once(stdin, 'drain'), closed]);
    },
    async finish() {
      if (done) throw new HokusaiError('INTERNAL', 'encoder already finished');
      try {
        await finishProcess(child, closed, () => err, out);
        if (opts.container === 'frames') await rmdir(out).catch(() => undefined); // the empty folder checkWritable allowed
        await rename(tmp, out);
        done = true;
      } catch (error) {
        await abort();
        throw error instanceof HokusaiError ? error : new HokusaiError('IO', `cannot write "${out}": ${(error as Error).message}`, { cause: error });
      }
    },
    abort,
  };
}
