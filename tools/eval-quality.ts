/**
 * Issue 22's quality criteria for style networks, measured on the held-out photos (tools/held-out-photos.json) at
 * 512 px: prints one markdown table per style × photo with (1) the style-loss ratio (against the painting at the
 * size the network was trained at), (2) the face content loss and
 * its ratio to the imported Engstrom `wave` network's, (3) luma-std and colourfulness ratios, (4) grid score and
 * border steps, and a pass/fail per criterion (measures and thresholds: tools/quality-measures.ts); optionally
 * writes a contact sheet (`--sheet file.jpg|png`: the photos, then one row per network).
 *
 * Usage: nice node tools/run-ts.mjs tools/eval-quality.ts [checkpoint-dir ...] [--sheet out/sheet.jpg]
 *   [--out dir] [--photos kodim04.png,kodim14.png] [--no-reference] [--backend wasm]
 * Default checkpoints: every style in checkpoints/; the reference networks (`wave`, `udnie` from
 * $HOKUSAI_SHARED/reference-models, imported with `hokusai import ml5`) are added unless --no-reference (`wave`
 * is always measured: criterion 2 is relative to it). Outputs come from `hokusai stylize` (its default engine).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@hokusai/errors';
import { readKerasVggH5 } from '@hokusai/losses';
import { initBackend, probeImage, readImage, rgbToTensor, sharedPath, writeFileAtomic, writeImage, BACKEND_NAMES, type BackendName } from '@hokusai/node';
import { renderContactSheet, type SheetCell } from '@hokusai/optimize';
import { borderSteps, colourStats, colourVerdict, CRITERIA, QualityVgg, BORDERS, type Border, type Box, type ColourStats } from './quality-measures.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HOKUSAI = join(ROOT, 'node_modules/.bin/hokusai');
/** Long edge of the photos and outputs (the criteria's size; the face boxes are in its pixels). */
const SIZE = 512;

const optionsSchema = z.object({
  checkpoints: z.array(z.string().min(1)).default([]),
  reference: z.boolean().default(true),
  photos: z.array(z.string().min(1)).optional(),
  sheet: z.string().regex(/\.(jpe?g|png)$/i, 'a .jpg or .png path').optional(),
  out: z.string().min(1).optional(),
  weights: z.string().min(1).default(sharedPath('weights/vgg19-keras/vgg19_notop.h5')),
  backend: z.enum(BACKEND_NAMES as unknown as [BackendName, ...BackendName[]]).default('wasm'),
});
type Options = z.infer<typeof optionsSchema>;

/** The reference networks of ../shared/reference-models and the paintings they were trained on. */
const REFERENCES = { wave: 'great_wave_hokusai.jpg', udnie: 'udnie_picabia.jpg' } as const;

interface HeldOut {
  file: string;
  box?: Box;
  what: string;
  sheet: boolean;
}

interface Network {
  id: string;
  dir: string;
  painting: string;
  /** Long edge of the painting the network was trained against (null: unknown, an imported network). */
  trainedStyleSize: number | null;
}

const started = Date.now();
const log = (line: string): void => void process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0)} s] ${line}\n`);

function parseOptions(argv: string[]): Options {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      sheet: { type: 'string' },
      out: { type: 'string' },
      photos: { type: 'string' },
      weights: { type: 'string' },
      backend: { type: 'string' },
      'no-reference': { type: 'boolean' },
    },
  });
  const parsed = optionsSchema.safeParse({
    checkpoints: positionals,
    reference: !values['no-reference'],
    photos: values.photos?.split(',').filter(Boolean),
    sheet: values.sheet,
    out: values.out,
    weights: values.weights,
    backend: values.backend,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidArgumentError(`--${String(issue.path[0] ?? 'checkpoints')}: ${issue.message}`);
  }
  return parsed.data;
}

function heldOutPhotos(only: string[] | undefined): HeldOut[] {
  const all = (JSON.parse(readFileSync(join(ROOT, 'tools/held-out-photos.json'), 'utf8')) as { photos: HeldOut[] }).photos;
  if (!only) return all;
  const unknown = only.filter((f) => !all.some((p) => p.file === f));
  if (unknown.length) throw new InvalidArgumentError(`--photos: expected held-out photos (${all.map((p) => p.file).join(', ')}), got ${unknown.join(', ')}`);
  return all.filter((p) => only.includes(p.file));
}

function hokusai(args: string[]): void {
  execFileSync(HOKUSAI, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function ourNetwork(dir: string): Network {
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { styleImages?: { file: string }[]; training?: { styleSize?: number } | null };
  const painting = meta.styleImages?.[0]?.file;
  if (!painting) throw new InvalidArgumentError(`${dir}/meta.json: expected styleImages[0].file (the painting), got none`);
  return { id: basename(resolve(dir)), dir, painting: basename(painting), trainedStyleSize: meta.training?.styleSize ?? null };
}

function networks(opts: Options, tmp: string): Network[] {
  const dirs = opts.checkpoints.length
    ? opts.checkpoints
    : readdirSync(join(ROOT, 'checkpoints'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(ROOT, 'checkpoints', e.name));
  const nets = dirs.map(ourNetwork);
  const refs = opts.reference ? (Object.keys(REFERENCES) as (keyof typeof REFERENCES)[]) : (['wave'] as const);
  for (const id of refs) {
    const dir = join(tmp, `ref-${id}`);
    if (!existsSync(join(dir, 'model.json'))) hokusai(['import', 'ml5', sharedPath(`reference-models/engstrom-${id}/variables`), '--out', dir, '--force']);
    nets.push({ id, dir, painting: REFERENCES[id], trainedStyleSize: null });
  }
  return nets;
}

/** Grid scores (tools/grid-score.py) of image files, by path. */
function gridScores(paths: string[]): Map<string, number> {
  const out = execFileSync('/usr/bin/python3', [join(ROOT, 'tools/grid-score.py'), ...paths], { encoding: 'utf8' });
  const scores = new Map<string, number>();
  for (const line of out.trim().split('\n')) {
    const [path, score] = line.split('\t');
    scores.set(path!, Number(score!.replace('grid score ', '')));
  }
  return scores;
}

async function loadTensor(path: string, opts: { longEdge?: number } = {}): Promise<tf.Tensor3D> {
  return rgbToTensor(await readImage(path, opts));
}

/** The held-out photos at SIZE px long edge, as PNG files in `dir` (the stylised outputs are made from these). */
async function writePhotos(photos: HeldOut[], dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const p of photos) {
    const img = await readImage(sharedPath(`images/content/${p.file}`), { maxSize: SIZE });
    await writeImage(join(dir, `${stem(p.file)}.png`), img, { format: 'png' });
  }
}

const stem = (file: string): string => basename(file, extname(file));
const photoPath = (tmp: string, p: HeldOut): string => join(tmp, 'photos', `${stem(p.file)}.png`);
const outputPath = (tmp: string, net: Network, p: HeldOut): string => join(tmp, net.id, `${stem(p.file)}.png`);

interface Painting {
  grams: Record<string, tf.Tensor3D>;
  stats: ColourStats;
}

/**
 * The painting's Gram targets and colour figures at the size the network was trained against (meta.json's
 * styleSize, as tools/eval-bundled.sh; the presets train at the painting's own size), else at its own size.
 */
async function paintingFigures(vgg: QualityVgg, net: Network, cache: Map<string, Painting>): Promise<Painting> {
  const key = `${net.painting}@${net.trainedStyleSize ?? 'own'}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const size = net.trainedStyleSize === null ? {} : { longEdge: net.trainedStyleSize };
  const t = await loadTensor(sharedPath(`images/styles/${net.painting}`), size);
  const figures = { grams: vgg.grams(t), stats: await colourStats(t) };
  t.dispose();
  cache.set(key, figures);
  return figures;
}

interface PhotoFigures {
  image: tf.Tensor3D;
  grams: Record<string, tf.Tensor3D>;
  stats: ColourStats;
  steps: Record<Border, number>;
}

/** Criteria 1, 3 and 4's border steps and criterion 2's raw face loss of one network on one photo. */
async function measureOne(vgg: QualityVgg, net: Network, photo: HeldOut, ph: PhotoFigures, painting: Painting, outPath: string) {
  const o = await loadTensor(outPath);
  try {
    if (o.shape.join() !== ph.image.shape.join()) {
      throw new InvalidArgumentError(`${outPath}: expected the photo's size ${ph.image.shape[1]}×${ph.image.shape[0]}, got ${o.shape[1]}×${o.shape[0]}`);
    }
    const grams = vgg.grams(o);
    const styleOut = await vgg.styleLoss(grams, painting.grams);
    tf.dispose(Object.values(grams));
    const styleRatio = styleOut / (await vgg.styleLoss(ph.grams, painting.grams));
    const faceLoss = photo.box ? await vgg.cropContentLoss(o, ph.image, photo.box) : null;
    const stats = await colourStats(o);
    const steps = await borderSteps(o);
    const borderDiff = Object.fromEntries(BORDERS.map((b) => [b, steps[b] - ph.steps[b]])) as Record<Border, number>;
    return {
      styleRatio,
      faceLoss,
      luma: colourVerdict(stats.lumaStd, ph.stats.lumaStd, painting.stats.lumaStd, CRITERIA.minLumaStdRatio),
      colour: colourVerdict(stats.colourfulness, ph.stats.colourfulness, painting.stats.colourfulness, CRITERIA.minColourfulnessRatio),
      paintingLuma: painting.stats.lumaStd / ph.stats.lumaStd,
      paintingColour: painting.stats.colourfulness / ph.stats.colourfulness,
      borderDiff,
    };
  } finally {
    o.dispose();
  }
}

type Row = { net: Network; photo: HeldOut; grid: number; photoGrid: number } & Awaited<ReturnType<typeof measureOne>>;

async function measureAll(opts: Options, nets: Network[], photos: HeldOut[], tmp: string, grids: Map<string, number>): Promise<Row[]> {
  const vgg = new QualityVgg(await readKerasVggH5(new Uint8Array(readFileSync(opts.weights))));
  const paintings = new Map<string, Painting>();
  const rows: Row[] = [];
  try {
    for (const photo of photos) {
      const image = await loadTensor(photoPath(tmp, photo));
      const ph: PhotoFigures = { image, grams: vgg.grams(image), stats: await colourStats(image), steps: await borderSteps(image) };
      try {
        for (const net of nets) {
          const out = outputPath(tmp, net, photo);
          const m = await measureOne(vgg, net, photo, ph, await paintingFigures(vgg, net, paintings), out);
          rows.push({ net, photo, grid: grids.get(out)!, photoGrid: grids.get(photoPath(tmp, photo))!, ...m });
          log(`measured ${net.id} × ${photo.file}`);
        }
      } finally {
        tf.dispose([image, ...Object.values(ph.grams)]);
      }
    }
  } finally {
    for (const p of paintings.values()) tf.dispose(Object.values(p.grams));
    vgg.dispose();
  }
  return rows;
}

const mark = (pass: boolean | null): string => (pass === null ? 'n/a' : pass ? 'pass' : '**FAIL**');
const fix = (v: number, d = 2): string => v.toFixed(d);
const signed = (v: number): string => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(0)}`;

/** The verdicts of one row, criterion 1..4 (null: not applicable, a photo without a face box). */
function verdicts(row: Row, waveFace: number | null): [boolean, boolean | null, boolean, boolean] {
  const face = row.faceLoss === null || waveFace === null ? null : row.faceLoss <= CRITERIA.maxFaceLossVsReference * waveFace;
  const border = BORDERS.every((b) => Math.abs(row.borderDiff[b]) <= CRITERIA.maxBorderStepDiff);
  return [row.styleRatio <= CRITERIA.maxStyleRatio, face, row.luma.pass && row.colour.pass, row.grid <= CRITERIA.maxGridScore && border];
}

function printTable(rows: Row[]): void {
  const waveFace = (photo: HeldOut) => rows.find((r) => r.net.id === 'wave' && r.photo === photo)?.faceLoss ?? null;
  const lines = [
    '| style | photo | 1: style-loss ratio | 1 | 2: face loss relu3_3 (× wave) | 2 | 3: luma std × photo (painting ×) | 3: colourfulness × photo (painting ×) | 3 | 4: grid (photo) | 4: border step Δ top/bottom/left/right | 4 |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const passed = new Map<string, number[][]>();
  for (const r of rows) {
    const w = waveFace(r.photo);
    const v = verdicts(r, w);
    const counts = passed.get(r.net.id) ?? [[0, 0], [0, 0], [0, 0], [0, 0]];
    v.forEach((p, i) => {
      if (p !== null) counts[i]![0]! += p ? 1 : 0;
      if (p !== null) counts[i]![1]! += 1;
    });
    passed.set(r.net.id, counts);
    const face = r.faceLoss === null ? '–' : `${r.faceLoss.toExponential(2)} (${fix(r.faceLoss / w!)})`;
    lines.push(
      `| ${r.net.id} | ${stem(r.photo.file)} | ${fix(r.styleRatio, 3)} | ${mark(v[0])} | ${face} | ${mark(v[1])} | ` +
        `${fix(r.luma.ratio)} (${fix(r.paintingLuma)}) | ${fix(r.colour.ratio)} (${fix(r.paintingColour)}) | ${mark(v[2])} | ` +
        `${r.grid.toFixed(0)} (${r.photoGrid.toFixed(0)}) | ${BORDERS.map((b) => signed(r.borderDiff[b])).join(' / ')} | ${mark(v[3])} |`,
    );
  }
  lines.push('', '| style | 1 style | 2 faces | 3 not washed out | 4 no lattice/edges |', '|---|---|---|---|---|');
  for (const [id, c] of passed) lines.push(`| ${id} | ${c.map(([p, n]) => (n ? `${p}/${n}` : '–')).join(' | ')} |`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Contact sheet: the sheet photos on the first row, then one row per network (JPEG or PNG by extension). */
async function writeSheet(path: string, nets: Network[], photos: HeldOut[], tmp: string): Promise<void> {
  const shown = photos.filter((p) => p.sheet);
  const cells: SheetCell[] = [];
  const add = async (file: string, label: string) => {
    const img = await readImage(file);
    cells.push({ data: img.data, width: img.width, height: img.height, label });
  };
  for (const p of shown) await add(photoPath(tmp, p), `photo: ${stem(p.file)}`);
  for (const net of nets) for (const p of shown) await add(outputPath(tmp, net, p), `${net.id} · ${stem(p.file)}`);
  const png = await renderContactSheet(cells, { columns: shown.length, cellSize: 220, title: 'issue 22 held-out photos at 512 px' });
  mkdirSync(dirname(resolve(path)), { recursive: true });
  if (/\.png$/i.test(path)) await writeFileAtomic(path, png);
  else await writeImage(path, await readImage(png), { format: 'jpeg', quality: 80 });
  log(`contact sheet: ${path}`);
}

/** Lines for networks trained against the painting at another size than its own (criterion 1 uses the former). */
async function styleSizeNotes(nets: Network[]): Promise<string[]> {
  const notes: string[] = [];
  for (const net of nets) {
    const { width, height } = await probeImage(sharedPath(`images/styles/${net.painting}`));
    const own = Math.max(width, height);
    if (net.trainedStyleSize !== null && net.trainedStyleSize !== own) {
      notes.push(`${net.id} was trained against ${net.painting} at ${net.trainedStyleSize} px (its own size: ${own} px); criterion 1 takes it at ${net.trainedStyleSize} px.`);
    }
  }
  return notes;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const photos = heldOutPhotos(opts.photos);
  const tmp = opts.out ? resolve(opts.out) : mkdtempSync(join(tmpdir(), 'hokusai-quality-'));
  try {
    await writePhotos(photos, join(tmp, 'photos'));
    const nets = networks(opts, tmp);
    for (const net of nets) {
      log(`stylising ${photos.length} photos with ${net.id}`);
      hokusai(['stylize', '--checkpoint', net.dir, join(tmp, 'photos'), '--out', join(tmp, net.id), '--max-size', String(SIZE)]);
    }
    const files = [...photos.map((p) => photoPath(tmp, p)), ...nets.flatMap((n) => photos.map((p) => outputPath(tmp, n, p)))];
    const grids = gridScores(files);
    await initBackend(opts.backend, log);
    const before = tf.memory().numTensors;
    printTable(await measureAll(opts, nets, photos, tmp, grids));
    for (const note of await styleSizeNotes(nets)) process.stdout.write(`\n${note}\n`);
    if (tf.memory().numTensors !== before) log(`warning: ${tf.memory().numTensors - before} tensors left over`);
    if (opts.sheet) await writeSheet(opts.sheet, nets, photos, tmp);
  } finally {
    if (!opts.out) rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
