// Speed of `hokusai optimize`: seconds per L-BFGS iteration (VGG19 forward + backward to relu5_1 at the output
// size, Gatys layers, strong-Wolfe line search, m = 100) per backend and size; also per objective evaluation,
// since an iteration may take more than one. Real weights and images from ../shared.
// Usage: npx tsx bench/optimize-speed.ts [--backends wasm,webgpu,cpu] [--sizes 256,512] [--iterations 3]
//        --iterations 0 --evals N: time N objective evaluations only (no L-BFGS; the cheap way to measure a slow
//        backend: an L-BFGS iteration costs ~1.2 evaluations, the first one 1-3)
import { readFile } from 'node:fs/promises';
import { fmtMs, list, parseArgs, printTable, SHARED_INPUTS } from './bench-util.ts';

const args = parseArgs({
  backends: 'wasm,webgpu',
  sizes: '256,512',
  iterations: '3',
  evals: '2',
  ...SHARED_INPUTS,
});
const tf = await import('@tensorflow/tfjs-core');
const { PerceptualLoss, readKerasVggH5 } = await import('@hokusai/losses');
const { initBackend, readImage } = await import('@hokusai/node');
const { PixelObjective, GATYS_CONTENT_LAYERS, GATYS_STYLE_LAYERS, toTensor } = await import('../packages/optimize/src/optimize.ts');
const { Lbfgs } = await import('../packages/optimize/src/lbfgs.ts');
const { resizeImage } = await import('../packages/optimize/src/multiscale.ts');

const weights = await readKerasVggH5(new Uint8Array(await readFile(args['weights'] as string)), 'vgg19');
const content = await readImage(args['content'] as string);
const style = await readImage(args['style'] as string);
const iterations = Number(args['iterations']);
const evals = Number(args['evals']);
if (!(Number.isInteger(iterations) && iterations >= 0)) throw new Error(`--iterations: expected an integer >= 0, got ${args['iterations']}`);
if (iterations === 0 && !(Number.isInteger(evals) && evals > 0)) throw new Error(`--evals: expected a positive integer, got ${args['evals']}`);
const rows: string[][] = [];

for (const name of list(args['backends'] as string)) {
  try {
    await initBackend(name as 'wasm');
  } catch (e) {
    rows.push([name, '-', `unavailable: ${(e as Error).message.split('\n')[0]}`, '', '']);
    continue;
  }
  for (const size of list(args['sizes'] as string).map(Number)) {
    const loss = PerceptualLoss.fromWeights(weights, { contentLayers: GATYS_CONTENT_LAYERS, styleLayers: GATYS_STYLE_LAYERS, contentWeight: 1, styleWeight: 100, tvWeight: 0 });
    const cFull = toTensor(content);
    const sFull = toTensor(style);
    const c = resizeImage(cFull, size, size);
    const s = tf.tidy(() => tf.squeeze(resizeImage(sFull, size, size), [0]) as import('@tensorflow/tfjs-core').Tensor3D);
    loss.setStyle([{ image: s, weight: 1 }]);
    const objective = new PixelObjective(loss, c);
    const x0 = tf.reshape(c, [-1]) as import('@tensorflow/tfjs-core').Tensor1D;
    // Warm-up: one evaluation (shader compilation, wasm kernels).
    const w = await objective.evaluate(x0);
    w.grad.dispose();
    const t0 = performance.now();
    if (iterations === 0) {
      for (let i = 0; i < evals; i++) (await objective.evaluate(x0)).grad.dispose();
      const ms = performance.now() - t0;
      rows.push([name, `${size}²`, '-', fmtMs(ms / evals), `${evals} evals`]);
      console.log(`${name} ${size}²: ${fmtMs(ms / evals)} per evaluation`);
    } else {
      const res = await new Lbfgs({ history: 100 }).run(objective.evaluate, x0, iterations);
      const ms = performance.now() - t0;
      rows.push([name, `${size}²`, fmtMs(ms / res.iterations), fmtMs(ms / res.evals), `${res.iterations} it / ${res.evals} evals`]);
      console.log(`${name} ${size}²: ${fmtMs(ms / res.iterations)} per iteration`);
      res.x.dispose();
    }
    tf.dispose([cFull, sFull, c, s, x0]);
    objective.dispose();
    loss.dispose();
  }
}
console.log('\nhokusai optimize, time per L-BFGS iteration (VGG19, Gatys layers, content init):');
printTable(['backend', 'size', 'per iteration', 'per evaluation', 'measured'], rows);
