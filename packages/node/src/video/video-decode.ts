/**
 * Decoding a video into 8-bit RGB frames: FFmpeg scales (area filter) and converts to rgb24, and writes raw frames
 * to a pipe that this reads frame by frame (FFmpeg decodes ahead in its own process while the caller stylises).
 * More frames than `maxFrames`: PAYLOAD_TOO_LARGE; a stream that breaks mid-way: IMAGE_DECODE.
 */
import { spawn } from 'node:child_process';
import { HokusaiError, ImageError } from '@hokusai/errors';
import type { RgbImage } from '../image-io.ts';
import { ffmpegTail } from './ffmpeg-binary.ts';

export interface DecodeOptions {
  /** Frame size to decode to (FFmpeg scales when it differs from the stream's). */
  width: number;
  height: number;
  /** Refuse the clip once it has more frames than this. */
  maxFrames: number;
  /** FFmpeg options placed before `-i` (e.g. `-f concat -safe 0` for a frame list). */
  inputArgs?: string[];
  signal?: AbortSignal;
}

/** The FFmpeg arguments that decode `path`'s first video stream to raw RGB frames of the given size on stdout. */
export function decodeArgs(path: string, width: number, height: number, inputArgs: string[] = []): string[] {
  return [
    '-v', 'error', '-nostdin', '-threads', '1', ...inputArgs, '-i', path,
    '-map', '0:v:0', '-an', '-sn', '-dn',
    '-vf', `scale=${width}:${height}:flags=area+accurate_rnd+full_chroma_int`,
    '-vsync', 'passthrough',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1',
  ];
}

/** Yields the frames of `path` in order. Stopping early (break, throw) ends FFmpeg. */
export async function* decodeFrames(ffmpeg: string, path: string, opts: DecodeOptions): AsyncGenerator<RgbImage> {
  const frameBytes = opts.width * opts.height * 3;
  const child = spawn(ffmpeg, decodeArgs(path, opts.width, opts.height, opts.inputArgs), {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: a terminal's Ctrl-C reaches us, and we end FFmpeg
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    if (stderr.length < 1 << 16) stderr += s;
  });
  const closed = new Promise<number | null>((resolve, reject) => {
    child.on('error', (error) => reject(new HokusaiError('BACKEND_UNAVAILABLE', `cannot run ffmpeg "${ffmpeg}": ${error.message}`, { cause: error })));
    child.on('close', (code) => resolve(code));
  });
  closed.catch(() => undefined); // awaited below; avoids an unhandled rejection while we iterate
  let pending = Buffer.alloc(frameBytes);
  let filled = 0;
  let count = 0;
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        const take = Math.min(frameBytes - filled, chunk.length - offset);
        chunk.copy(pending, filled, offset, offset + take);
        filled += take;
        offset += take;
        if (filled === frameBytes) {
          count += 1;
          if (count > opts.maxFrames) {
            throw new ImageError('PAYLOAD_TOO_LARGE', `input "${path}": expected at most --max-frames ${opts.maxFrames} frames, the clip has more`);
          }
          const frame: RgbImage = { data: new Uint8Array(pending.buffer, pending.byteOffset, frameBytes), width: opts.width, height: opts.height };
          pending = Buffer.alloc(frameBytes);
          filled = 0;
          yield frame;
          if (opts.signal?.aborted) return;
        }
      }
    }
    const code = await closed;
    if (code !== 0) {
      throw new ImageError('IMAGE_DECODE', `input "${path}": the video could not be decoded after ${count} frame(s) (ffmpeg exit ${code}: ${ffmpegTail(stderr)})`);
    }
    if (count === 0) throw new ImageError('IMAGE_DECODE', `input "${path}": expected video frames, decoded none (${ffmpegTail(stderr) || 'empty stream'})`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await closed.catch(() => undefined);
    }
  }
}
