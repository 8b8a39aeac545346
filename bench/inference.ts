// Inference bench: full Johnson network (TransformerNet.create(FULL_NET)) forward at 256² and 512², per backend.
// Usage: npx tsx bench/inference.ts [--backends wasm,webgpu,cpu] [--sizes 256,512] [--runs 3] [--batch 1]
import type * as T from '@tensorflow/tfjs-core';
import { fmtMs, list, median, parseArgs, printTable, timeRuns } from './bench-util.ts';

const args = parseArgs({ backends: 'wasm,webgpu,cpu', sizes: '256,512', runs: '3', batch: '1', net: 'full' });
const tf = await import('@tensorflow/tfjs-core');
const { TransformerNet, FULL_NET, HALF_NET } = await import('@hokusai/model');
const { initBackend } = await import('@hokusai/node');

const config = args['net'] === 'half' ? HALF_NET : FULL_NET;
const sizes = list(args['sizes'] as string).map(Number);
const runs = Number(args['runs']);
const batch = Number(args['batch']);
const results: { backend: string; size: number; ms: number }[] = [];

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
  for (const size of sizes) {
    const x = tf.tidy(() => tf.mul<T.Tensor4D>(tf.randomUniform([batch, size, size, 3], 0, 1, 'float32', 7), 255));
    const times = await timeRuns(async () => {
      const y = net.apply(x);
      await y.data();
      y.dispose();
    }, runs);
    x.dispose();
    const ms = median(times);
    results.push({ backend: info.name, size, ms });
    console.log(`  ${size}² ×${batch}: median ${fmtMs(ms)} (runs: ${times.map(fmtMs).join(', ')})`);
  }
  net.dispose();
}

console.log(`\nInference, ${args['net']} Johnson net (${config.arch === 'johnson' ? config.channels.join('/') : ''}), batch ${batch}, median of ${runs}:`);
const rows: string[][] = [];
for (const size of sizes) {
  const at = results.filter((r) => r.size === size);
  const best = Math.min(...at.map((r) => r.ms));
  for (const r of at) {
    rows.push([r.backend, `${size}²`, fmtMs(r.ms), `${((size * size * batch) / (r.ms / 1000) / 1e6).toPrecision(3)}`, `${(r.ms / best).toFixed(2)}×`]);
  }
}
printTable(['backend', 'size', 'time', 'Mpx/s', 'vs fastest'], rows);
