/**
 * A folder of still frames as a video source: its image files in natural name order (frame2 before frame10),
 * listed for FFmpeg's concat demuxer so they decode through the same pipe as a clip (video-decode.ts).
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { NotFoundError } from '@hokusai/errors';

const FRAME_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.bmp', '.tif', '.tiff']);

export interface FrameList {
  /** The concat list to pass to FFmpeg with `inputArgs`. */
  path: string;
  inputArgs: string[];
  count: number;
  /** Removes the list file. */
  dispose(): Promise<void>;
}

/** Image files directly in `dir`, sorted by name with numbers compared as numbers. */
export async function listFrameFiles(dir: string): Promise<string[]> {
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile() && !e.name.startsWith('.') && FRAME_EXTENSIONS.has(extname(e.name).toLowerCase()))
    .map((e) => e.name);
  names.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return names.map((n) => resolve(dir, n));
}

/** Writes FFmpeg's concat list for the frames in `dir` (in a private temporary folder). NOT_FOUND when there are none. */
export async function frameListFor(dir: string): Promise<FrameList> {
  const files = await listFrameFiles(dir);
  if (files.length === 0) throw new NotFoundError(`input "${dir}": expected a folder of frames (.png, .jpg, .webp, …), found no image files`);
  const tmp = await mkdtemp(join(tmpdir(), 'hokusai-frames-'));
  const path = join(tmp, 'frames.txt');
  await writeFile(path, `ffconcat version 1.0\n${files.map((f) => `file '${f.replaceAll("'", "'\\''")}'\n`).join('')}`);
  return { path, inputArgs: ['-f', 'concat', '-safe', '0'], count: files.length, dispose: () => rm(tmp, { recursive: true, force: true }) };
}
