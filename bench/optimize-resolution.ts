// Resolution consistency of `hokusai optimize`: the same settings at a small and a large size (default 512 and
// 1024) should give the same composition and stroke scale. Runs (1) the default scheme at both sizes (style
// relative to the output, coarse-to-fine: the large run is the small run refined), and (2) the naive scheme at the
// large size (one level from the start image, style at a fixed size = the small size, as tools without these fixes
// do). Every result is downsampled to the small size and compared with the small run: SSIM of the luminance, and
// the style loss measured at the small size (style image at the small size, Gatys layers) — strokes too small for
// the picture raise it. Prints the figures.
// Usage: npx tsx bench/optimize-resolution.ts [--small 512] [--large 1024] [--iterations 200] [--lbfgs-history 100]
//        [--backend wasm]   (the large size must fit the engine: wasm's 4 GB heap holds at most ~750 px)
//        (on a 2-core machine use e.g. --small 128 --large 256: the same scheme at a quarter of the size)
import { readFile } from 'node:fs/promises';
import { parseArgs, printTable, SHARED_INPUTS } from './bench-util.ts';

const args = parseArgs({
  small: '512',
  large: '1024',
  iterations: '200',
  'lbfgs-history': '100',
  init: 'content',
  backend: 'wasm',
  'style-weight': '1000',
  ...SHARED_INPUTS,
  out: '',
});
const tf = await import('@tensorflow/tfjs-core');
const sharp = (await import('sharp')).default;
const { PerceptualLoss, readKerasVggH5 } = await import('@hokusai/losses');
const { initBackend, readImage, writeImage } = await import('@hokusai/node');
const { runOptimization, PixelObjective, GATYS_CONTENT_LAYERS, GATYS_STYLE_LAYERS, toTensor } = await import('../packages/optimize/src/optimize.ts');
const { dimsForLongEdge, resizeImage } = await import('../packages/optimize/src/multiscale.ts');
type Settings = import('../packages/optimize/src/optimize.ts').OptimizeSettings;
type Img = { data: Uint8Array; width: number; height: number };

const backend = await initBackend(args['backend'] as 'wasm');
const weights = await readKerasVggH5(new Uint8Array(await readFile(args['weights'] as string)), 'vgg19');
const small = Number(args['small']);
const large = Number(args['large']);
const content = await readImage(args['content'] as string, { maxSize: large });
const style = await readImage(args['style'] as string, { maxSize: large });
const base: Settings = {
  contentLayers: GATYS_CONTENT_LAYERS,
  styleLayers: GATYS_STYLE_LAYERS,
  contentWeight: 1,
  styleWeight: Number(args['style-weight']),
  tvWeight: 0,
  latticeWeight: 0,
  styleBlur: 0,
  pooling: 'max',
  optimizer: 'lbfgs',
  iterations: Number(args['iterations']),
  lr: 1,
  lbfgsHistory: Number(args['lbfgs-history']),
  lineSearch: 'strong-wolfe',
  init: args['init'] as Settings['init'],
  seed: 1,
  size: small,
  scales: 1,
  styleScale: 1,
  styleSize: 0,
  preserveColors: 'none',
};
const levelsFor = (size: number) => 1 + Math.round(Math.log2(size / small)); // = the default (auto) when small = 512
// The large runs must fit the engine: the same check `hokusai optimize` makes before any heavy work (wasm: 4 GB).
{
  const { checkMemory, optimizeSchema } = await import('../packages/cli/src/commands/optimize.ts');
  const { memoryBudget } = await import('../packages/optimize/src/memory-estimate.ts');
  const o = optimizeSchema.parse({ content: args['content'], style: [args['style']], size: large, scales: levelsFor(large), lbfgsHistory: base.lbfgsHistory });
  try {
    checkMemory(o, content, memoryBudget(backend.name));
  } catch (error) {
    console.error(`optimize-resolution --large ${large}: ${(error as Error).message}`);
    process.exit(2);
  }
}

async function run(label: string, over: Partial<Settings>): Promise<Img> {
  const t0 = performance.now();
  const r = await runOptimization({ weights, content, styles: [{ image: style, weight: 1 }], settings: { ...base, ...over } });
  console.log(`${label}: ${r.image.width}×${r.image.height}, ${r.levels.length} level(s), loss ${r.finalLoss.total.toExponential(3)}, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  if (args['out']) await writeImage(`${args['out']}-${label.replace(/\W+/g, '_')}.png`, r.image);
  return r.image;
}

async function downsample(img: Img, w: number, h: number): Promise<Img> {
  if (img.width === w && img.height === h) return img;
  const data = await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } }).resize(w, h, { kernel: 'lanczos3' }).raw().toBuffer();
  return { data: new Uint8Array(data), width: w, height: h };
}

/** Mean SSIM of the luminance (Wang et al. 2004; 8×8 windows, stride 4, C1/C2 for 8-bit). */
function ssim(a: Img, b: Img): number {
  const luma = (m: Img) => Float64Array.from({ length: m.width * m.height }, (_, i) => 0.299 * m.data[3 * i]! + 0.587 * m.data[3 * i + 1]! + 0.114 * m.data[3 * i + 2]!);
  const la = luma(a);
  const lb = luma(b);
  const C1 = (0.01 * 255) ** 2;
  const C2 = (0.03 * 255) ** 2;
  let sum = 0;
  let n = 0;
  for (let y = 0; y + 8 <= a.height; y += 4)
    for (let x = 0; x + 8 <= a.width; x += 4) {
      let ma = 0, mb = 0, va = 0, vb = 0, cov = 0;
      for (let j = 0; j < 8; j++) for (let i = 0; i < 8; i++) { const k = (y + j) * a.width + x + i; ma += la[k]!; mb += lb[k]!; }
      ma /= 64; mb /= 64;
      for (let j = 0; j < 8; j++) for (let i = 0; i < 8; i++) { const k = (y + j) * a.width + x + i; const da = la[k]! - ma; const db = lb[k]! - mb; va += da * da; vb += db * db; cov += da * db; }
      va /= 63; vb /= 63; cov /= 63;
      sum += ((2 * ma * mb + C1) * (2 * cov + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
      n++;
    }
  return sum / n;
}

/** Weighted style and content loss of `img` at its size, style image at the same long edge (matched scale). */
async function lossesAtSmall(img: Img): Promise<{ style: number; content: number }> {
  const loss = PerceptualLoss.fromWeights(weights, { contentLayers: GATYS_CONTENT_LAYERS, styleLayers: GATYS_STYLE_LAYERS, contentWeight: 1, styleWeight: base.styleWeight, tvWeight: 0 });
  const sd = dimsForLongEdge(style.width, style.height, Math.max(img.width, img.height));
  const sFull = toTensor(style);
  const s = tf.tidy(() => tf.squeeze(resizeImage(sFull, sd.height, sd.width), [0]) as import('@tensorflow/tfjs-core').Tensor3D);
  loss.setStyle([{ image: s, weight: 1 }]);
  const cFull = toTensor(content);
  const c = resizeImage(cFull, img.height, img.width);
  const objective = new PixelObjective(loss, c);
  const x = tf.tensor1d(Float32Array.from(img.data));
  const t = await objective.terms(x);
  tf.dispose([sFull, s, cFull, c, x]);
  objective.dispose();
  loss.dispose();
  return { style: t.style, content: t.content };
}

const ref = await run(`default ${small}`, { size: small, scales: levelsFor(small) });
const multi = await run(`default ${large}`, { size: large, scales: levelsFor(large) });
const naive = await run(`naive ${large}`, { size: large, scales: 1, styleSize: Math.max(...[ref.width, ref.height]) });
const rows: string[][] = [];
const refLoss = await lossesAtSmall(ref);
rows.push([`default ${small} (reference)`, '1.000', refLoss.style.toExponential(3), refLoss.content.toExponential(3)]);
for (const [label, img] of [[`default ${large} (style relative + coarse-to-fine)`, multi], [`naive ${large} (one level, fixed style size)`, naive]] as const) {
  const d = await downsample(img, ref.width, ref.height);
  const l = await lossesAtSmall(d);
  rows.push([label, ssim(ref, d).toFixed(3), l.style.toExponential(3), l.content.toExponential(3)]);
}
console.log(`\nResolution consistency on ${backend.name}: ${large} px results downsampled to ${ref.width}×${ref.height} and compared with the ${small} px result`);
console.log(`(init ${base.init}, ${base.iterations} iterations at the first level, L-BFGS history ${base.lbfgsHistory}, style weight ${base.styleWeight}; higher SSIM = same composition; style loss at matched scale close to the reference = same stroke scale)`);
printTable(['run', 'SSIM vs small', `style loss @${small}`, `content loss @${small}`], rows);
