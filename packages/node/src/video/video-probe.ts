/**
 * What a video file holds, read from `ffmpeg -i`'s stream summary (ffprobe is not shipped by
 * @ffmpeg-installer/ffmpeg): size (after the rotation FFmpeg applies when decoding), frame rate, duration,
 * codecs, and whether there is audio. A file FFmpeg cannot open is IMAGE_DECODE; one without a video stream is
 * UNSUPPORTED_MEDIA_TYPE.
 */
import { stat } from 'node:fs/promises';
import { HokusaiError, ImageError, NotFoundError } from '@hokusai/errors';
import { ffmpegTail, runFfmpeg } from './ffmpeg-binary.ts';

export interface VideoInfo {
  width: number;
  height: number;
  /** Frame rate as FFmpeg takes it (`30000/1001`, `25`). */
  fps: string;
  /** Frame rate as a number. */
  fpsValue: number;
  /** Seconds; null when the container does not say (e.g. GIF). */
  duration: number | null;
  /** Frames expected from duration × fps; null when unknown. */
  estimatedFrames: number | null;
  videoCodec: string;
  /** Codec of the first audio stream; null when there is none. */
  audioCodec: string | null;
}

/** Common NTSC rates FFmpeg prints rounded. */
const EXACT_RATES: Record<string, string> = { '23.98': '24000/1001', '29.97': '30000/1001', '59.94': '60000/1001', '119.88': '120000/1001' };

function parseRate(text: string): { fps: string; value: number } | null {
  const m = /^([\d.]+)(k?)$/.exec(text);
  if (!m) return null;
  const value = Number(m[1]) * (m[2] === 'k' ? 1000 : 1);
  if (!Number.isFinite(value) || value <= 0) return null;
  const exact = EXACT_RATES[m[1] ?? ''];
  if (exact !== undefined) {
    const [n, d] = exact.split('/').map(Number) as [number, number];
    return { fps: exact, value: n / d };
  }
  return { fps: String(value), value };
}

/** Parses the stream summary `ffmpeg -hide_banner -i <file>` prints on stderr; null when it shows no video stream. */
export function parseFfmpegInfo(stderr: string): VideoInfo | null {
  const video = /Stream #\d+:\d+[^:]*: Video: ([^\s,]+)[^\n]*/.exec(stderr);
  if (!video) return null;
  const line = video[0];
  const size = /, (\d+)x(\d+)[\s,]/.exec(line);
  if (!size) return null;
  let width = Number(size[1]);
  let height = Number(size[2]);
  const rate = /, ([\d.]+k?) fps/.exec(line) ?? /, ([\d.]+k?) tbr/.exec(line);
  const parsedRate = rate ? parseRate(rate[1] ?? '') : null;
  // FFmpeg rotates frames by the stream's rotation when decoding: report the size the frames will have.
  const after = stderr.slice(video.index, video.index + 1500).split(/\n\s*Stream #/)[0] ?? '';
  const rot = /rotate\s*:\s*(-?\d+)/.exec(after) ?? /rotation of (-?[\d.]+) degrees/.exec(after);
  if (rot && Math.abs(Math.round(Number(rot[1]))) % 180 === 90) [width, height] = [height, width];
  const dur = /Duration: (\d+):(\d+):([\d.]+)/.exec(stderr);
  const duration = dur ? Number(dur[1]) * 3600 + Number(dur[2]) * 60 + Number(dur[3]) : null;
  const fpsValue = parsedRate?.value ?? 25;
  const audio = /Stream #\d+:\d+[^:]*: Audio: ([^\s,]+)/.exec(stderr);
  return {
    width,
    height,
    fps: parsedRate?.fps ?? '25',
    fpsValue,
    duration,
    estimatedFrames: duration === null ? null : Math.round(duration * fpsValue),
    videoCodec: video[1] ?? 'unknown',
    audioCodec: audio ? (audio[1] ?? null) : null,
  };
}

/** Probes a video file: NOT_FOUND, IMAGE_DECODE (not a readable container), UNSUPPORTED_MEDIA_TYPE (no video). */
export async function probeVideo(ffmpeg: string, path: string, inputArgs: string[] = []): Promise<VideoInfo> {
  const s = await stat(path).catch(() => null);
  if (s === null || !s.isFile()) throw new NotFoundError(`input "${path}": no such video file`);
  const { stderr } = await runFfmpeg(ffmpeg, ['-hide_banner', '-nostdin', ...inputArgs, '-i', path]);
  // ffmpeg -i without an output always exits 1; what matters is whether it printed an input summary.
  if (!/^Input #0/m.test(stderr)) {
    throw new ImageError('IMAGE_DECODE', `input "${path}": expected a video FFmpeg can read, got an unreadable or corrupt file (${ffmpegTail(stderr, 2)})`);
  }
  const info = parseFfmpegInfo(stderr);
  if (info === null) {
    throw new ImageError('UNSUPPORTED_MEDIA_TYPE', `input "${path}": expected a video stream, but the file has none (${describeStreams(stderr)})`);
  }
  if (info.width <= 0 || info.height <= 0) throw new HokusaiError('IMAGE_DECODE', `input "${path}": video size ${info.width}×${info.height}`);
  return info;
}

function describeStreams(stderr: string): string {
  const kinds = [...stderr.matchAll(/Stream #\d+:\d+[^:]*: (\w+): ([^\s,]+)/g)].map((m) => `${m[1]?.toLowerCase()} ${m[2]}`);
  return kinds.length === 0 ? 'no streams' : `streams: ${kinds.join(', ')}`;
}
