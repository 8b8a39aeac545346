// Loss-network weights loading: parsing the Keras notop .h5 (h5wasm) vs loading our converted cache entry
// (float32 and float16), and the whole loadLossWeights call on a warm cache. Real file from ../shared.
// Usage: npx tsx bench/weights-load.ts [--weights ../shared/weights/vgg19-keras/vgg19_notop.h5] [--runs 3]
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmtMs, parseArgs, printTable, SHARED_INPUTS } from './bench-util.ts';

const args = parseArgs({ weights: SHARED_INPUTS.weights, runs: '3' });
const { readKerasVggH5, parseVggWeights, serializeVggWeights } = await import('@hokusai/losses');
const { loadLossWeights, importLossWeights } = await import('@hokusai/node');
const runs = Number(args['runs']);
const file = args['weights'] as string;

async function best(fn: () => Promise<unknown>): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

const bytes = new Uint8Array(await readFile(file));
const parsed = await readKerasVggH5(bytes);
const f32 = serializeVggWeights(parsed);
const f16 = serializeVggWeights(parsed, { float16: true });
const cacheDir = await mkdtemp(join(tmpdir(), 'hokusai-bench-weights-'));
await importLossWeights(file, { cacheDir });
const rows = [
  ['parse .h5 (h5wasm, bytes in memory)', fmtMs(await best(() => readKerasVggH5(bytes))), `${(bytes.length / 1e6).toFixed(1)} MB`],
  ['parse converted float32 (in memory)', fmtMs(await best(async () => parseVggWeights(f32.manifestJson, f32.weightsBin))), `${(f32.weightsBin.length / 1e6).toFixed(1)} MB`],
  ['parse converted float16 (in memory)', fmtMs(await best(async () => parseVggWeights(f16.manifestJson, f16.weightsBin))), `${(f16.weightsBin.length / 1e6).toFixed(1)} MB`],
  ['loadLossWeights, warm cache (read + parse)', fmtMs(await best(() => loadLossWeights({ lossNet: parsed.net, cacheDir }))), ''],
  ['loadLossWeights --weights file.h5 (hash + cached entry)', fmtMs(await best(() => loadLossWeights({ lossNet: parsed.net, cacheDir, weights: file }))), ''],
];
printTable(['what', 'best time', 'size'], rows);
await rm(cacheDir, { recursive: true, force: true });
