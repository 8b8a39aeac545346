// GPU bench (issue #18): on whatever WebGPU adapter Dawn finds, the style network's work on every engine we have,
// next to the same work in PyTorch from one run (bench/gpu_torch.py): inference of the full Johnson et al. 2016
// network (tfjs webgpu, @hokusai/engine's TransformerForward, onnxruntime webgpu EP, onnxruntime cpu), one training
// step (Johnson: network + VGG19 to relu4_3 + Adam; tfjs webgpu Trainer, engine step), and one Gatys et al. 2016
// evaluation (VGG19 forward + backward to relu5_1) on tfjs webgpu. Per run: WebGPU calls (dispatches, buffer and
// bind-group creations, writeBuffer, submits; gpu-probe.ts) and the top kernels by GPU time (timestamp queries).
// Prints a markdown table; --json writes the same figures (rewritten after every section, so a timeout keeps them).
// Usage: npx tsx bench/gpu.ts [--sizes 256,512,1024] [--train-size 256] [--batch 4] [--steps 5] [--runs 10]
//        [--gatys-sizes 512,1024] [--ort-cpu-max 512] [--parts torch,infer,train,gatys,tfjs,ort,engine] [--kernels 10]
//        (--parts: the work (infer, train, gatys) and the engines (torch, tfjs, ort, engine) to measure)
//        [--weights ../shared/weights/vgg19-keras/vgg19_notop.h5] [--python python3] [--json out.json]
//        [--torch-timeout 120] [--engine-timeout 60]   (seconds; a hung engine run costs one row, not the rest)
//        [--engine-module @hokusai/engine]   (another module with the same exports, e.g. to try an unexported graph)
// lavapipe (software Vulkan, a few minutes): --sizes 64,128 --train-size 64 --batch 2 --gatys-sizes 64 --runs 3 --steps 2
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as T from '@tensorflow/tfjs-core';
import { fmtMs, list, median, parseArgs, printTable, SHARED_INPUTS, timeRuns } from './bench-util.ts';
import { adapterLine, GpuProbe, installDawn, type CallCounts, type KernelTime } from './gpu-probe.ts';

const args = parseArgs({
  sizes: '256,512,1024',
  'train-size': '256',
  batch: '4',
  steps: '5',
  runs: '10',
  'gatys-sizes': '512,1024',
  'ort-cpu-max': '512',
  parts: 'torch,infer,train,gatys,tfjs,ort,engine',
  kernels: '10',
  weights: SHARED_INPUTS.weights,
  python: 'python3',
  'torch-timeout': '120',
  'engine-timeout': '60',
  'engine-module': '@hokusai/engine',
  json: '',
});
const sizes = list(args['sizes'] as string).map(Number);
const trainSize = Number(args['train-size']);
const batch = Number(args['batch']);
const steps = Number(args['steps']);
const runs = Number(args['runs']);
const gatysSizes = list(args['gatys-sizes'] as string).map(Number);
const parts = new Set(list(args['parts'] as string));
const topN = Number(args['kernels']);

const WORKS = ['inference', 'train step', 'gatys eval'] as const;
type Work = (typeof WORKS)[number];
const ENGINE_FORWARD = 'engine TransformerForward';
const ENGINE_STEP = 'engine EngineTrainStep';
interface Row {
  work: Work;
  size: number;
  batch: number;
  impl: string;
  ms: number | null;
  note: string;
  calls?: CallCounts;
}
interface TorchRow {
  work: Work;
  size: number;
  batch: number;
  mode: string;
  ms: number;
  msResident?: number;
}
interface TorchResult {
  device: string;
  torch: string;
  weights: string;
  rows: TorchRow[];
  error?: string;
}
const report = {
  adapter: '',
  startedAt: new Date().toISOString(),
  args,
  rows: [] as Row[],
  kernels: {} as Record<string, { totalMs: number; top: KernelTime[] }>,
  torch: null as TorchResult | null,
};

function saveJson(): void {
  const path = args['json'] as string;
  if (path === '') return;
  writeFileSync(`${path}.tmp`, JSON.stringify(report, null, 1));
  renameSync(`${path}.tmp`, path);
}

function errorLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? String(e);
}

function addRow(row: Row): void {
  report.rows.push(row);
  const c = row.calls;
  const calls = c === undefined ? '' : ` [${c.dispatches} dispatches, ${c.buffersCreated} buffers, ${c.bindGroupsCreated} bind groups, ${c.writeBuffers} writeBuffer, ${c.submits} submits]`;
  console.log(`${row.work} ${row.size}² ×${row.batch} ${row.impl}: ${row.ms === null ? row.note : `${fmtMs(row.ms)}${calls}${row.note === '' ? '' : ` (${row.note})`}`}`);
  saveJson();
}

/** Times `once` (median of `n` after warm-up) and counts the WebGPU calls of the last timed run. */
async function measure(once: () => Promise<void>, n: number, warmup = 2): Promise<{ ms: number; calls: CallCounts }> {
  let before = probe.snapshot();
  let calls = probe.since(before);
  const times = await timeRuns(async () => {
    before = probe.snapshot();
    await once();
    calls = probe.since(before);
  }, n, warmup);
  return { ms: median(times), calls };
}

async function profileKernels(key: string, once: () => Promise<void>): Promise<void> {
  if (!timestamps || topN <= 0) return;
  try {
    const all = await probe.timeKernels(once);
    const totalMs = all.reduce((s, k) => s + k.ms, 0);
    report.kernels[key] = { totalMs, top: all.slice(0, topN) };
    console.log(`\nTop ${topN} kernels by GPU time, ${key} (one run, each dispatch in its own timed pass; sum of all ${fmtMs(totalMs)}):`);
    printTable(['kernel', 'calls', 'GPU ms', 'share'], all.slice(0, topN).map((k) => [k.name, String(k.calls), k.ms.toFixed(3), `${((100 * k.ms) / totalMs).toFixed(1)}%`]));
    console.log('');
    saveJson();
  } catch (e) {
    console.log(`kernel timing for ${key} failed: ${errorLine(e)}`);
  }
}

/** Runs `work`, but gives up on it (with a line saying so) after --engine-timeout seconds, so a hang costs one row. */
let hung = '';
async function withTimeout(row: Omit<Row, 'ms' | 'note'>, work: () => Promise<void>): Promise<void> {
  if (hung !== '') return addRow({ ...row, ms: null, note: `skipped: ${hung} hung` });
  let timer: NodeJS.Timeout | undefined;
  const limit = Number(args['engine-timeout']);
  const expired = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      addRow({ ...row, ms: null, note: `FAILED: no result after ${limit} s (--engine-timeout)` });
      hung = `${row.impl} ${row.size}²`;
      resolve();
    }, limit * 1000);
  });
  await Promise.race([work(), expired]);
  clearTimeout(timer);
}

function randomPixels(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 255;
  }
  return out;
}

// ---- the adapter first; Dawn with timestamp queries and the call counters (no device yet) ----
const dawn = await installDawn();
const probe = new GpuProbe(dawn.globals);
const adapter = await dawn.gpu.requestAdapter({ powerPreference: 'high-performance' });
if (adapter === null) {
  console.log('WebGPU: no adapter (Dawn found no Vulkan device); nothing to measure');
  process.exit(1);
}
const timestamps = adapter.features.has('timestamp-query');
report.adapter = adapterLine(adapter);
console.log(`adapter: ${report.adapter}`);

// ---- PyTorch: a CUDA process of its own, before any WebGPU device exists ----
function runTorch(): TorchResult | null {
  const dir = mkdtempSync(join(tmpdir(), 'hokusai-gpu-'));
  const settings = { weights: args['weights'], sizes, trainSize, batch, steps, runs, gatysSizes, parts: [...parts] };
  writeFileSync(join(dir, 'settings.json'), JSON.stringify(settings));
  const r = spawnSync(args['python'] as string, ['bench/gpu_torch.py', join(dir, 'settings.json')], {
    encoding: 'utf8',
    timeout: Number(args['torch-timeout']) * 1000,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !last.startsWith('{')) {
    console.log(`PyTorch: not measured (${r.error ? errorLine(r.error) : `exit ${r.status ?? r.signal}`}${last ? `: ${last}` : ''})`);
    return null;
  }
  const t = JSON.parse(last) as TorchResult;
  console.log(`PyTorch ${t.torch} on ${t.device} (VGG weights: ${t.weights}): ${t.rows.length} figures`);
  return t;
}

if (parts.has('torch')) report.torch = runTorch();
saveJson();

// ---- the tfjs backend on the same Dawn ----
const tf = await import('@tensorflow/tfjs-core');
await import('../packages/cli/src/tfjs-op-handler.ts');
const { TransformerNet, FULL_NET } = await import('@hokusai/model');
const { initBackend } = await import('@hokusai/node');

// The network's weights and its ONNX export come from the cpu backend (exportOnnx reads weights synchronously).
await initBackend('cpu');
const cpuNet = TransformerNet.create(FULL_NET, 1);
const { exportOnnx } = await import('../packages/export/src/onnx-export.ts');
const onnxBytes = exportOnnx(cpuNet);
const webgpu = await initBackend('webgpu');
console.log(`tfjs: ${webgpu.reason}`);

async function tfjsInference(size: number): Promise<void> {
  const net = TransformerNet.create(FULL_NET, 1);
  const x = tf.tidy(() => tf.mul<T.Tensor4D>(tf.randomUniform([1, size, size, 3], 0, 1, 'float32', 7), 255));
  const once = async (): Promise<void> => {
    const y = tf.tidy(() => net.apply(x));
    await y.data();
    y.dispose();
  };
  try {
    const { ms, calls } = await measure(once, runs);
    addRow({ work: 'inference', size, batch: 1, impl: 'tfjs webgpu', ms, note: '', calls });
    if (size === sizes[sizes.length - 1]) await profileKernels(`tfjs webgpu inference ${size}²`, once);
  } catch (e) {
    addRow({ work: 'inference', size, batch: 1, impl: 'tfjs webgpu', ms: null, note: `FAILED: ${errorLine(e)}` });
  } finally {
    x.dispose();
    net.dispose();
  }
}

/** A device like the engine's requestEngineDevice (limits raised to the adapter's), plus timestamp queries. */
async function engineDevice(): Promise<GPUDevice> {
  const a = (await dawn.gpu.requestAdapter({ powerPreference: 'high-performance' })) as GPUAdapter;
  const wanted = (['timestamp-query', 'shader-f16'] as GPUFeatureName[]).filter((f) => a.features.has(f));
  const raised = ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxStorageBuffersPerShaderStage', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY'] as const;
  return a.requestDevice({ requiredFeatures: wanted, requiredLimits: Object.fromEntries(raised.map((k) => [k, a.limits[k]])) });
}

interface EngineForward {
  run(input: Float32Array): Promise<Float32Array>;
  dispose?: () => void;
}
type EngineModule = Record<string, unknown> & typeof import('@hokusai/engine');

async function engineInference(engine: EngineModule | string, size: number): Promise<void> {
  const row = { work: 'inference' as const, size, batch: 1, impl: ENGINE_FORWARD };
  const create = typeof engine === 'string' ? undefined : (engine['TransformerForward'] as { create?: unknown } | undefined)?.create;
  if (typeof engine === 'string' || typeof create !== 'function') {
    addRow({ ...row, ms: null, note: `not available: ${typeof engine === 'string' ? engine : '@hokusai/engine exports no TransformerForward yet'}` });
    return;
  }
  const device = await engineDevice();
  const ctx = new engine.GpuContext(device);
  let fwd: EngineForward | undefined;
  try {
    fwd = (await create.call(engine['TransformerForward'], ctx, cpuNet, { n: 1, h: size, w: size })) as EngineForward;
    const input = randomPixels(size * size * 3, 7);
    const f = fwd;
    const once = async (): Promise<void> => void (await f.run(input));
    const { ms, calls } = await measure(once, runs);
    const before = ctx.snapshot();
    await once();
    const c = ctx.since(before);
    addRow({ ...row, ms, note: `GpuContext: ${c.dispatches} dispatches, ${c.buffersCreated} buffers, ${c.submits} submits`, calls });
    if (size === sizes[sizes.length - 1]) await profileKernels(`engine inference ${size}²`, once);
  } catch (e) {
    addRow({ ...row, ms: null, note: `FAILED: ${errorLine(e)}` });
  } finally {
    fwd?.dispose?.();
    ctx.dispose();
    device.destroy();
  }
}

type Ort = typeof import('onnxruntime-node');

async function ortInference(ort: Ort | string, ep: 'webgpu' | 'cpu', size: number): Promise<void> {
  const row = { work: 'inference' as const, size, batch: 1, impl: `onnxruntime ${ep}` };
  if (typeof ort === 'string') return addRow({ ...row, ms: null, note: `not available: ${ort}` });
  let session: import('onnxruntime-node').InferenceSession | undefined;
  try {
    session = await ort.InferenceSession.create(onnxBytes, { executionProviders: [ep], graphOptimizationLevel: 'all' });
  } catch (e) {
    return addRow({ ...row, ms: null, note: `not available: the ${ep} execution provider did not start: ${errorLine(e)}` });
  }
  try {
    const s = session;
    const input = new ort.Tensor('float32', randomPixels(size * size * 3, 7), [1, size, size, 3]);
    const once = async (): Promise<void> => {
      const out = await s.run({ image: input });
      for (const t of Object.values(out)) t.dispose();
    };
    const { ms, calls } = await measure(once, ep === 'cpu' ? Math.min(runs, 3) : runs, 1);
    addRow({ ...row, ms, note: ep === 'webgpu' ? "ORT's own Dawn: call counts not seen" : '', calls: ep === 'webgpu' ? undefined : calls });
  } catch (e) {
    addRow({ ...row, ms: null, note: `FAILED: ${errorLine(e)}` });
  } finally {
    await session.release();
  }
}

async function loadEngine(): Promise<EngineModule | string> {
  try {
    return (await import(args['engine-module'] as string)) as EngineModule;
  } catch (e) {
    return `@hokusai/engine did not load: ${errorLine(e)}`;
  }
}

async function loadOrt(): Promise<Ort | string> {
  try {
    return await import('onnxruntime-node');
  } catch (e) {
    const m = errorLine(e);
    if (/onnxruntime_binding/.test(m)) return 'onnxruntime-node/bin is missing (the GPU pack leaves it out)';
    return `onnxruntime-node did not load: ${m}`;
  }
}

const engine = await loadEngine();
if (parts.has('infer')) {
  const ort = await loadOrt();
  for (const size of sizes) {
    if (parts.has('tfjs')) await tfjsInference(size);
    if (parts.has('ort')) await ortInference(ort, 'webgpu', size);
    if (parts.has('ort') && size <= Number(args['ort-cpu-max'])) await ortInference(ort, 'cpu', size);
  }
}

// ---- training step: the tfjs Trainer as `hokusai train` runs it, then the engine's step ----
const TRAIN_LOSS = {
  contentLayers: { relu2_2: 1 },
  styleLayers: { relu1_2: 1, relu2_2: 1, relu3_3: 1, relu4_3: 1 },
  contentWeight: 1,
  styleWeight: 1,
  tvWeight: 0,
};

async function vggWeights(): Promise<import('@hokusai/losses').VggWeights> {
  const { readKerasVggH5 } = await import('@hokusai/losses');
  return readKerasVggH5(new Uint8Array(readFileSync(args['weights'] as string)), 'vgg19');
}

async function tfjsTrainStep(weights: import('@hokusai/losses').VggWeights): Promise<void> {
  const { PerceptualLoss } = await import('@hokusai/losses');
  const { Trainer, autoMicroBatch } = await import('../packages/train/src/trainer.ts');
  const net = TransformerNet.create(FULL_NET, 1);
  const loss = PerceptualLoss.fromWeights(weights, TRAIN_LOSS);
  const style = tf.randomUniform([trainSize, trainSize, 3], 0, 255) as T.Tensor3D;
  loss.setStyle([{ image: style, weight: 1 }]);
  style.dispose();
  const micro = autoMicroBatch('webgpu', trainSize, batch);
  const trainer = new Trainer(
    net,
    loss,
    { batch: async () => { throw new Error('unused'); }, bad: new Map() },
    { saveCheckpoint: async () => {}, writeImage: async () => {} },
    { out: '', iterations: 1, batchSize: batch, imageSize: trainSize, microBatch: micro, lr: 1e-3, lrDecay: 0, checkpointEvery: 1, keep: 1, sampleEvery: 0, logEvery: 1, prefetch: 1, backend: 'webgpu', meta: {} },
    () => {},
  );
  const data = Uint8Array.from(randomPixels(batch * trainSize * trainSize * 3, 3), (v) => Math.floor(v));
  let step = 0;
  const once = async (): Promise<void> => {
    const r = await trainer.trainStep({ step: step++, n: batch, files: [], data });
    if (!r.ok) throw new Error(r.reason);
  };
  const row = { work: 'train step' as const, size: trainSize, batch, impl: 'tfjs webgpu Trainer' };
  try {
    const { ms, calls } = await measure(once, steps, 1);
    addRow({ ...row, ms, note: micro === batch ? '' : `micro-batches of ${micro}`, calls });
    await profileKernels(`tfjs webgpu train step ${trainSize}² ×${batch}`, once);
  } catch (e) {
    addRow({ ...row, ms: null, note: `FAILED: ${errorLine(e)}` });
  } finally {
    trainer.dispose();
    loss.dispose();
    net.dispose();
  }
}

interface EngineStep {
  step(content: Float32Array, lr: number): void;
}
type EngineStepClass = new (ctx: InstanceType<EngineModule['GpuContext']>, spec: Record<string, unknown>) => EngineStep;
type VggConvsFromKeras = (layers: unknown, specs: unknown, deepest: string) => unknown;

/** The engine's step on the same work as tfjs's: style targets from the tfjs PerceptualLoss, VGG19 to relu4_3. */
async function engineTrainStep(weights: import('@hokusai/losses').VggWeights): Promise<void> {
  const row = { work: 'train step' as const, size: trainSize, batch, impl: ENGINE_STEP };
  const Step = typeof engine === 'string' ? undefined : (engine['EngineTrainStep'] as unknown as EngineStepClass | undefined);
  const convs = typeof engine === 'string' ? undefined : (engine['vggConvsFromKeras'] as VggConvsFromKeras | undefined);
  if (typeof engine === 'string' || Step === undefined || convs === undefined) {
    addRow({ ...row, ms: null, note: `not available: ${typeof engine === 'string' ? engine : '@hokusai/engine does not export EngineTrainStep and vggConvsFromKeras yet'}` });
    return;
  }
  const { PerceptualLoss, convSpecs } = await import('@hokusai/losses');
  const loss = PerceptualLoss.fromWeights(weights, TRAIN_LOSS);
  const style = tf.randomUniform([trainSize, trainSize, 3], 0, 255) as T.Tensor3D;
  loss.setStyle([{ image: style, weight: 1 }]);
  style.dispose();
  const styleTargets = new Map<string, Float32Array>();
  for (const [k, t] of loss.styleTargets ?? []) styleTargets.set(k, Float32Array.from(await t.data()));
  loss.dispose();
  const device = await engineDevice();
  const ctx = new engine.GpuContext(device);
  try {
    const spec = {
      config: FULL_NET,
      weights: Object.fromEntries(Object.entries(cpuNet.namedWeights()).map(([k, t]) => [k, Float32Array.from(t.dataSync())])),
      vgg: convs(weights.layers, convSpecs('vgg19'), 'relu4_3'),
      loss: TRAIN_LOSS,
      styleTargets,
      n: batch,
      size: trainSize,
      adam: { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
    };
    const ts = new Step(ctx, spec);
    const data = randomPixels(batch * trainSize * trainSize * 3, 3);
    const once = async (): Promise<void> => {
      ts.step(data, 1e-3);
      await device.queue.onSubmittedWorkDone();
    };
    const { ms, calls } = await measure(once, steps, 1);
    const before = ctx.snapshot();
    await once();
    const c = ctx.since(before);
    addRow({ ...row, ms, note: `GpuContext: ${c.dispatches} dispatches, ${c.buffersCreated} buffers, ${c.submits} submits`, calls });
    await profileKernels(`engine train step ${trainSize}² ×${batch}`, once);
  } catch (e) {
    addRow({ ...row, ms: null, note: `FAILED: ${errorLine(e)}` });
  } finally {
    ctx.dispose();
    device.destroy();
  }
}

if (parts.has('train') && parts.has('tfjs')) await tfjsTrainStep(await vggWeights());

// ---- Gatys: one VGG19 forward + backward to relu5_1 of an image (what `hokusai optimize` does per evaluation) ----
async function gatysEval(weights: import('@hokusai/losses').VggWeights, size: number): Promise<void> {
  const { PerceptualLoss } = await import('@hokusai/losses');
  const { PixelObjective, GATYS_CONTENT_LAYERS, GATYS_STYLE_LAYERS } = await import('../packages/optimize/src/optimize.ts');
  const loss = PerceptualLoss.fromWeights(weights, { contentLayers: GATYS_CONTENT_LAYERS, styleLayers: GATYS_STYLE_LAYERS, contentWeight: 1, styleWeight: 100, tvWeight: 0 });
  const content = tf.randomUniform([1, size, size, 3], 0, 255, 'float32', 5) as T.Tensor4D;
  const style = tf.randomUniform([size, size, 3], 0, 255, 'float32', 6) as T.Tensor3D;
  loss.setStyle([{ image: style, weight: 1 }]);
  const objective = new PixelObjective(loss, content);
  const x = tf.reshape(content, [-1]) as T.Tensor1D;
  const once = async (): Promise<void> => (await objective.evaluate(x)).grad.dispose();
  const row = { work: 'gatys eval' as const, size, batch: 1, impl: 'tfjs webgpu' };
  try {
    const { ms, calls } = await measure(once, Math.max(2, Math.min(runs, 5)), 1);
    addRow({ ...row, ms, note: '', calls });
  } catch (e) {
    addRow({ ...row, ms: null, note: `FAILED: ${errorLine(e)}` });
  } finally {
    tf.dispose([x, content, style]);
    loss.dispose();
  }
}

if (parts.has('gatys') && parts.has('tfjs')) {
  const weights = await vggWeights();
  for (const size of gatysSizes) await gatysEval(weights, size);
}

// ---- the engine last: every reference figure is saved before its first run ----
if (parts.has('infer') && parts.has('engine')) {
  for (const size of sizes) await withTimeout({ work: 'inference', size, batch: 1, impl: ENGINE_FORWARD }, () => engineInference(engine, size));
}
if (parts.has('train') && parts.has('engine')) {
  const weights = await vggWeights();
  await withTimeout({ work: 'train step', size: trainSize, batch, impl: ENGINE_STEP }, () => engineTrainStep(weights));
}

// ---- the table ----
function torchFor(r: Row, mode: string): TorchRow | undefined {
  return report.torch?.rows.find((t) => t.work === r.work && t.size === r.size && t.batch === r.batch && t.mode === mode);
}

function finalTable(): void {
  const modes = [...new Set(report.torch?.rows.map((t) => t.mode) ?? [])];
  const header = ['work', 'size', 'engine', 'time', 'per image', 'dispatches', 'buffers', 'bind groups', 'writeBuffer', 'submits', ...modes.map((m) => `÷ PyTorch ${m}`)];
  const rows: string[][] = [];
  const order = (r: Row): number => WORKS.indexOf(r.work) * 1e6 + r.size;
  for (const r of [...report.rows].sort((a, b) => order(a) - order(b))) {
    const c = r.calls;
    const counts = c === undefined ? ['', '', '', '', ''] : [c.dispatches, c.buffersCreated, c.bindGroupsCreated, c.writeBuffers, c.submits].map(String);
    const ratios = modes.map((m) => {
      const t = torchFor(r, m);
      return r.ms === null || t === undefined ? '' : `${(r.ms / t.ms).toFixed(1)}×`;
    });
    rows.push([r.work, `${r.size}² ×${r.batch}`, r.impl, r.ms === null ? r.note : fmtMs(r.ms), r.ms === null ? '' : fmtMs(r.ms / r.batch), ...counts, ...ratios]);
  }
  for (const t of report.torch?.rows ?? []) {
    const resident = t.msResident === undefined ? '' : ` (${t.msResident.toFixed(1)} ms without host copies)`;
    rows.push([t.work, `${t.size}² ×${t.batch}`, `PyTorch ${report.torch?.device} ${t.mode}${resident}`, `${t.ms.toFixed(1)} ms`, `${(t.ms / t.batch).toFixed(1)} ms`, '', '', '', '', '', ...modes.map(() => '')]);
  }
  console.log(`\n## GPU bench: ${report.adapter}\n`);
  console.log(`Median of ${runs} runs (inference) / ${steps} steps (training) after warm-up; counts are one run's WebGPU calls. Inference times include the upload of the image and the read-back of the result (PyTorch too; its time without host copies is given beside it).\n`);
  printTable(header, rows);
}

finalTable();
saveJson();
cpuNet.dispose();
process.exit(0);
