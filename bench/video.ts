// Video throughput of `hokusai stylize` (issue 21) on the default engine (onnxruntime on the CPU): a 640×360 clip
// made here from a photo by FFmpeg (a slow zoom, --frames frames at 25 fps, H.264), stylised as a clip (decode,
// stylise, encode, all in-process as the CLI runs it) next to the same frames as stills: (a) the engine alone on
// the decoded frames in memory, (b) `hokusai stylize` on a folder of the frames as PNG images. Prints frames/s,
// the ratios, and the load average (the 2 cores are shared).
//   npx tsx bench/video.ts [--frames 48] [--photo examples/photos/chelsea.jpg] [--checkpoint checkpoints/great-wave]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RgbImage } from '@hokusai/node';
import { parseArgs, printTable } from './bench-util.ts';

// after bench-util's resolve hook
const { decodeFrames, findFfmpeg, writeImage } = await import('@hokusai/node');
const { openEngine, runStylize, stylizeSchema } = await import('../packages/cli/src/commands/stylize.ts');

const ROOT = resolve(import.meta.dirname, '..');
const args = parseArgs({ frames: '48', photo: join(ROOT, 'examples/photos/chelsea.jpg'), checkpoint: join(ROOT, 'checkpoints/great-wave') });
const n = Number(args.frames);
const ffmpeg = findFfmpeg().path;
const tmp = mkdtempSync(join(tmpdir(), 'hokusai-bench-video-'));
const load = (): string => loadavg()[0]!.toFixed(1);
const ctx = { log: () => {}, out: () => {}, signal: new AbortController().signal };

try {
  const clip = join(tmp, 'clip.mp4');
  const zoom = `scale=1280:720,zoompan=z='1+0.002*on':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d=${n}:s=640x360:fps=25`;
  execFileSync(ffmpeg, ['-v', 'error', '-y', '-i', args.photo!, '-vf', zoom, '-frames:v', String(n), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', clip]);
  const frames: RgbImage[] = [];
  for await (const f of decodeFrames(ffmpeg, clip, { width: 640, height: 360, maxFrames: n })) frames.push(f);
  const stills = join(tmp, 'stills');
  mkdirSync(stills);
  await Promise.all(frames.map((f, i) => writeImage(join(stills, `f${String(i).padStart(4, '0')}.png`), f, { format: 'png' })));
  console.log(`${frames.length} frames 640×360 from ${args.photo}; load ${load()}`);

  const { engine } = await openEngine(args.checkpoint!, 'auto', () => {});
  await engine.stylize(frames[0]!, { strength: 1, preserveColors: false }); // warm-up
  let t0 = performance.now();
  for (const f of frames) await engine.stylize(f, { strength: 1, preserveColors: false });
  const engineS = (performance.now() - t0) / 1000;
  const label = engine.label;
  engine.dispose();
  console.log(`engine on frames in memory: ${engineS.toFixed(1)} s; load ${load()}`);

  t0 = performance.now();
  await runStylize(stylizeSchema.parse({ checkpoint: args.checkpoint, inputs: [stills], out: join(tmp, 'stills-out') }), ctx);
  const stillsS = (performance.now() - t0) / 1000;
  console.log(`hokusai stylize on the PNG folder: ${stillsS.toFixed(1)} s; load ${load()}`);

  t0 = performance.now();
  await runStylize(stylizeSchema.parse({ checkpoint: args.checkpoint, inputs: [clip], out: join(tmp, 'out.mp4') }), ctx);
  const videoS = (performance.now() - t0) / 1000;
  console.log(`hokusai stylize on the clip: ${videoS.toFixed(1)} s; load ${load()}`);

  const fps = (s: number): string => (frames.length / s).toFixed(2);
  console.log(`\n${label}, ${frames.length} frames at 640×360, load at the end ${load()}`);
  printTable(
    ['run', 'seconds', 'frames/s', 'clip ÷ this (time)'],
    [
      ['clip.mp4 → out.mp4 (decode + stylise + encode)', videoS.toFixed(1), fps(videoS), '1.00'],
      ['engine alone, frames in memory', engineS.toFixed(1), fps(engineS), (videoS / engineS).toFixed(2)],
      ['folder of PNG stills → folder (image stylize)', stillsS.toFixed(1), fps(stillsS), (videoS / stillsS).toFixed(2)],
    ],
  );
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
