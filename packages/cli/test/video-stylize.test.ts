// `hokusai stylize` on video (issue 21): tiny clips generated here by FFmpeg (testsrc 64×48, 10 frames at 10 fps,
// with and without a sine audio track), stylised in-process with the bundled great-wave checkpoint on the default
// engine: same frame count, frame rate, size and audio; .webm, .gif and folders of frames in and out; each bad
// input (corrupt file, no video stream, too many frames, unwritable --out, Ctrl-C) gives its error code and
// leaves no file behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { HokusaiError } from '@hokusai/errors';
import { decodeFrames, findFfmpeg, initBackend, parseFfmpegInfo, probeVideo, type RgbImage } from '@hokusai/node';
import { needs, requirement } from '../../node/test/shared-data.ts';
import { runStylize, stylizeSchema } from '../src/commands/stylize.ts';
import { videoSize } from '../src/commands/stylize-video.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const CKPT = join(ROOT, 'checkpoints/great-wave');

function locate(): { path: string | null; missing: string | null } {
  try {
    return { path: findFfmpeg().path, missing: null };
  } catch (error) {
    return { path: null, missing: (error as Error).message };
  }
}
const ffmpegFound = locate();
const FFMPEG = ffmpegFound.path ?? 'ffmpeg';
const hasFfmpeg = needs('video stylize with FFmpeg', requirement('FFmpeg', ffmpegFound.missing));

let tmp: string;
const logs: string[] = [];

function ctx(signal: AbortSignal = new AbortController().signal) {
  return { log: (l: string) => void logs.push(l), out: () => {}, signal };
}

async function stylize(input: string, out: string, extra: Record<string, unknown> = {}, signal?: AbortSignal): Promise<void> {
  const opts = stylizeSchema.parse({ checkpoint: CKPT, inputs: [input], out, ...extra });
  await runStylize(opts, ctx(signal));
}

async function frames(path: string, width: number, height: number, inputArgs: string[] = []): Promise<RgbImage[]> {
  const all: RgbImage[] = [];
  for await (const f of decodeFrames(FFMPEG, path, { width, height, maxFrames: 1000, inputArgs })) all.push(f);
  return all;
}

function meanAbs(a: RgbImage[], b: RgbImage[]): number {
  let sum = 0;
  let n = 0;
  a.forEach((fa, i) => {
    const fb = b[i] as RgbImage;
    for (let k = 0; k < fa.data.length; k++) sum += Math.abs((fa.data[k] ?? 0) - (fb.data[k] ?? 0));
    n += fa.data.length;
  });
  return sum / n;
}

/** Files in the test folder other than the inputs: outputs and any temporary leftovers. */
function leftovers(names: string[]): string[] {
  return readdirSync(tmp).filter((n) => !names.includes(n));
}

const INPUTS = ['av.mp4', 'v.mp4', 'v.gif', 'corrupt.mp4', 'audio-only.mp4', 'not-a-dir'];

async function expectRefused(input: string, out: string, code: string, extra: Record<string, unknown> = {}, pattern?: RegExp): Promise<void> {
  const error = await stylize(join(tmp, input), out, extra).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HokusaiError);
  expect((error as HokusaiError).code).toBe(code);
  if (pattern) expect((error as HokusaiError).message).toMatch(pattern);
  expect(existsSync(out)).toBe(false);
  expect(leftovers(INPUTS)).toEqual([]);
}

beforeAll(async () => {
  await initBackend('cpu'); // the engine parses checkpoints with tfjs; numTensors needs a backend
  tmp = mkdtempSync(join(tmpdir(), 'hokusai-video-'));
  if (ffmpegFound.path === null) return;
  const gen = (args: string[]): void => void execFileSync(FFMPEG, ['-v', 'error', '-y', ...args], { cwd: tmp });
  const src = ['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10'];
  gen([...src, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', '1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', 'av.mp4']);
  gen([...src, '-frames:v', '10', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', 'v.mp4']);
  gen([...src, '-frames:v', '10', 'v.gif']);
  gen(['-f', 'lavfi', '-i', 'sine', '-t', '0.5', '-c:a', 'aac', 'audio-only.mp4']);
  writeFileSync(join(tmp, 'corrupt.mp4'), readFileSync(join(tmp, 'av.mp4')).subarray(0, 3000));
  writeFileSync(join(tmp, 'not-a-dir'), 'a file');
}, 60_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('video size', () => {
  it('applies --max-size without upscaling and makes sides even for H.264/VP9 only', () => {
    expect(videoSize(640, 360, 320, 'mp4')).toEqual({ width: 320, height: 180 });
    expect(videoSize(64, 48, 1000, 'mp4')).toEqual({ width: 64, height: 48 });
    expect(videoSize(65, 49, undefined, 'webm')).toEqual({ width: 66, height: 50 });
    expect(videoSize(65, 49, undefined, 'gif')).toEqual({ width: 65, height: 49 });
  });

  it('reads size, rate, rotation and audio from ffmpeg -i', () => {
    const text = [
      'Input #0, mov,mp4,m4a,3gp,3g2,mj2, from \'x.mov\':',
      '  Duration: 00:00:02.50, start: 0.000000, bitrate: 98 kb/s',
      '    Stream #0:0(und): Video: h264 (High) (avc1 / 0x31637661), yuv420p, 1920x1080, 14 kb/s, 29.97 fps, 29.97 tbr, 10240 tbn (default)',
      '    Metadata:',
      '      rotate          : 90',
      '    Stream #0:1(und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, mono, fltp, 69 kb/s (default)',
    ].join('\n');
    expect(parseFfmpegInfo(text)).toMatchObject({ width: 1080, height: 1920, fps: '30000/1001', duration: 2.5, estimatedFrames: 75, audioCodec: 'aac' });
    expect(parseFfmpegInfo('    Stream #0:0: Audio: pcm_s16le, 44100 Hz, mono')).toBeNull();
  });
});

describe.runIf(hasFfmpeg)('hokusai stylize on video', () => {
  it('keeps frame count, rate, size and the audio track (mp4 → mp4), without leaking tensors', async () => {
    const out = join(tmp, 'out', 'av-styled.mp4');
    const before = tf.memory().numTensors;
    await stylize(join(tmp, 'av.mp4'), out);
    expect(tf.memory().numTensors).toBe(before);
    const info = await probeVideo(FFMPEG, out);
    expect(info).toMatchObject({ width: 64, height: 48, fps: '10', audioCodec: 'aac', videoCodec: 'h264' });
    const [inFrames, outFrames] = await Promise.all([frames(join(tmp, 'av.mp4'), 64, 48), frames(out, 64, 48)]);
    expect(outFrames).toHaveLength(inFrames.length);
    expect(outFrames.length).toBeGreaterThanOrEqual(10);
    expect(meanAbs(inFrames, outFrames)).toBeGreaterThan(20); // painted, not copied
    rmSync(join(tmp, 'out'), { recursive: true });
  }, 120_000);

  it('--strength 0 gives the input back (gif → PNG frames, both lossless); --max-size scales (mp4 → webm, no audio)', async () => {
    const dir = join(tmp, 'weak');
    await stylize(join(tmp, 'v.gif'), dir, { strength: 0 });
    const list = join(tmp, 'weak.txt');
    writeFileSync(list, readdirSync(dir).sort().map((n) => `file '${join(dir, n)}'\n`).join(''));
    const [a, b] = await Promise.all([frames(join(tmp, 'v.gif'), 64, 48), frames(list, 64, 48, ['-f', 'concat', '-safe', '0'])]);
    expect(b).toHaveLength(10);
    expect(meanAbs(a, b)).toBeLessThan(0.5);
    rmSync(dir, { recursive: true });
    rmSync(list);
    const small = join(tmp, 'small.webm');
    await stylize(join(tmp, 'v.mp4'), small, { maxSize: 32 });
    expect(await probeVideo(FFMPEG, small)).toMatchObject({ width: 32, height: 24, fps: '10', audioCodec: null, videoCodec: 'vp9' });
    expect(await frames(small, 32, 24)).toHaveLength(10);
    rmSync(small);
  }, 120_000);

  it('gif → folder of frames → gif at --fps', async () => {
    const dir = join(tmp, 'frames');
    await stylize(join(tmp, 'v.gif'), dir);
    const names = readdirSync(dir).sort();
    expect(names).toHaveLength(10);
    expect(names[0]).toBe('frame_000001.png');
    const gif = join(tmp, 'back.gif');
    await stylize(dir, gif, { fps: 5 });
    const info = await probeVideo(FFMPEG, gif);
    expect(info).toMatchObject({ width: 64, height: 48, fps: '5', videoCodec: 'gif' });
    expect(await frames(gif, 64, 48)).toHaveLength(10);
    rmSync(dir, { recursive: true });
    rmSync(gif);
  }, 120_000);

  it('refuses bad input with a clear error and leaves nothing behind', async () => {
    const out = join(tmp, 'bad.mp4');
    await expectRefused('corrupt.mp4', out, 'IMAGE_DECODE', {}, /expected a video FFmpeg can read/);
    await expectRefused('audio-only.mp4', out, 'UNSUPPORTED_MEDIA_TYPE', {}, /expected a video stream, but the file has none \(streams: audio aac\)/);
    await expectRefused('v.mp4', out, 'PAYLOAD_TOO_LARGE', { maxFrames: 5 }, /--max-frames 5/); // from the duration, before work
    await expectRefused('v.gif', out, 'PAYLOAD_TOO_LARGE', { maxFrames: 5 }, /--max-frames 5/); // GIF has none: counted while decoding
    await expectRefused('v.mp4', join(tmp, 'not-a-dir', 'x.mp4'), 'IO', {}, /cannot write in/);
    await expectRefused('v.mp4', join(tmp, 'x.png'), 'INVALID_ARGUMENT', {}, /expected a file name ending in \.mp4/);
  }, 180_000);

  it('Ctrl-C stops, says INTERRUPTED and removes the partial output', async () => {
    const controller = new AbortController();
    const out = join(tmp, 'cut.mp4');
    const opts = stylizeSchema.parse({ checkpoint: CKPT, inputs: [join(tmp, 'v.mp4')], out });
    const c = { ...ctx(controller.signal), log: (l: string) => void (l.includes('→') && controller.abort()) };
    const error = await runStylize(opts, c).then(
      () => null,
      (e: unknown) => e,
    );
    expect((error as HokusaiError).code).toBe('INTERRUPTED');
    expect(existsSync(out)).toBe(false);
    expect(leftovers(INPUTS)).toEqual([]);
  }, 60_000);

  it('several clips as inputs are an image job: each is reported as an unreadable image', async () => {
    const list = join(tmp, 'list');
    copyFileSync(join(tmp, 'v.mp4'), join(tmp, 'v2.mp4'));
    const error = await runStylize(stylizeSchema.parse({ checkpoint: CKPT, inputs: [join(tmp, 'v.mp4'), join(tmp, 'v2.mp4')], out: list }), ctx()).then(
      () => null,
      (e: unknown) => e,
    );
    rmSync(join(tmp, 'v2.mp4'));
    rmSync(list, { recursive: true, force: true });
    // several inputs are an image job: the clips are reported as unreadable images
    expect((error as HokusaiError).code).toBe('UNSUPPORTED_MEDIA_TYPE');
  }, 60_000);
});

describe('finding FFmpeg', () => {
  it('HOKUSAI_FFMPEG pointing nowhere is BACKEND_UNAVAILABLE; nothing anywhere names the install commands', () => {
    expect(() => findFfmpeg({ HOKUSAI_FFMPEG: join(tmpdir(), 'no-such-ffmpeg') })).toThrow(/HOKUSAI_FFMPEG=.*expected an executable ffmpeg/);
    let error: unknown = null;
    try {
      findFfmpeg({ PATH: '' });
    } catch (e) {
      error = e;
    }
    // with the optional npm package installed it is found; otherwise the message names the install commands
    if (error === null) expect(findFfmpeg({ PATH: '' }).source).toBe('npm');
    else expect((error as HokusaiError).message).toMatch(/npm install @ffmpeg-installer\/ffmpeg.*apt-get install ffmpeg/);
  });
});
