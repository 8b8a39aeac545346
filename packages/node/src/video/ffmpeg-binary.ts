/**
 * Where the FFmpeg program comes from, for video stylisation (video-decode.ts, video-encode.ts). In this order:
 * $HOKUSAI_FFMPEG (a path to an ffmpeg executable), an `ffmpeg` on PATH, then the optional npm dependency
 * @ffmpeg-installer/ffmpeg (a static binary for the platform inside the npm tarball; GPLv3, run as a separate
 * process, never linked). None found: BACKEND_UNAVAILABLE naming the install commands.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { HokusaiError } from '@hokusai/errors';

export const FFMPEG_ENV = 'HOKUSAI_FFMPEG';

export interface FfmpegBinary {
  path: string;
  /** Where it was found. */
  source: 'env' | 'path' | 'npm';
}

const INSTALL_HINT =
  'install one: `npm install @ffmpeg-installer/ffmpeg` (a static binary, in the repo: `npm install --include=optional`), ' +
  '`sudo apt-get install ffmpeg` (Debian/Ubuntu), `brew install ffmpeg` (macOS), or set ' +
  `${FFMPEG_ENV}=/path/to/ffmpeg`;

function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(env: NodeJS.ProcessEnv): string | null {
  const names = process.platform === 'win32' ? ['ffmpeg.exe', 'ffmpeg'] : ['ffmpeg'];
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    for (const name of names) {
      const full = join(dir, name);
      if (isExecutable(full)) return full;
    }
  }
  return null;
}

function fromNpm(): string | null {
  try {
    const require = createRequire(import.meta.url);
    const mod = require('@ffmpeg-installer/ffmpeg') as { path?: unknown };
    return typeof mod.path === 'string' && existsSync(mod.path) ? mod.path : null;
  } catch {
    return null; // not installed, or no binary for this platform
  }
}

/** Finds ffmpeg ($HOKUSAI_FFMPEG > PATH > @ffmpeg-installer/ffmpeg); throws BACKEND_UNAVAILABLE with install commands. */
export function findFfmpeg(env: NodeJS.ProcessEnv = process.env): FfmpegBinary {
  const explicit = env[FFMPEG_ENV];
  if (explicit !== undefined && explicit !== '') {
    if (!isExecutable(explicit)) {
      throw new HokusaiError('BACKEND_UNAVAILABLE', `${FFMPEG_ENV}="${explicit}": expected an executable ffmpeg, found none there`);
    }
    return { path: explicit, source: 'env' };
  }
  const path = onPath(env);
  if (path !== null) return { path, source: 'path' };
  const npm = fromNpm();
  if (npm !== null) return { path: npm, source: 'npm' };
  throw new HokusaiError('BACKEND_UNAVAILABLE', `video needs FFmpeg, and none was found (${FFMPEG_ENV}, PATH, @ffmpeg-installer/ffmpeg); ${INSTALL_HINT}`);
}

/** Runs ffmpeg to completion, collecting stderr (bounded); resolves with the exit code (null: killed). */
export function runFfmpeg(ffmpeg: string, args: string[], signal?: AbortSignal): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, args, { stdio: ['ignore', 'ignore', 'pipe'], ...(signal === undefined ? {} : { signal }) });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      if (stderr.length < 1 << 20) stderr += s;
    });
    child.on('error', (error) => {
      if ((error as { name?: string }).name === 'AbortError') resolve({ code: null, stderr });
      else reject(new HokusaiError('BACKEND_UNAVAILABLE', `cannot run ffmpeg "${ffmpeg}": ${error.message}`, { cause: error }));
    });
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

/** The last few meaningful lines of ffmpeg's stderr, for error messages. */
export function ffmpegTail(stderr: string, lines = 3): string {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .slice(-lines)
    .join(' / ');
}
