// Does `hokusai optimize` run the same on two backends? The check: 50 L-BFGS iterations from a noise start
// at 128 px, final losses within 1% on wasm and WebGPU. L-BFGS on this loss amplifies any difference in the
// gradient (docs/optimize.md, "Same run, two backends"), so next to each wasm-vs-webgpu gap this prints a control:
// the same run on the first backend with its gradient multiplied by 1 + u·ε (u uniform in ±1, ε = 3e-7, about
// the backends' own disagreement at the same pixels). Gaps alike in both columns mean the backends differ by
// rounding only; a kernel bug would show as a larger gap from the first iterations on.
// Usage: npx tsx bench/optimize-backends.ts [--backends wasm,webgpu] [--size 128] [--iterations 50] [--seeds 1,2,3]
//        [--perturb 3e-7]
import { readFile } from 'node:fs/promises';
import { list, median, parseArgs, printTable, SHARED_INPUTS } from './bench-util.ts';

const args = parseArgs({
  backends: 'wasm,webgpu',
  size: '128',
  iterations: '50',
  seeds: '1,2,3',
  perturb: '3e-7',
  ...SHARED_INPUTS,
});
const tf = await import('@tensorflow/tfjs-core');
const { PerceptualLoss, readKerasVggH5 } = await import('@hokusai/losses');
const { initBackend, readImage } = await import('@hokusai/node');
const { PixelObjective, initialImage, GATYS_CONTENT_LAYERS, GATYS_STYLE_LAYERS, toTensor } = await import('../packages/optimize/src/optimize.ts');
const { Lbfgs } = await import('../packages/optimize/src/lbfgs.ts');
const { planLevels, resizeImage, dimsForLongEdge } = await import('../packages/optimize/src/multiscale.ts');
type Objective = import('../packages/optimize/src/lbfgs.ts').Objective;

const [first, second] = list(args['backends'] as string) as ['wasm', 'webgpu'];
if (!first || !second) throw new Error(`--backends: expected two backends, got "${args['backends']}"`);
const size = Number(args['size']);
const iterations = Number(args['iterations']);
const epsilon = Number(args['perturb']);
const seeds = list(args['seeds'] as string).map(Number);
const weights = await readKerasVggH5(new Uint8Array(await readFile(args['weights'] as string)), 'vgg19');
const content = await readImage(args['content'] as string, { maxSize: size });
const style = await readImage(args['style'] as string);
const [level] = planLevels({ contentWidth: content.width, contentHeight: content.height, size, scales: 1, styleScale: 1, iterations });
if (!level) throw new Error('no level');

/** Loss after each iteration of the run (noise start `seed`, Gatys layers, style weight 100, m = 100). */
async function run(backend: 'wasm' | 'webgpu', seed: number, perturb: number): Promise<number[]> {
  await initBackend(backend);
  const cFull = toTensor(content);
  const sFull = toTensor(style);
  const c = resizeImage(cFull, level!.height, level!.width);
  const sd = dimsForLongEdge(style.width, style.height, level!.styleLongEdge);
  const s = resizeImage(sFull, sd.height, sd.width);
  const loss = PerceptualLoss.fromWeights(weights, { contentLayers: GATYS_CONTENT_LAYERS, styleLayers: GATYS_STYLE_LAYERS, contentWeight: 1, styleWeight: 100, tvWeight: 0 });
  loss.setStyle([{ image: tf.squeeze(s, [0]) as import('@tensorflow/tfjs-core').Tensor3D, weight: 1 }]);
  const objective = new PixelObjective(loss, c);
  const init = initialImage('noise', c, s, seed);
  const x0 = tf.reshape(init, [-1]) as import('@tensorflow/tfjs-core').Tensor1D;
  let calls = 0;
  const evaluate: Objective =
    perturb === 0
      ? objective.evaluate
      : async (x) => {
          const r = await objective.evaluate(x);
          const grad = tf.tidy(() => tf.mul(r.grad, tf.add(1, tf.mul(tf.randomUniform(r.grad.shape, -1, 1, 'float32', 1000 + calls++), perturb))) as import('@tensorflow/tfjs-core').Tensor1D);
          r.grad.dispose();
          return { loss: r.loss, grad };
        };
  const curve: number[] = [];
  const res = await new Lbfgs({ history: 100 }).run(evaluate, x0, iterations, { onIteration: (it) => void curve.push(it.loss) });
  tf.dispose([cFull, sFull, c, s, init, x0, res.x]);
  objective.dispose();
  loss.dispose();
  return curve;
}

const gap = (a: number[], b: number[], i: number): number => Math.abs((a[i] as number) - (b[i] as number)) / (a[i] as number);
/** First iteration (1-based) at which the two runs' losses are more than 1e-4 apart. */
const split = (a: number[], b: number[]): string => {
  const i = a.findIndex((_, k) => gap(a, b, k) > 1e-4);
  return i < 0 ? 'never' : String(i + 1);
};
const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;

const rows: string[][] = [];
const gaps: number[] = [];
const controls: number[] = [];
for (const seed of seeds) {
  const a = await run(first, seed, 0);
  const b = await run(second, seed, 0);
  const p = await run(first, seed, epsilon);
  const last = Math.min(a.length, b.length, p.length) - 1;
  gaps.push(gap(a, b, last));
  controls.push(gap(a, p, last));
  rows.push([String(seed), (a[last] as number).toExponential(4), (b[last] as number).toExponential(4), pct(gap(a, b, last)), split(a, b), (p[last] as number).toExponential(4), pct(gap(a, p, last)), split(a, p)]);
  console.log(`seed ${seed}: ${first} ${(a[last] as number).toExponential(4)}, ${second} ${(b[last] as number).toExponential(4)} (${pct(gap(a, b, last))}), ${first} perturbed ${(p[last] as number).toExponential(4)} (${pct(gap(a, p, last))})`);
}
console.log(`\nSame run on two backends: ${level.width}×${level.height}, noise start, ${iterations} L-BFGS iterations (strong Wolfe, m = 100), style weight 100.`);
console.log(`Control: ${first} with its gradient ×(1 ± ${epsilon}). "apart from" = first iteration with losses > 1e-4 apart.`);
printTable(['seed', `${first} final`, `${second} final`, 'gap', 'apart from', `${first} perturbed`, 'control gap', 'apart from'], rows);
console.log(`median gap ${first} vs ${second}: ${pct(median(gaps))} (max ${pct(Math.max(...gaps))}); median control gap: ${pct(median(controls))} (max ${pct(Math.max(...controls))})`);
