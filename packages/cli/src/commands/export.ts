/**
 * `hokusai export --checkpoint <dir> --format onnx --out model.onnx`: writes a checkpoint's network as an ONNX
 * graph (opset 17, built by @hokusai/serve's exporter) for onnxruntime or any ONNX runtime. Graph I/O: `image`
 * [N,H,W,3] float32 RGB 0–255 in, `stylized` [N,H,W,3] 0–255 out, dynamic N/H/W.
 * Before writing, the graph is checked in onnxruntime-node (the engine `stylize` and `serve` use) against tfjs on
 * a test image: a mean difference above one grey level refuses the export (unless --no-check).
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { initBackend, loadCheckpointDir, writeFileAtomic, type RgbImage } from '@hokusai/node';
import { describeNetConfig, type TransformerNet } from '@hokusai/model';
import { HokusaiError } from '@hokusai/errors';
import { exportOnnx } from '@hokusai/export';
import { createOnnxStylizer, loadOnnxRuntime } from '@hokusai/serve';
import { defineCommand, type CommandContext, type CommandSpec } from '../command.ts';
import { tfjsEngine } from './stylize.ts';

export const exportSchema = z.object({
  checkpoint: z.string().min(1).describe('checkpoint directory (model.json, weights.bin, meta.json)'),
  format: z.enum(['onnx']).default('onnx').describe('output format'),
  out: z.string().min(1).describe('output file, e.g. model.onnx'),
  check: z.boolean().default(true).describe('run the graph in onnxruntime against tfjs on a test image before writing it'),
});

export type ExportOptions = z.infer<typeof exportSchema>;

/** Largest mean |onnxruntime − tfjs| (grey levels) an export may show on the test image. */
export const EXPORT_TOLERANCE = 1;

/** A smooth colourful 61×43 test image (odd sizes exercise the padding and cropping of the graph). */
function testImage(width = 61, height = 43): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = Math.round(127.5 + 127.5 * Math.sin(x / 7));
      data[i + 1] = Math.round((255 * y) / (height - 1));
      data[i + 2] = (x * 13 + y * 29) % 256;
    }
  }
  return { data, width, height };
}

/** Mean |difference| between the graph in onnxruntime and the network in tfjs on the test image; null without onnxruntime. */
export async function checkOnnx(bytes: Uint8Array, net: TransformerNet, log: (line: string) => void): Promise<number | null> {
  let ort;
  try {
    ort = await loadOnnxRuntime();
  } catch (error) {
    log(`onnxruntime-node did not load (${(error as Error).message.split('\n')[0] ?? ''}); the export is not checked`);
    return null;
  }
  const img = testImage();
  const onnx = await createOnnxStylizer(ort, bytes, { threads: availableParallelism() });
  try {
    const got = await onnx.run(img.data, img.width, img.height, 1, false);
    const want = (await tfjsEngine(net).stylize(img, { strength: 1, preserveColors: false })).data;
    let sum = 0;
    for (let i = 0; i < got.length; i++) sum += Math.abs(got[i]! - want[i]!);
    return sum / got.length;
  } finally {
    await onnx.dispose();
  }
}

export async function runExport(opts: ExportOptions, ctx: CommandContext): Promise<void> {
  await initBackend('cpu');
  const { net, meta } = await loadCheckpointDir(opts.checkpoint);
  try {
    const bytes = exportOnnx(net, {
      metadata: { name: meta.name, step: String(meta.step), createdAt: meta.createdAt, toolVersion: meta.toolVersion },
    });
    const diff = opts.check ? await checkOnnx(bytes, net, ctx.log) : null;
    if (diff !== null && !(diff <= EXPORT_TOLERANCE)) {
      throw new HokusaiError(
        'INTERNAL',
        `the ONNX graph computes a different picture than the network: mean difference ${diff.toFixed(2)} grey levels in onnxruntime against tfjs ` +
          `(expected at most ${EXPORT_TOLERANCE}); nothing written`,
      );
    }
    await writeFileAtomic(opts.out, bytes);
    ctx.log(`wrote ${opts.out}: ${describeNetConfig(net.config)}, ${net.parameterCount()} parameters, ${bytes.byteLength} bytes (ONNX opset 17)`);
    if (diff !== null) ctx.log(`checked in onnxruntime-node: mean difference from tfjs ${diff.toFixed(3)} grey levels on a test image`);
  } finally {
    net.dispose();
  }
}

export const commands: CommandSpec[] = [
  defineCommand({
    name: 'export',
    summary: 'export a checkpoint as an ONNX model (input `image` [N,H,W,3] RGB 0–255, output `stylized`)',
    schema: exportSchema,
    aliases: { out: 'o' },
    run: runExport,
  }) as unknown as CommandSpec,
];
