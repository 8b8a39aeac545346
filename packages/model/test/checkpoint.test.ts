// Checkpoint format (checkpoint.ts, checkpoint-meta.ts, float16.ts): round trips (float32 exact, float16 within
// half-precision rounding), every validation error with a message naming the file and what was expected, and the
// URL loader with a fake fetch.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { TransformerNet, decodeFloat16, defaultCheckpointMeta, encodeFloat16, float16BitsToFloat32, float32ToFloat16Bits, loadCheckpointFromUrl, parseCheckpoint, serializeCheckpoint, serializeCheckpointAsync, type CheckpointFiles, type CheckpointMeta, type NetConfig } from '@hokusai/model';
import { CheckpointError, HokusaiError } from '@hokusai/errors';

const TINY: NetConfig = { arch: 'johnson', channels: [4, 6, 8], residualBlocks: 1 };
const META: CheckpointMeta = {
  ...defaultCheckpointMeta({ name: 'tiny', toolVersion: '0.1.0-test' }),
  styleImages: [{ file: 'wave.jpg', sha256: 'a'.repeat(64), weight: 1 }],
  lossNetwork: { name: 'vgg16' },
  training: { lr: 1e-3, batch: 4 },
  command: 'hokusai train --style wave.jpg',
  step: 40000,
  losses: { content: 12.5, style: 3.25 },
  createdAt: '2026-11-29T10:00:00.000Z',
};

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function weightsOf(net: TransformerNet): Record<string, Float32Array> {
  return Object.fromEntries(Object.entries(net.namedWeights()).map(([k, v]) => [k, v.dataSync() as Float32Array]));
}

function tinyFiles(opts: { float16?: boolean } = {}): { files: CheckpointFiles; net: TransformerNet } {
  const net = TransformerNet.create(TINY, 11);
  return { files: serializeCheckpoint(net, META, opts), net };
}

function editModel(files: CheckpointFiles, edit: (m: Record<string, unknown> & { weightsManifest: Array<{ paths: string[]; weights: Array<{ name: string; shape: number[]; dtype: string }> }> }) => void): CheckpointFiles {
  const m = JSON.parse(files.modelJson) as Parameters<typeof edit>[0];
  edit(m);
  return { ...files, modelJson: JSON.stringify(m) };
}

function expectInvalid(files: CheckpointFiles, message: RegExp): void {
  let error: unknown;
  try {
    parseCheckpoint(files).net.dispose();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(CheckpointError);
  expect((error as Error).message).toMatch(message);
}

describe('float16', () => {
  it('encodes with round-to-nearest-even, overflow to Inf, subnormals, signed zero and NaN', () => {
    const cases: Array<[number, number]> = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [65519, 0x7bff], // below the halfway point to 65536 rounds down
      [65520, 0x7c00], // halfway: ties to even = Inf
      [1e6, 0x7c00],
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // exactly half of it: ties to even (0)
      [1.5 * 2 ** -25, 0x0001],
      [3 * 2 ** -25, 0x0002], // 1.5 subnormal units: tie → even (2)
      [2 ** -14, 0x0400], // smallest normal
      [1 + 2 ** -11, 0x3c00], // halfway between 1 and next: tie → even (1)
      [1 + 3 * 2 ** -11, 0x3c02], // halfway between 1+2^-10 and 1+2^-9: tie → even (…02)
      [0.1, 0x2e66],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
    ];
    for (const [v, bits] of cases) expect([v, float32ToFloat16Bits(v)]).toEqual([v, bits]);
    expect(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN)))).toBe(true);
  });

  it('decodes every finite half exactly and re-encodes it to the same bits', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const values = decodeFloat16(all);
    const again = encodeFloat16(values);
    for (let i = 0; i < 65536; i++) {
      const exp = (i >> 10) & 0x1f;
      if (exp === 0x1f && (i & 0x3ff) !== 0) continue; // NaN payloads need not survive
      if (again[i] !== i) throw new Error(`half 0x${i.toString(16)} → ${values[i]} → 0x${again[i]!.toString(16)}`);
    }
  });
});

describe('serializeCheckpoint / parseCheckpoint', () => {
  it('round-trips float32 exactly, with config and meta, without leaking tensors', () => {
    const before = tf.memory().numTensors;
    const { files, net } = tinyFiles();
    const model = JSON.parse(files.modelJson) as { format: string; formatVersion: number; config: unknown; weightsManifest: unknown[] };
    expect(model.format).toBe('hokusai-transformer');
    expect(model.formatVersion).toBe(1);
    expect(model.config).toEqual(TINY);
    expect(files.weightsBin.byteLength).toBe(net.parameterCount() * 4);
    const back = parseCheckpoint(files);
    expect(back.net.config).toEqual(TINY);
    expect(back.meta).toEqual(META);
    const a = weightsOf(net);
    const b = weightsOf(back.net);
    for (const k of Object.keys(a)) expect(Array.from(b[k]!)).toEqual(Array.from(a[k]!));
    net.dispose();
    back.net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('serializeCheckpointAsync writes the same bytes as serializeCheckpoint', async () => {
    const net = TransformerNet.create(TINY, 12);
    for (const float16 of [false, true]) {
      const sync = serializeCheckpoint(net, META, { float16 });
      const async_ = await serializeCheckpointAsync(net, META, { float16 });
      expect(async_.modelJson).toBe(sync.modelJson);
      expect(async_.metaJson).toBe(sync.metaJson);
      expect(Buffer.from(async_.weightsBin).equals(Buffer.from(sync.weightsBin))).toBe(true);
    }
    net.dispose();
  });

  it('round-trips float16 within half-precision rounding (relative 2^-11) at half the size', () => {
    const { files, net } = tinyFiles({ float16: true });
    expect(files.weightsBin.byteLength).toBe(net.parameterCount() * 2);
    expect(files.modelJson).toContain('"dtype": "float16"');
    const back = parseCheckpoint(files);
    const a = weightsOf(net);
    const b = weightsOf(back.net);
    let worst = 0;
    for (const k of Object.keys(a)) {
      for (let i = 0; i < a[k]!.length; i++) {
        const x = a[k]![i]!;
        const err = Math.abs(b[k]![i]! - x);
        worst = Math.max(worst, Math.abs(x) >= 2 ** -14 ? err / Math.abs(x) : err / 2 ** -14);
      }
    }
    expect(worst).toBeLessThanOrEqual(2 ** -11);
    expect(worst).toBeGreaterThan(0);
    // outputs stay close too
    const x = tf.randomUniform([1, 8, 8, 3], 0, 255, 'float32', 1) as tf.Tensor4D;
    const ya = net.apply(x).dataSync();
    const yb = back.net.apply(x).dataSync();
    let maxDiff = 0;
    for (let i = 0; i < ya.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ya[i]! - yb[i]!));
    expect(maxDiff).toBeLessThan(0.05);
    tf.dispose(x);
    net.dispose();
    back.net.dispose();
  });

  it('round-trips the Engstrom architecture', () => {
    const net = TransformerNet.create({ arch: 'engstrom' }, 2);
    const back = parseCheckpoint(serializeCheckpoint(net, META));
    expect(back.net.config).toEqual({ arch: 'engstrom' });
    expect(back.net.parameterCount()).toBe(1_677_638);
    net.dispose();
    back.net.dispose();
  });

  it('rejects broken JSON and schema violations in model.json and meta.json', () => {
    const { files, net } = tinyFiles();
    net.dispose();
    expectInvalid({ ...files, modelJson: '{"format":' }, /^model\.json: expected valid JSON/);
    expectInvalid({ ...files, metaJson: 'nope' }, /^meta\.json: expected valid JSON/);
    expectInvalid(editModel(files, (m) => (m.format = 'keras')), /expected format 'hokusai-transformer', got "keras"/);
    expectInvalid(editModel(files, (m) => (m.formatVersion = 2)), /model\.json: invalid \(formatVersion/);
    expectInvalid(editModel(files, (m) => (m.config = { arch: 'johnson', channels: [4, 6], residualBlocks: 1 })), /config\.channels/);
    expectInvalid(editModel(files, (m) => (m.extra = 1)), /model\.json: invalid/);
    const meta = JSON.parse(files.metaJson) as Record<string, unknown>;
    expectInvalid({ ...files, metaJson: JSON.stringify({ ...meta, step: -1 }) }, /meta\.json: invalid \(step/);
    expectInvalid(
      { ...files, metaJson: JSON.stringify({ ...meta, styleImages: [{ file: 'a.jpg', sha256: 'xyz', weight: 1 }] }) },
      /styleImages\.0\.sha256: expected 64 lowercase hex digits/,
    );
    expectInvalid({ ...files, metaJson: JSON.stringify({ ...meta, formatVersion: 9 }) }, /meta\.json: invalid \(formatVersion/);
    expectInvalid({ ...files, metaJson: JSON.stringify({ ...meta, createdAt: 'yesterday' }) }, /createdAt/);
  });

  it('rejects weight paths that leave the folder, and any second or other weights file', () => {
    const { files, net } = tinyFiles();
    net.dispose();
    const withPath = (p: string[]): CheckpointFiles => editModel(files, (m) => (m.weightsManifest[0]!.paths = p));
    expectInvalid(withPath(['../weights.bin']), /"\.\.\/weights\.bin" contains a '\.\.' segment/);
    expectInvalid(withPath(['sub/../../x.bin']), /'\.\.' segment/);
    expectInvalid(withPath(['/etc/passwd']), /is absolute/);
    expectInvalid(withPath(['https://evil.example/w.bin']), /is a URL/);
    expectInvalid(withPath(['C:\\w.bin']), /URL or drive path|backslash/);
    expectInvalid(withPath(['weights.bin', 'more.bin']), /expected exactly one weights file 'weights\.bin'/);
    expectInvalid(withPath(['other.bin']), /expected exactly one weights file 'weights\.bin', got \["other\.bin"\]/);
  });

  it('rejects names and shapes that do not match the config', () => {
    const { files, net } = tinyFiles();
    net.dispose();
    expectInvalid(
      editModel(files, (m) => m.weightsManifest[0]!.weights.splice(2, 1)),
      /weights do not match the johnson \[4,6,8\]×1 architecture: missing in1\.weight/,
    );
    expectInvalid(
      editModel(files, (m) => (m.weightsManifest[0]!.weights[0]!.name = 'conv0.weight')),
      /missing conv1\.conv2d\.weight; unexpected conv0\.weight/,
    );
    expectInvalid(
      editModel(files, (m) => (m.weightsManifest[0]!.weights[0]!.shape = [9, 9, 3, 5])),
      /conv1\.conv2d\.weight of johnson \[4,6,8\]×1: expected shape \[9,9,3,4\], got \[9,9,3,5\]/,
    );
    expectInvalid(
      editModel(files, (m) => m.weightsManifest[0]!.weights.push({ ...m.weightsManifest[0]!.weights[0]! })),
      /listed twice/,
    );
    expectInvalid(editModel(files, (m) => (m.config = { ...TINY, residualBlocks: 2 })), /missing res2\.conv1\.conv2d\.weight/);
    expectInvalid(editModel(files, (m) => (m.weightsManifest[0]!.weights[1]!.dtype = 'int8')), /dtype/);
  });

  it('rejects a weights.bin of the wrong size and non-finite values', () => {
    const { files, net } = tinyFiles();
    const n = net.parameterCount();
    net.dispose();
    expectInvalid({ ...files, weightsBin: files.weightsBin.subarray(0, files.weightsBin.length - 4) }, new RegExp(`weights\\.bin: expected ${4 * n} bytes .* got ${4 * n - 4}`));
    expectInvalid({ ...files, weightsBin: new Uint8Array(4 * n + 1) }, /got \d+$/);
    // dtype says float16 for one weight but the bytes were written as float32: the size no longer matches
    expectInvalid(editModel(files, (m) => (m.weightsManifest[0]!.weights[0]!.dtype = 'float16')), /weights\.bin: expected \d+ bytes/);
    const nan = files.weightsBin.slice();
    new DataView(nan.buffer).setFloat32(4 * 10, NaN, true);
    expectInvalid({ ...files, weightsBin: nan }, /weight conv1\.conv2d\.weight element 10 is NaN, expected a finite number/);
    const half = tinyFiles({ float16: true });
    half.net.dispose();
    const inf = half.files.weightsBin.slice();
    new DataView(inf.buffer).setUint16(2 * 3, 0x7c00, true);
    expectInvalid({ ...half.files, weightsBin: inf }, /element 3 is Infinity/);
  });

  it('refuses to serialise invalid meta, non-finite weights, and values beyond float16 range', () => {
    const net = TransformerNet.create(TINY, 3);
    expect(() => serializeCheckpoint(net, { ...META, name: '' })).toThrow(/meta: invalid \(name/);
    const w = net.namedWeights()['in1.bias'] as tf.Variable;
    w.assign(tf.tensor1d([0, 0, 1e5, 0]));
    expect(() => serializeCheckpoint(net, META, { float16: true })).toThrow(/in1\.bias element 2 is 100000, beyond float16's range/);
    expect(() => serializeCheckpoint(net, META)).not.toThrow();
    w.assign(tf.tensor1d([0, Infinity, 0, 0]));
    expect(() => serializeCheckpoint(net, META)).toThrow(CheckpointError);
    net.dispose();
  });
});

describe('loadCheckpointFromUrl', () => {
  function fakeFetch(files: Record<string, Uint8Array | string>, opts: { lie?: number; chunk?: number } = {}): typeof fetch {
    return (async (input: string | URL | Request) => {
      const url = String(input);
      const name = url.slice(url.lastIndexOf('/') + 1);
      const body = files[name];
      if (body === undefined) return new Response('missing', { status: 404, statusText: 'Not Found' });
      const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
      const chunk = opts.chunk ?? bytes.length;
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < bytes.length; i += chunk) controller.enqueue(bytes.slice(i, i + chunk));
          controller.close();
        },
      });
      return new Response(stream, { status: 200, headers: { 'content-length': String(opts.lie ?? bytes.length) } });
    }) as typeof fetch;
  }

  it('loads the three files, reporting monotone progress from 0 to 1', async () => {
    const { files, net } = tinyFiles();
    const progress: number[] = [];
    const seen: string[] = [];
    const base = fakeFetch({ 'model.json': files.modelJson, 'meta.json': files.metaJson, 'weights.bin': files.weightsBin }, { chunk: 1000 });
    const fetchFn = ((u: string) => {
      seen.push(u);
      return base(u);
    }) as typeof fetch;
    const loaded = await loadCheckpointFromUrl('https://x.example/models/tiny', { fetch: fetchFn, onProgress: (f) => progress.push(f) });
    expect(seen.sort()).toEqual(['https://x.example/models/tiny/meta.json', 'https://x.example/models/tiny/model.json', 'https://x.example/models/tiny/weights.bin']);
    expect(progress[0]).toBe(0);
    expect(progress.at(-1)).toBe(1);
    expect(progress.length).toBeGreaterThan(3);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!).toBeGreaterThanOrEqual(progress[i - 1]!);
    const a = weightsOf(net);
    const b = weightsOf(loaded.net);
    for (const k of Object.keys(a)) expect(Array.from(b[k]!)).toEqual(Array.from(a[k]!));
    expect(loaded.meta.name).toBe('tiny');
    net.dispose();
    loaded.net.dispose();
  });

  it('fails with NOT_FOUND for a missing file and CHECKPOINT_INVALID for a size mismatch', async () => {
    const { files, net } = tinyFiles();
    net.dispose();
    const missing = await loadCheckpointFromUrl('/m/', { fetch: fakeFetch({ 'model.json': files.modelJson, 'meta.json': files.metaJson }) }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(HokusaiError);
    expect((missing as HokusaiError).code).toBe('NOT_FOUND');
    expect((missing as Error).message).toContain('/m/weights.bin');
    const lying = await loadCheckpointFromUrl('/m', {
      fetch: fakeFetch({ 'model.json': files.modelJson, 'meta.json': files.metaJson, 'weights.bin': files.weightsBin }, { lie: 10 }),
    }).catch((e: unknown) => e);
    expect((lying as HokusaiError).code).toBe('CHECKPOINT_INVALID');
    expect((lying as Error).message).toMatch(/expected \d+ bytes .* server announces 10/);
    const offline = await loadCheckpointFromUrl('/m', {
      fetch: (() => Promise.reject(new TypeError('network down'))) as typeof fetch,
    }).catch((e: unknown) => e);
    expect((offline as HokusaiError).code).toBe('NETWORK_UNAVAILABLE');
  });
});
