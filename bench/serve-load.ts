// Load bench of `hokusai serve`: starts the server in-process on 127.0.0.1 with a full-size Johnson network
// (random weights: same compute as a trained one), drives POST /v1/styles/:id/stylize with autocannon for a fixed
// time per case, and prints throughput and p50/p99 latency at each size for the ONNX and tfjs engines, next to the
// single-process inference throughput of the same engine (one thread, no HTTP, no decode/encode) and their ratio.
// Usage: npx tsx bench/serve-load.ts [--engines onnx,tfjs] [--sizes 256,512] [--duration 8] [--workers 2]
//        [--connections 4] [--net full|half] [--backend auto|wasm|cpu]
import { availableParallelism } from 'node:os';
import { fmtMs, list, median, parseArgs, printTable, timeRuns } from './bench-util.ts';

const args = parseArgs({
  engines: 'onnx,tfjs',
  sizes: '256,512',
  duration: '8',
  workers: String(Math.min(4, availableParallelism())),
  connections: '',
  net: 'full',
  backend: 'auto',
});
const tf = await import('@tensorflow/tfjs-core');
const sharp = (await import('sharp')).default;
const autocannon = (await import('autocannon')).default;
const ort = await import('onnxruntime-node');
const { TransformerNet, FULL_NET, HALF_NET, defaultCheckpointMeta, serializeCheckpoint } = await import('@hokusai/model');
const { initBackend, saveCheckpointDir } = await import('@hokusai/node');
const { startServer } = await import('@hokusai/serve');
const { exportOnnx, ONNX_INPUT } = await import('@hokusai/export');
const { mkdtemp, rm } = await import('node:fs/promises');
const { tmpdir } = await import('node:os');
const { join } = await import('node:path');

const engines = list(args['engines'] as string) as ('onnx' | 'tfjs')[];
const sizes = list(args['sizes'] as string).map(Number);
const duration = Number(args['duration']);
const workers = Number(args['workers']);
const connections = args['connections'] ? Number(args['connections']) : workers * 2;
const backend = args['backend'] as 'auto' | 'wasm' | 'cpu';
const config = args['net'] === 'half' ? HALF_NET : FULL_NET;

const backendInfo = await initBackend(backend);
console.log(`tfjs backend (bench process and tfjs workers ask for "${backend}"): ${backendInfo.name}, ${backendInfo.reason}`);
console.log(`network: ${JSON.stringify(config)}; ${workers} worker(s), ${connections} connection(s), ${duration} s per case, ${availableParallelism()} CPU(s)`);

const dir = await mkdtemp(join(tmpdir(), 'hokusai-bench-serve-'));
const net = TransformerNet.create(config, 1);
await saveCheckpointDir(join(dir, 'bench'), serializeCheckpoint(net, defaultCheckpointMeta({ name: 'bench', toolVersion: 'bench' })));

async function image(size: number): Promise<Buffer> {
  const data = Buffer.alloc(size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + ((i / 3) % size)) & 0xff;
  return sharp(data, { raw: { width: size, height: size, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

/** Timed runs of `once` after one warm-up, until 3 s have passed (at least 1, at most 5 runs). */
async function boundedRuns(once: () => Promise<void>): Promise<number[]> {
  await once();
  const times: number[] = [];
  const until = performance.now() + 3000;
  while (times.length < 5 && (times.length === 0 || performance.now() < until)) times.push((await timeRuns(once, 1, 0))[0] as number);
  return times;
}

/** Single-process inference throughput (inferences/s) of the engine, one thread, median of timed runs. */
async function singleProcess(engine: 'onnx' | 'tfjs', size: number): Promise<number> {
  const x = new Float32Array(size * size * 3).map((_, i) => (i * 13) % 255);
  if (engine === 'onnx') {
    const session = await ort.InferenceSession.create(exportOnnx(net), { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
    const input = new ort.Tensor('float32', x, [1, size, size, 3]);
    const times = await boundedRuns(async () => {
      await session.run({ [ONNX_INPUT]: input });
    });
    await session.release();
    return 1000 / median(times);
  }
  const t = tf.tensor4d(x, [1, size, size, 3]);
  const times = await boundedRuns(async () => {
    const y = net.apply(t);
    await y.data();
    y.dispose();
  });
  t.dispose();
  return 1000 / median(times);
}

const rows: string[][] = [];
for (const engine of engines) {
  const server = await startServer(
    { port: 0, host: '127.0.0.1', checkpoints: dir, engine, backend, workers, queueSize: 1000, maxSize: 1024, pollMs: 0, rateLimit: 0, requestTimeoutMs: 120_000 },
    { log: (l) => console.log(`  [server] ${l}`) },
  );
  await server.ready;
  for (const size of sizes) {
    const body = await image(size);
    const single = await singleProcess(engine, size);
    // Long enough for about 4 rounds of every connection at the measured speed, within [--duration, 90 s].
    const seconds = Math.ceil(Math.min(90, Math.max(duration, (4 * connections) / (workers * single))));
    const result = await autocannon({
      url: `${server.url}/v1/styles/bench/stylize`,
      method: 'POST',
      headers: { 'content-type': 'image/jpeg' },
      body,
      connections,
      duration: seconds,
      timeout: 120,
    });
    const ok = result.requests.total - result.non2xx;
    const rps = ok / seconds;
    rows.push([
      engine,
      `${size}²`,
      rps.toFixed(2),
      fmtMs(result.latency.p50),
      fmtMs(result.latency.p99),
      `${ok} in ${seconds} s`,
      `${result.non2xx + result.errors + result.timeouts}`,
      single.toFixed(2),
      (rps / single).toFixed(2),
    ]);
    console.log(`  ${engine} ${size}²: ${ok} requests in ${seconds} s, ${rps.toFixed(2)} req/s, p50 ${fmtMs(result.latency.p50)}, p99 ${fmtMs(result.latency.p99)}; single-process ${single.toFixed(2)} inf/s`);
  }
  await server.shutdown();
}
net.dispose();
await rm(dir, { recursive: true, force: true });

console.log('');
printTable(['engine', 'size', 'server req/s', 'p50', 'p99', 'completed', 'errors', '1-process inf/s (1 thread)', 'server / 1-process'], rows);
console.log(
  '\nserver / 1-process > 1 means the worker pool scales past one inference thread; < 1 shows HTTP + JPEG decode/encode + queueing overhead.',
);
process.exit(0);
