/**
 * `hokusai export --checkpoint <dir> --format onnx --out model.onnx`: writes a checkpoint's network as an ONNX
 * graph (opset 17, built by @hokusai/serve's exporter) for onnxruntime or any ONNX runtime. Graph I/O: `image`
 * [N,H,W,3] float32 RGB 0–255 in, `stylized` [N,H,W,3] 0–255 out, dynamic N/H/W.
 */
import { z } from 'zod';
import { initBackend, loadCheckpointDir, writeFileAtomic } from '@hokusai/node';
import { describeNetConfig } from '@hokusai/model';
import { exportOnnx } from '@hokusai/serve';
import { defineCommand, type CommandContext, type CommandSpec } from '../command.ts';

export const exportSchema = z.object({
  checkpoint: z.string().min(1).describe('checkpoint directory (model.json, weights.bin, meta.json)'),
  format: z.enum(['onnx']).default('onnx').describe('output format'),
  out: z.string().min(1).describe('output file, e.g. model.onnx'),
});

export type ExportOptions = z.infer<typeof exportSchema>;

export async function runExport(opts: ExportOptions, ctx: CommandContext): Promise<void> {
  await initBackend('cpu');
  const { net, meta } = await loadCheckpointDir(opts.checkpoint);
  try {
    const bytes = exportOnnx(net, {
      metadata: { name: meta.name, step: String(meta.step), createdAt: meta.createdAt, toolVersion: meta.toolVersion },
    });
    await writeFileAtomic(opts.out, bytes);
    ctx.log(`wrote ${opts.out}: ${describeNetConfig(net.config)}, ${net.parameterCount()} parameters, ${bytes.byteLength} bytes (ONNX opset 17)`);
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
