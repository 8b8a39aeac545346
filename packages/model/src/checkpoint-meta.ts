/**
 * `meta.json` of a checkpoint directory: what the network was trained on and how (style images with their
 * SHA-256, loss network, training options, the command line, step, last losses), when, and by which tool version.
 * Unknown extra fields are kept (forward compatibility); known ones are validated.
 */
import { z } from 'zod';

export const CHECKPOINT_META_FORMAT_VERSION = 1 as const;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits');

export const StyleImageRefSchema = z.strictObject({
  file: z.string().min(1),
  sha256,
  weight: z.number().finite().nonnegative(),
});

export const CheckpointMetaSchema = z.looseObject({
  formatVersion: z.literal(CHECKPOINT_META_FORMAT_VERSION),
  name: z.string().min(1).max(200),
  styleImages: z.array(StyleImageRefSchema),
  lossNetwork: z.strictObject({ name: z.enum(['vgg16', 'vgg19']), weightsSha256: sha256.optional() }).nullable(),
  training: z.record(z.string(), z.unknown()).nullable(),
  command: z.string().optional(),
  step: z.number().int().nonnegative(),
  losses: z.record(z.string(), z.number().finite()),
  createdAt: z.iso.datetime({ offset: true }),
  toolVersion: z.string().min(1),
});

export type StyleImageRef = z.infer<typeof StyleImageRefSchema>;
export type CheckpointMeta = z.infer<typeof CheckpointMetaSchema>;

/** Minimal valid meta for a network that was not trained by us (imports, tests); override any field. */
export function defaultCheckpointMeta(overrides: Partial<CheckpointMeta> & { name: string; toolVersion: string }): CheckpointMeta {
  return {
    formatVersion: CHECKPOINT_META_FORMAT_VERSION,
    styleImages: [],
    lossNetwork: null,
    training: null,
    step: 0,
    losses: {},
    createdAt: new Date().toISOString(),
    ...overrides,
  };
}
