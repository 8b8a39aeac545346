// Training-step bench: forward + backward of the Johnson network through a small conv-only loss (a 3×3 conv
// "feature" layer + ReLU, squared difference to the content's features, plus a Gram term), at 128² and 256²,
// per backend; prints time per step and per image. The loss is deliberately tiny so the figure is the
// transformation network's own training cost (the VGG loss network is benched by whoever owns it).
// Usage: npx tsx bench/train-step.ts [--backends wasm,webgpu,cpu] [--sizes 128,256] [--batch 4] [--runs 2]
import type * as T from '@tensorflow/tfjs-core';
import { fmtMs, list, median, parseArgs, printTable, timeRuns } from './bench-util.ts';

const args = parseArgs({ backends: 'wasm,webgpu', sizes: '128,256', batch: '4', runs: '2', net: 'full' });
const tf = await import('@tensorflow/tfjs-core');
const { TransformerNet, FULL_NET, HALF_NET } = await import('@hokusai/model');
const { initBackend } = await import('@hokusai/node');

const config = args['net'] === 'half' ? HALF_NET : FULL_NET;
const sizes = list(args['sizes'] as string).map(Number);
const runs = Number(args['runs']);
const batch = Number(args['batch']);
const results: { backend: string; size: number; ms: number }[] = [];

function loss(y: T.Tensor4D, content: T.Tensor4D, w: T.Tensor4D): T.Scalar {
  const feat = (t: T.Tensor4D): T.Tensor4D => tf.relu(tf.conv2d(tf.div<T.Tensor4D>(t, 255), w, 1, 'same'));
  const fy = feat(y);
  const fc = feat(content);
  const [n, h, wd, c] = fy.shape;
  const m = tf.reshape(fy, [n, h * wd, c]);
  const gram = tf.div(tf.matMul(m, m, true, false), h * wd * c);
  return tf.add(tf.mean(tf.squaredDifference(fy, fc)), tf.sum(tf.square(gram)));
}

for (const name of list(args['backends'] as string)) {
  let info;
  try {
    info = await initBackend(name as 'wasm');
  } catch (error) {
    console.log(`${name}: unavailable: ${error instanceof Error ? error.message : String(error)}`);
    continue;
  }
  console.log(`backend ${info.name}: ${info.reason}`);
  const net = TransformerNet.create(config, 1);
  const w = tf.tidy(() => tf.randomNormal([3, 3, 3, 16], 0, 0.3, 'float32', 3) as T.Tensor4D);
  for (const size of sizes) {
    const x = tf.tidy(() => tf.mul(tf.randomUniform([batch, size, size, 3], 0, 1, 'float32', 7), 255) as T.Tensor4D);
    let failed: string | undefined;
    let times: number[] = [];
    try {
      times = await timeRuns(async () => {
        const { value, grads } = tf.variableGrads(() => loss(net.apply(x), x, w), net.variables);
        const all = Object.values(grads);
        await Promise.all([value.data(), ...all.map((g) => g.data())]);
        tf.dispose([value, ...all]);
      }, runs);
    } catch (error) {
      failed = error instanceof Error ? error.message.split('\n')[0] : String(error);
    }
    x.dispose();
    if (failed !== undefined) {
      console.log(`  ${size}² ×${batch}: FAILED: ${failed}`);
      continue;
    }
    const ms = median(times);
    results.push({ backend: info.name, size, ms });
    console.log(`  ${size}² ×${batch}: median ${fmtMs(ms)} per step, ${fmtMs(ms / batch)} per image (runs: ${times.map(fmtMs).join(', ')})`);
  }
  w.dispose();
  net.dispose();
}

console.log(`\nTraining step (forward + backward, conv-only loss), ${args['net']} net, batch ${batch}, median of ${runs}:`);
const rows: string[][] = [];
for (const size of sizes) {
  const at = results.filter((r) => r.size === size);
  const best = Math.min(...at.map((r) => r.ms));
  for (const r of at) rows.push([r.backend, `${size}²`, fmtMs(r.ms), fmtMs(r.ms / batch), `${(r.ms / best).toFixed(2)}×`]);
}
printTable(['backend', 'size', 'per step', 'per image', 'vs fastest'], rows);
