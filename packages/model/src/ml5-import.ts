/**
 * Import of the ml5.js / deeplearn.js "CheckpointLoader" style-transfer models (Engstrom architecture, see
 * engstrom-net.ts): `manifest.json` maps `Variable`, `Variable_1` … `Variable_47` to `{filename, shape}`, each file
 * holding raw little-endian float32 values in C order. Everything is validated (names, shapes, byte sizes, finite
 * values, file names that stay inside the directory) before a TransformerNet `{arch:'engstrom'}` is built.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { WeightsError } from '@hokusai/errors';
import { engstromWeightSpecs } from './engstrom-net.ts';
import { TransformerNet } from './transformer-net.ts';
import { shapeSize } from './weight-spec.ts';
import { unsafeManifestPathReason } from './checkpoint.ts';

const Ml5ManifestSchema = z.record(
  z.string(),
  z.object({ filename: z.string().min(1), shape: z.array(z.number().int().nonnegative()) }),
);

/** ml5 variable name of the i-th Engstrom weight: Variable, Variable_1, … */
export function ml5VariableName(index: number): string {
  return index === 0 ? 'Variable' : `Variable_${index}`;
}

export function importMl5(files: { manifest: unknown; read: (fileName: string) => Uint8Array }): TransformerNet {
  const parsed = Ml5ManifestSchema.safeParse(files.manifest);
  if (!parsed.success) {
    throw new WeightsError(
      `ml5 manifest.json: expected {Variable: {filename, shape}, …}, got invalid data (${parsed.error.issues
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ')})`,
    );
  }
  const manifest = parsed.data;
  const specs = engstromWeightSpecs();
  const expected = specs.map((_, i) => ml5VariableName(i));
  const extra = Object.keys(manifest).filter((k) => !expected.includes(k));
  const missing = expected.filter((k) => !(k in manifest));
  if (missing.length > 0 || extra.length > 0) {
    throw new WeightsError(
      `ml5 manifest.json: expected exactly ${expected.length} variables Variable … Variable_${expected.length - 1} ` +
        `(Engstrom architecture); ${[missing.length > 0 ? `missing ${missing.join(', ')}` : '', extra.length > 0 ? `unexpected ${extra.join(', ')}` : ''].filter(Boolean).join('; ')}`,
    );
  }
  const tensors: Record<string, tf.Tensor> = {};
  try {
    specs.forEach((spec, i) => {
      const varName = ml5VariableName(i);
      const entry = manifest[varName] as { filename: string; shape: number[] };
      if (entry.shape.length !== spec.shape.length || entry.shape.some((d, k) => d !== spec.shape[k])) {
        throw new WeightsError(
          `ml5 ${varName} (${spec.name}): expected shape [${spec.shape.join(',')}], got [${entry.shape.join(',')}]`,
        );
      }
      const reason = unsafeManifestPathReason(entry.filename);
      if (reason !== undefined || entry.filename.includes('/')) {
        throw new WeightsError(`ml5 ${varName}: file name ${JSON.stringify(entry.filename)} ${reason ?? 'has a directory part'}; expected a plain file name`);
      }
      const bytes = files.read(entry.filename);
      const n = shapeSize(spec.shape);
      if (bytes.byteLength !== 4 * n) {
        throw new WeightsError(`ml5 ${varName} (${entry.filename}): expected ${4 * n} bytes (float32 ×${n}), got ${bytes.byteLength}`);
      }
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const values = new Float32Array(n);
      for (let k = 0; k < n; k++) {
        const v = view.getFloat32(4 * k, true);
        if (!Number.isFinite(v)) throw new WeightsError(`ml5 ${varName} (${entry.filename}): element ${k} is ${v}, expected finite`);
        values[k] = v;
      }
      tensors[spec.name] = tf.tensor(values, spec.shape, 'float32');
    });
    return TransformerNet.fromWeights({ arch: 'engstrom' }, tensors);
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}
