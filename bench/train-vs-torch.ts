// The same fast-style-transfer training step (Johnson et al. 2016: transformation net forward, VGG19 perceptual
// loss from the same Keras .h5 weights, backward, Adam update) in this trainer and in Debian's PyTorch
// (tools/torch_train_step.py, CPU), at 128² and 256²; prints ms per image for each backend and the ratio to torch.
// Usage: node tools/run-ts.mjs bench/train-vs-torch.ts [--backends wasm,cpu] [--sizes 128,256] [--batch 4]
//        [--width full|half] [--steps 3] [--threads 2]
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, list, median, SHARED_INPUTS } from './bench-util.ts';

const args = parseArgs({
  backends: 'wasm',
  sizes: '128,256',
  batch: '4',
  width: 'full',
  steps: '3',
  threads: '2',
  weights: SHARED_INPUTS.weights,
});
const tf = await import('@tensorflow/tfjs-core');
await import('../packages/cli/src/tfjs-op-handler.ts');
const { TransformerNet, FULL_NET, HALF_NET } = await import('@hokusai/model');
const { PerceptualLoss, readKerasVggH5 } = await import('@hokusai/losses');
const { initBackend } = await import('@hokusai/node');
const { Trainer, autoMicroBatch } = await import('../packages/train/src/trainer.ts');

const sizes = list(args['sizes'] as string).map(Number);
const batch = Number(args['batch']);
const steps = Number(args['steps']);
const netConfig = args['width'] === 'half' ? HALF_NET : FULL_NET;
const weights = await readKerasVggH5(new Uint8Array(await readFile(args['weights'] as string)), 'vgg19');
const lossOptions = {
  contentLayers: { relu2_2: 1 },
  styleLayers: { relu1_2: 1, relu2_2: 1, relu3_3: 1, relu4_3: 1 },
  contentWeight: 1,
  styleWeight: 1,
  tvWeight: 0,
};

const ours: Record<string, Record<number, number>> = {};
for (const backend of list(args['backends'] as string)) {
  const info = await initBackend(backend as 'wasm');
  ours[info.name] = {};
  for (const size of sizes) {
    const net = TransformerNet.create(netConfig, 1);
    const loss = PerceptualLoss.fromWeights(weights, lossOptions);
    const style = tf.randomUniform([size, size, 3], 0, 255) as import('@tensorflow/tfjs-core').Tensor3D;
    loss.setStyle([{ image: style, weight: 1 }]);
    style.dispose();
    const micro = autoMicroBatch(info.name, size, batch);
    const trainer = new Trainer(
      net,
      loss,
      { batch: async () => { throw new Error('unused'); }, bad: new Map() },
      { saveCheckpoint: async () => {}, writeImage: async () => {} },
      { out: '', iterations: 1, batchSize: batch, imageSize: size, microBatch: micro, lr: 1e-3, lrDecay: 0, checkpointEvery: 1, keep: 1, sampleEvery: 0, logEvery: 1, prefetch: 1, backend: info.name, meta: {} },
      () => {},
    );
    const times: number[] = [];
    for (let i = 0; i < steps + 1; i++) {
      const data = new Uint8Array(batch * size * size * 3).map(() => Math.floor(Math.random() * 256));
      const t0 = performance.now();
      const r = await trainer.trainStep({ step: i, n: batch, files: [], data });
      if (!r.ok) throw new Error(r.reason);
      if (i > 0) times.push(performance.now() - t0);
    }
    ours[info.name]![size] = median(times) / batch;
    console.log(`hokusai ${info.name} ${size}²: ${(median(times) / batch).toFixed(0)} ms/image (batch ${batch}, micro-batches of ${micro}, ${args['width']} net)`);
    trainer.dispose();
    loss.dispose();
    net.dispose();
  }
}

let torch: Record<string, number> | null = null;
if (existsSync('/usr/bin/python3')) {
  const dir = await mkdtemp(join(tmpdir(), 'train-vs-torch-'));
  const settings = {
    weights: args['weights'],
    sizes,
    batch,
    channels: netConfig.arch === 'johnson' ? netConfig.channels : [32, 64, 128],
    residualBlocks: netConfig.arch === 'johnson' ? netConfig.residualBlocks : 5,
    steps,
    warmup: 1,
    threads: Number(args['threads']),
  };
  await writeFile(join(dir, 'settings.json'), JSON.stringify(settings));
  try {
    const out = execFileSync('/usr/bin/python3', ['tools/torch_train_step.py', join(dir, 'settings.json')], { encoding: 'utf8' });
    torch = (JSON.parse(out.trim().split('\n').pop()!) as { msPerImage: Record<string, number> }).msPerImage;
  } catch (error) {
    console.log(`torch reference failed: ${(error as Error).message.split('\n')[0]}`);
  }
} else {
  console.log('torch reference skipped: /usr/bin/python3 (Debian python3-torch) not found');
}

console.log('\nms per image for one training step (lower is better); ratio = ours / torch');
console.log(['size', 'torch', ...Object.keys(ours).flatMap((b) => [b, `${b}/torch`])].join('\t'));
for (const size of sizes) {
  const t = torch?.[String(size)];
  const row = [`${size}²`, t === undefined ? '-' : t.toFixed(0)];
  for (const b of Object.keys(ours)) {
    const v = ours[b]![size]!;
    row.push(v.toFixed(0), t === undefined ? '-' : (v / t).toFixed(2));
  }
  console.log(row.join('\t'));
}
process.exit(0);
