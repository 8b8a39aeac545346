/**
 * `hokusai flicker --checkpoint <dir> [--checkpoint <dir>…]`: the temporal stability of frame-by-frame networks
 * (issue 21.2), with no optical flow: clips made from a still photo by exact sub-pixel pan and zoom plus sensor-like
 * noise, and a static clip with noise only (src/flicker/motion-clip.ts), each stylised frame by frame on the engine
 * `stylize` uses; flicker = mean |out_t − warp(out_{t−1})| / mean |in_t − warp(in_{t−1})| (flicker-measure.ts).
 * 1 = the output changes as much as the input; the higher, the more the painted texture flickers.
 */
import { z } from 'zod';
import { HokusaiError, InvalidArgumentError } from '@hokusai/errors';
import {
  readImage,
  type RgbImage,
  makeMotionClip,
  type MotionKind,
  measureFlicker,
  meanWarpedChange,
  flickerRatio,
  type FlickerResult,
} from '@hokusai/node';
import { defineCommand, type CommandContext, type CommandSpec } from '../command.ts';
import { backendOption } from '@hokusai/train';
import { openEngine } from './stylize.ts';

export const flickerSchema = z.object({
  checkpoint: z.array(z.string().min(1)).min(1).describe('checkpoint folder(s) to measure'),
  photo: z.string().min(1).default('examples/photos/chelsea.jpg').describe('the still the clips are made from (path from the working directory)'),
  size: z.number().int().min(32).max(2048).default(256).describe('long edge of the clip frames in pixels'),
  frames: z.number().int().min(2).max(1000).default(12).describe('frames per clip'),
  noise: z.number().min(0).max(64).default(2).describe('sensor noise σ per frame, in grey levels (0–255)'),
  seed: z.number().int().default(21).describe('noise seed'),
  json: z.boolean().default(false).describe('print the results as JSON'),
  backend: backendOption,
});

export type FlickerOptions = z.infer<typeof flickerSchema>;

export const FLICKER_CLIPS: readonly MotionKind[] = ['pan', 'zoom', 'static'];

export interface FlickerReport {
  photo: string;
  width: number;
  height: number;
  frames: number;
  noise: number;
  results: { checkpoint: string; clips: Record<MotionKind, ClipFlicker> }[];
}

/**
 * One clip's flicker, and its floor: the flicker the same network would measure if it had no flicker at all, its
 * painting of the whole still moved exactly as the clip moves the photo (no noise). What is left above the floor is
 * what a stabler network can remove; the floor is texture the warp cannot follow exactly.
 */
export interface ClipFlicker extends FlickerResult {
  floor: number;
}

/** The still, sized so a frame of long edge `size` fits with a 10% margin per side under the default motions. */
async function loadStill(photo: string, size: number): Promise<{ still: RgbImage; width: number; height: number }> {
  const still = await readImage(photo, { longEdge: Math.ceil(size * 1.25), label: `--photo ${photo}` });
  const width = Math.floor(still.width * 0.8);
  const height = Math.floor(still.height * 0.8);
  return { still, width, height };
}

export async function runFlicker(opts: FlickerOptions, ctx: CommandContext): Promise<FlickerReport> {
  const { still, width, height } = await loadStill(opts.photo, opts.size);
  if (Math.min(width, height) < 16) throw new InvalidArgumentError(`--photo ${opts.photo}: expected a photo whose short side gives ≥ 16 px frames, got ${width}×${height}`);
  const clips = FLICKER_CLIPS.map((kind) => ({ kind, clip: makeMotionClip(still, { width, height, frames: opts.frames, kind, noise: opts.noise, seed: opts.seed }) }));
  ctx.log(`clips: ${FLICKER_CLIPS.join(', ')}, ${opts.frames} frames ${width}×${height} from ${opts.photo}, noise σ ${opts.noise}`);
  const report: FlickerReport = { photo: opts.photo, width, height, frames: opts.frames, noise: opts.noise, results: [] };
  for (const checkpoint of opts.checkpoint) {
    const { engine, summary } = await openEngine(checkpoint, opts.backend, ctx.log);
    ctx.log(`${summary} on ${engine.label}`);
    try {
      const byClip = {} as Record<MotionKind, ClipFlicker>;
      const painted = await engine.stylize(still, { strength: 1, preserveColors: false });
      for (const { kind, clip } of clips) {
        if (ctx.signal.aborted) throw new HokusaiError('INTERRUPTED', `interrupted while measuring ${checkpoint}`);
        const outputs: RgbImage[] = [];
        for (const frame of clip.frames) outputs.push(await engine.stylize(frame, { strength: 1, preserveColors: false }));
        const measured = measureFlicker(clip.frames, outputs, clip.poses);
        const ideal = makeMotionClip(painted, { width, height, frames: opts.frames, kind, noise: 0 });
        byClip[kind] = { ...measured, floor: flickerRatio(meanWarpedChange(ideal.frames, clip.poses), measured.inputChange) };
      }
      report.results.push({ checkpoint, clips: byClip });
    } finally {
      engine.dispose();
    }
  }
  if (opts.json) ctx.out(`${JSON.stringify(report, null, 2)}\n`);
  else ctx.out(formatReport(report));
  return report;
}

/** A Markdown table: one row per checkpoint, flicker per clip, the floors, and the inputs' own change for reference. */
export function formatReport(r: FlickerReport): string {
  const moving = FLICKER_CLIPS.filter((k) => k !== 'static');
  const head = `| checkpoint | ${FLICKER_CLIPS.map((k) => `${k} flicker`).join(' | ')} | ${moving.map((k) => `${k} floor`).join(' | ')} | ${FLICKER_CLIPS.map((k) => `${k} Δout`).join(' | ')} |`;
  const rule = `|${'---|'.repeat(1 + 2 * FLICKER_CLIPS.length + moving.length)}`;
  const cells = (x: FlickerReport['results'][number], f: (c: ClipFlicker) => number, kinds: readonly MotionKind[]) => kinds.map((k) => f(x.clips[k]).toFixed(2)).join(' | ');
  const rows = r.results.map(
    (x) => `| ${x.checkpoint} | ${cells(x, (c) => c.flicker, FLICKER_CLIPS)} | ${cells(x, (c) => c.floor, moving)} | ${cells(x, (c) => c.outputChange, FLICKER_CLIPS)} |`,
  );
  const first = r.results[0];
  const inputs = first === undefined ? '' : `inputs' own change Δin (grey levels): ${FLICKER_CLIPS.map((k) => `${k} ${first.clips[k].inputChange.toFixed(2)}`).join(', ')}\n`;
  return `${[head, rule, ...rows].join('\n')}\n${inputs}`;
}

export const commands: CommandSpec[] = [
  defineCommand({
    name: 'flicker',
    summary: 'measure how much networks flicker on clips of known motion (pan, zoom, static noise)',
    schema: flickerSchema,
    aliases: { checkpoint: 'c' },
    run: async (opts, ctx) => {
      await runFlicker(opts, ctx);
    },
  }) as unknown as CommandSpec,
];
