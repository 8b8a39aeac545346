/**
 * Unit tests of the web demo's browser-independent parts, run in Node: the `/v1/styles` parser, processing sizes,
 * `?backend=` parsing, software WebGPU adapter detection, the fps readout (styled frames only), camera error
 * sentences, and the Cache API fetch wrapper (with an in-memory CacheStorage).
 */
import { describe, expect, test } from 'vitest';
import { parseStyles } from '../src/styles-api.ts';
import { processingSize } from '../src/render-loop.ts';
import { parseBackendParam, softwareWebGpuAdapter } from '../src/backend.ts';
import { FrameStats } from '../src/frame-stats.ts';
import { describeCameraError } from '../src/camera.ts';
import { makeCachingFetch } from '../src/model-cache.ts';

describe('parseStyles', () => {
  const base = 'http://127.0.0.1:8080/';
  test('reads the server envelope, resolves URLs, turns a model.json URL into its folder', () => {
    const styles = parseStyles(
      { styles: [{ id: 'wave', name: 'Great Wave', thumbnailUrl: '/models/wave/thumbnail.jpg', modelUrl: '/models/wave/model.json' }] },
      base,
    );
    expect(styles).toEqual([
      {
        id: 'wave',
        name: 'Great Wave',
        thumbnailUrl: 'http://127.0.0.1:8080/models/wave/thumbnail.jpg',
        modelUrl: 'http://127.0.0.1:8080/models/wave/',
        stableForVideo: false,
        variantOf: null,
      },
    ]);
  });
  test('bare array, defaults for name/thumbnail/model folder', () => {
    const [s] = parseStyles([{ id: 'a b' }], 'http://h/demo/');
    expect(s).toEqual({ id: 'a b', name: 'a b', thumbnailUrl: null, modelUrl: 'http://h/demo/models/a%20b/', stableForVideo: false, variantOf: null });
  });
  test('reads whether a network was trained for video and which style it is the stable variant of', () => {
    const [plain, stable, orphan, odd] = parseStyles(
      [
        { id: 'wave', stability: { trained: false, weight: 0, noise: 4, shift: 0, variantOf: null } },
        { id: 'wave-stable', stability: { trained: true, weight: 300, noise: 4, shift: 4, variantOf: 'wave' } },
        { id: 'calm', stability: { trained: true, weight: 10, noise: 4, shift: 0, variantOf: null } },
        // not trained for stability: a variantOf is not believed; a malformed stability object reads as none
        { id: 'x-stable', stability: { trained: false, variantOf: 'x' } },
      ],
      base,
    );
    expect([plain, stable, orphan, odd].map((e) => [e?.stableForVideo, e?.variantOf])).toEqual([
      [false, null],
      [true, 'wave'],
      [true, null],
      [false, null],
    ]);
    expect(parseStyles([{ id: 'y', stability: 'yes' }], base)[0]).toMatchObject({ stableForVideo: false, variantOf: null });
  });
  test('says what was expected and what arrived', () => {
    expect(() => parseStyles({ nope: 1 }, base)).toThrow(/expected a JSON array of styles.*got \{"nope":1\}/);
    expect(() => parseStyles([{ name: 'x' }], base)).toThrow(/entry 0 has no string "id"/);
    expect(() => parseStyles([3], base)).toThrow(/entry 0 is not an object/);
  });
});

describe('processingSize', () => {
  test('long edge is the chosen size, aspect kept', () => {
    expect(processingSize(1280, 720, 256)).toEqual({ width: 256, height: 144 });
    expect(processingSize(480, 640, 384)).toEqual({ width: 288, height: 384 });
    expect(processingSize(0, 0, 192)).toEqual({ width: 192, height: 192 });
    expect(processingSize(10000, 1, 512)).toEqual({ width: 512, height: 1 });
  });
});

describe('parseBackendParam', () => {
  test('known names, auto, and a readable error', () => {
    expect(parseBackendParam(null)).toBe(null);
    expect(parseBackendParam('auto')).toBe(null);
    expect(parseBackendParam('wasm')).toBe('wasm');
    expect(() => parseBackendParam('cuda')).toThrow(/expects one of auto, webgpu, webgl, wasm, cpu; got "cuda"/);
  });
});

describe('softwareWebGpuAdapter', () => {
  test('names software adapters (as headless Chromium reports SwiftShader, Mesa lavapipe), passes hardware ones', async () => {
    expect(await softwareWebGpuAdapter({ info: { vendor: 'google', architecture: 'swiftshader', device: '', description: '' } })).toBe('swiftshader');
    expect(await softwareWebGpuAdapter({ info: { vendor: 'mesa', architecture: '', device: '', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' } })).toBe('llvmpipe');
    expect(await softwareWebGpuAdapter({ requestAdapterInfo: async () => ({ vendor: 'mesa', description: 'lavapipe' }) })).toBe('lavapipe');
    expect(await softwareWebGpuAdapter({ isFallbackAdapter: true, info: { vendor: 'unknown' } })).toBe('fallback adapter');
    expect(await softwareWebGpuAdapter({ info: { vendor: 'nvidia', architecture: 'ada', device: '', description: 'NVIDIA GeForce RTX 4070' } })).toBe(null);
    expect(await softwareWebGpuAdapter({})).toBe(null);
  });
});

describe('FrameStats (the fps / ms readout)', () => {
  test('frames shown before a style is picked are not counted: the readout stays empty', () => {
    const s = new FrameStats();
    let t = 0;
    for (let i = 0; i < 60; i++, t += 16) {
      const r = s.record('unstyled', t, t + 5, 256, 144);
      expect(r.fps).toBe(null);
      expect(r.msPerFrame).toBe(null);
    }
    expect(s.snapshot().frames).toBe(60);
  });

  test('counts styled frames only, leaves the warm-up frame out, clears again for unstyled frames', () => {
    const s = new FrameStats();
    // A 20 s warm-up (shader compilation), then styled frames of 250 ms each: 4 fps, 250 ms/frame.
    expect(s.record('warmup', 0, 20_000, 256, 144).fps).toBe(null);
    let t = 20_000;
    let last = s.snapshot();
    for (let i = 0; i < 12; i++, t += 250) last = s.record('styled', t, t + 250, 256, 144);
    expect(last.fps).toBeCloseTo(4, 5);
    expect(last.msPerFrame).toBeCloseTo(250, 5);
    // Strength 0 (unstyled frames): no rate for those.
    const plain = s.record('unstyled', t, t + 5, 256, 144);
    expect(plain.fps).toBe(null);
    expect(plain.msPerFrame).toBe(null);
  });

  test('reset (camera stopped) clears rates and size', () => {
    const s = new FrameStats();
    s.record('warmup', 0, 100, 192, 108);
    s.record('styled', 100, 200, 192, 108);
    const r = s.reset();
    expect(r).toMatchObject({ fps: null, msPerFrame: null, width: 0, height: 0, frames: 2 });
  });
});

describe('describeCameraError', () => {
  test('denied, absent, busy, other', () => {
    expect(describeCameraError(new DOMException('x', 'NotAllowedError'))).toMatch(/^Camera access was denied/);
    expect(describeCameraError(new DOMException('x', 'NotFoundError'))).toMatch(/^No camera was found/);
    expect(describeCameraError(new DOMException('x', 'NotReadableError'))).toMatch(/in use by another application/);
    expect(describeCameraError(new Error('weird'))).toBe('The camera could not be started: weird');
  });
});

/** Minimal in-memory CacheStorage (one cache, URL keys) for the fetch wrapper. */
function memoryCaches(): CacheStorage {
  const store = new Map<string, Response>();
  const cache = {
    match: async (req: Request) => store.get(req.url)?.clone(),
    put: async (req: Request, res: Response) => void store.set(req.url, res.clone()),
    keys: async () => [...store.keys()].map((u) => new Request(u)),
    delete: async (req: Request) => store.delete(req.url),
  };
  return { open: async () => cache } as unknown as CacheStorage;
}

describe('makeCachingFetch', () => {
  test('weights from the cache on the second load; dropped when model.json changes; JSON always revalidated', async () => {
    const served: Record<string, string> = {
      'http://s/models/a/model.json': '{"v":1}',
      'http://s/models/a/weights.bin': 'W1',
    };
    const hits: string[] = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async (input: RequestInfo | URL) => {
      const url = input instanceof Request ? input.url : String(input);
      hits.push(url);
      const body = served[url];
      return body === undefined ? new Response('missing', { status: 404 }) : new Response(body);
    }) as typeof fetch;
    try {
      const f = makeCachingFetch(memoryCaches());
      const load = async (): Promise<string> => {
        await (await f('http://s/models/a/model.json')).text();
        return (await f('http://s/models/a/weights.bin')).text();
      };
      expect(await load()).toBe('W1');
      expect(hits).toEqual(['http://s/models/a/model.json', 'http://s/models/a/weights.bin']);
      hits.length = 0;
      expect(await load()).toBe('W1');
      expect(hits).toEqual(['http://s/models/a/model.json']);
      // The checkpoint is replaced: new model.json → the cached weights are stale.
      served['http://s/models/a/model.json'] = '{"v":2}';
      served['http://s/models/a/weights.bin'] = 'W2';
      hits.length = 0;
      expect(await load()).toBe('W2');
      expect(hits).toEqual(['http://s/models/a/model.json', 'http://s/models/a/weights.bin']);
      // Errors are not cached.
      expect((await f('http://s/models/b/weights.bin')).status).toBe(404);
      expect((await f('http://s/models/b/weights.bin')).status).toBe(404);
      expect(hits.filter((u) => u.endsWith('/b/weights.bin'))).toHaveLength(2);
    } finally {
      globalThis.fetch = realFetch;
    }
  });
});
