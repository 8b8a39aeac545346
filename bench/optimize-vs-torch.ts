// Independent check of `hokusai optimize`: the same pixel optimisation (same VGG19 weights, content/style images
// resized once here, the same seeded noise start, same losses/weights/iterations, L-BFGS with strong Wolfe) run by
// our TypeScript L-BFGS and by PyTorch's torch.optim.LBFGS (tools/torch_optimize.py, Debian python3-torch on the
// CPU). Prints both final losses and their ratio; the goal is ours within 10% of torch's.
// Usage: npx tsx bench/optimize-vs-torch.ts [--backend wasm] [--size 128] [--iterations 50] [--init noise]
//        [--style-weight 100] [--content ../shared/images/content/kodim23.png] [--style ../shared/.../starry_night_van_gogh.jpg]
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, SHARED_INPUTS } from './bench-util.ts';

const args = parseArgs({
  backend: 'wasm',
  size: '128',
  iterations: '50',
  init: 'noise',
  'style-weight': '100',
  'content-weight': '1',
  'tv-weight': '0',
  ...SHARED_INPUTS,
  seed: '1',
});
const tf = await import('@tensorflow/tfjs-core');
const { readKerasVggH5 } = await import('@hokusai/losses');
const { initBackend, readImage } = await import('@hokusai/node');
const { runOptimization, initialImage, GATYS_CONTENT_LAYERS, GATYS_STYLE_LAYERS, toTensor } = await import('../packages/optimize/src/optimize.ts');
const { FIRST_STEP_LOSS_FRACTION } = await import('../packages/optimize/src/lbfgs.ts');
const { planLevels, resizeImage, dimsForLongEdge } = await import('../packages/optimize/src/multiscale.ts');
type Settings = import('../packages/optimize/src/optimize.ts').OptimizeSettings;

const backend = await initBackend(args['backend'] as 'wasm');
const weights = await readKerasVggH5(new Uint8Array(await readFile(args['weights'] as string)), 'vgg19');
const size = Number(args['size']);
const content = await readImage(args['content'] as string, { maxSize: size });
const style = await readImage(args['style'] as string, { maxSize: size });
const settings: Settings = {
  contentLayers: GATYS_CONTENT_LAYERS,
  styleLayers: GATYS_STYLE_LAYERS,
  contentWeight: Number(args['content-weight']),
  styleWeight: Number(args['style-weight']),
  tvWeight: Number(args['tv-weight']),
  latticeWeight: 0,
  styleBlur: 0,
  pooling: 'max',
  optimizer: 'lbfgs',
  iterations: Number(args['iterations']),
  lr: 1,
  lbfgsHistory: 100,
  lineSearch: 'strong-wolfe',
  init: args['init'] as Settings['init'],
  seed: Number(args['seed']),
  size,
  scales: 1,
  styleScale: 1,
  styleSize: 0,
  preserveColors: 'none',
};

// The exact tensors runOptimization builds for its single level (same helpers), written for torch.
const [level] = planLevels({ contentWidth: content.width, contentHeight: content.height, size, scales: 1, styleScale: 1, iterations: settings.iterations });
if (!level) throw new Error('no level');
const dir = await mkdtemp(join(tmpdir(), 'hokusai-vs-torch-'));
const cFull = toTensor(content);
const sFull = toTensor(style);
const c = resizeImage(cFull, level.height, level.width);
const sd = dimsForLongEdge(style.width, style.height, level.styleLongEdge);
const s = resizeImage(sFull, sd.height, sd.width);
const init = initialImage(settings.init, c, s, settings.seed);
const dump = async (name: string, t: import('@tensorflow/tfjs-core').Tensor) => writeFile(join(dir, name), new Uint8Array((await t.data() as Float32Array).buffer));
await dump('content.f32', c);
await dump('style.f32', s);
await dump('init.f32', init);
tf.dispose([cFull, sFull, c, s, init]);
await writeFile(
  join(dir, 'settings.json'),
  JSON.stringify({
    height: level.height,
    width: level.width,
    styleHeight: sd.height,
    styleWidth: sd.width,
    contentLayers: settings.contentLayers,
    styleLayers: settings.styleLayers,
    contentWeight: settings.contentWeight,
    styleWeight: settings.styleWeight,
    tvWeight: settings.tvWeight,
    pooling: settings.pooling,
    weights: args['weights'],
    iterations: settings.iterations,
    maxEvals: Math.floor(settings.iterations * 1.25) + 25, // = Lbfgs's default
    history: settings.lbfgsHistory,
    lineSearch: settings.lineSearch,
    // Lbfgs's first trial step with strong Wolfe (lbfgs.ts header); torch_optimize.py reproduces it.
    firstStepLossFraction: settings.lineSearch === 'strong-wolfe' ? FIRST_STEP_LOSS_FRACTION : 0,
    lr: settings.lr,
    threads: 2,
  }),
);

// Debian's python3 has torch and h5py; a pyenv `python3` earlier on PATH may not ($HOKUSAI_PYTHON overrides).
const python = process.env.HOKUSAI_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const ours = await runOptimization({ weights, content, styles: [{ image: style, weight: 1 }], settings });
const l = ours.levels[0]!;
const torch = JSON.parse(execFileSync(python, ['tools/torch_optimize.py', dir], { encoding: 'utf8', maxBuffer: 1 << 20 })) as {
  torch: string;
  initialLoss: { total: number };
  finalLoss: { total: number; content: number; style: number; tv: number };
  iterations: number;
  evals: number;
  seconds: number;
};
await rm(dir, { recursive: true, force: true });

console.log(`optimize vs PyTorch: ${level.width}×${level.height}, init ${settings.init}, ${settings.iterations} L-BFGS iterations (strong Wolfe, m=100), style weight ${settings.styleWeight}`);
console.log(`  hokusai (${backend.name}):  initial ${l.initialLoss.total.toExponential(4)}  final ${l.finalLoss.total.toExponential(4)}  (content ${l.finalLoss.content.toExponential(3)}, style ${l.finalLoss.style.toExponential(3)})  ${l.iterations} it, ${l.evals} evals, ${l.seconds.toFixed(1)} s`);
console.log(`  torch ${torch.torch} (cpu): initial ${torch.initialLoss.total.toExponential(4)}  final ${torch.finalLoss.total.toExponential(4)}  (content ${torch.finalLoss.content.toExponential(3)}, style ${torch.finalLoss.style.toExponential(3)})  ${torch.iterations} it, ${torch.evals} evals, ${torch.seconds.toFixed(1)} s`);
const ratio = l.finalLoss.total / torch.finalLoss.total;
console.log(`  ours / torch final loss = ${ratio.toFixed(4)} (${Math.abs(ratio - 1) <= 0.1 ? 'within' : 'NOT within'} 10%)`);
