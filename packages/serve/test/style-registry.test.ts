// Unit tests of the style registry's stability record (issue 21.4): whether a checkpoint was trained against video
// flicker (meta.json training.stabilityWeight > 0) and which style a `<id>-stable` folder is the stable variant of,
// as GET /v1/styles publishes it (validated against the OpenAPI schema). Workers are replaced by a fake pool.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StyleRegistry, stabilityOf, type Style } from '../src/style-registry.ts';
import { describeStyle } from '../src/app.ts';
import { StyleListSchema, StyleSchema } from '../src/api-schemas.ts';
import { buildOpenApi } from '../src/openapi.ts';
import { tempDir } from './helpers.ts';

const stab = (weight: unknown, extra: Record<string, unknown> = {}) => ({ training: { stabilityWeight: weight, stabilityNoise: 4, stabilityShift: 4, ...extra } });

describe('stabilityOf', () => {
  it('trained when stabilityWeight > 0; a <id>-stable folder trained for it is the variant of <id>', () => {
    expect(stabilityOf('wave-stable', stab(300))).toEqual({ trained: true, weight: 300, noise: 4, shift: 4, variantOf: 'wave' });
    expect(stabilityOf('wave', stab(300))).toMatchObject({ trained: true, variantOf: null });
    expect(stabilityOf('wave-stable', stab(0))).toEqual({ trained: false, weight: 0, noise: 4, shift: 4, variantOf: null });
  });
  it('reads missing or malformed records as not trained', () => {
    const none = { trained: false, weight: null, noise: null, shift: null, variantOf: null };
    expect(stabilityOf('a-stable', {})).toEqual(none);
    expect(stabilityOf('a-stable', { training: null })).toEqual(none);
    expect(stabilityOf('a-stable', { training: { stabilityWeight: '300' } })).toEqual(none);
    expect(stabilityOf('a-stable', { training: { stabilityWeight: Number.NaN } })).toEqual(none);
    expect(stabilityOf('a-stable', stab(-1))).toMatchObject({ trained: false, variantOf: null });
    // "-stable" alone names no style
    expect(stabilityOf('-stable', stab(5)).variantOf).toBe(null);
  });
});

describe('StyleRegistry and GET /v1/styles', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let styles: Style[];

  beforeAll(async () => {
    dir = await tempDir('registry-stability');
    const metas: Record<string, Record<string, unknown>> = {
      wave: { name: 'Wave', training: { lr: 0.002, stabilityWeight: 0, stabilityNoise: 4, stabilityShift: 0 } },
      'wave-stable': { name: 'Wave', training: { lr: 0.002, stabilityWeight: 300, stabilityNoise: 4, stabilityShift: 4 } },
      old: { name: 'Old', training: { lr: 0.001 } }, // trained before the stability options existed
    };
    for (const [id, meta] of Object.entries(metas)) {
      await mkdir(join(dir.path, id));
      await writeFile(join(dir.path, id, 'model.json'), '{}');
      await writeFile(join(dir.path, id, 'weights.bin'), new Uint8Array(4));
      await writeFile(join(dir.path, id, 'meta.json'), JSON.stringify(meta));
    }
    const pool = {
      load: async (_id: string, _version: number, files: { metaJson: string }) => ({
        engine: 'onnx' as const,
        meta: JSON.parse(files.metaJson) as Record<string, unknown>,
        config: { arch: 'johnson' },
        warmupMs: 1,
      }),
      unload: () => undefined,
    };
    const registry = new StyleRegistry({ dir: dir.path, pollMs: 0, pool, log: () => undefined });
    await registry.start();
    styles = registry.list();
  });
  afterAll(async () => {
    await dir?.remove();
  });

  it('records each checkpoint’s stability and publishes it in the documented schema', () => {
    const body = StyleListSchema.parse({ styles: styles.map(describeStyle) });
    const byId = Object.fromEntries(body.styles.map((s) => [s.id, s.stability]));
    expect(byId).toEqual({
      old: { trained: false, weight: null, noise: null, shift: null, variantOf: null },
      wave: { trained: false, weight: 0, noise: 4, shift: 0, variantOf: null },
      'wave-stable': { trained: true, weight: 300, noise: 4, shift: 4, variantOf: 'wave' },
    });
    // The schema rejects a style without the record: the field is required, not optional.
    expect(StyleSchema.safeParse({ ...describeStyle(styles[0] as Style), stability: undefined }).success).toBe(false);
  });

  it('documents the field in the OpenAPI document', () => {
    const doc = buildOpenApi({ version: 'test', maxBodyBytes: 1, maxPixels: 1, maxSize: 16 }) as {
      components: { schemas: { Style: { properties: Record<string, { properties?: Record<string, { description?: string }> }> } } };
    };
    const stability = doc.components.schemas.Style.properties.stability;
    expect(Object.keys(stability?.properties ?? {})).toEqual(['trained', 'weight', 'noise', 'shift', 'variantOf']);
    expect(stability?.properties?.variantOf?.description).toMatch(/stable-for-video variant/);
  });
});
