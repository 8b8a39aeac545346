/**
 * Lazy, cached loading of style networks. Each style's checkpoint (model.json + weights.bin + meta.json, float32
 * or float16 as model.json says) is fetched with `loadCheckpointFromUrl` from `@hokusai/model` only when the
 * style is first picked; the loaded network stays in memory, and the files are also kept in the Cache API so a
 * reload (or going offline) does not download the weights again. model.json and meta.json are always revalidated
 * with the server; when model.json changed, the cached weights of that checkpoint are dropped.
 */
import { loadCheckpointFromUrl, type CheckpointMeta, type TransformerNet } from '@hokusai/model';

const CACHE_NAME = 'hokusai-models-v1';

export interface LoadedStyle {
  net: TransformerNet;
  meta: CheckpointMeta;
}

function cacheStorage(): CacheStorage | null {
  return typeof caches !== 'undefined' && globalThis.isSecureContext ? caches : null;
}

/** fetch() that keeps checkpoint files in the Cache API (network-first for the small JSON, cache-first for weights). */
export function makeCachingFetch(storage: CacheStorage | null = cacheStorage()): typeof fetch {
  if (!storage) return (input, init) => fetch(input, init);
  return async (input, init) => {
    const request = new Request(input, init);
    if (request.method !== 'GET') return fetch(request);
    let cache: Cache;
    try {
      cache = await storage.open(CACHE_NAME);
    } catch {
      return fetch(request);
    }
    const isJson = /\.json(\?|$)/.test(request.url);
    if (isJson) {
      try {
        const response = await fetch(request, { cache: 'no-cache' });
        if (response.ok) {
          if (/model\.json(\?|$)/.test(request.url)) {
            const previous = await cache.match(request);
            const fresh = await response.clone().text();
            if (previous && (await previous.text()) !== fresh) {
              // The checkpoint was replaced: its weights in the cache are stale.
              const base = request.url.replace(/model\.json(\?.*)?$/, '');
              for (const key of await cache.keys()) if (key.url.startsWith(base)) await cache.delete(key);
            }
          }
          await cache.put(request, response.clone()).catch(() => undefined);
        }
        return response;
      } catch (error) {
        const cached = await cache.match(request);
        if (cached) return cached;
        throw error;
      }
    }
    const cached = await cache.match(request);
    if (cached) return cached;
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone()).catch(() => undefined);
    return response;
  };
}

export class ModelCache {
  private readonly loaded = new Map<string, Promise<LoadedStyle>>();
  private readonly fetchImpl: typeof fetch;

  constructor(fetchImpl: typeof fetch = makeCachingFetch()) {
    this.fetchImpl = fetchImpl;
  }

  /** The network for `modelUrl`, loading it at most once; a failed load is forgotten so it can be retried. */
  load(modelUrl: string, onProgress?: (fraction: number) => void): Promise<LoadedStyle> {
    const existing = this.loaded.get(modelUrl);
    if (existing) return existing;
    const promise = loadCheckpointFromUrl(modelUrl, {
      fetch: this.fetchImpl,
      ...(onProgress ? { onProgress } : {}),
    });
    this.loaded.set(modelUrl, promise);
    promise.catch(() => this.loaded.delete(modelUrl));
    return promise;
  }

  has(modelUrl: string): boolean {
    return this.loaded.has(modelUrl);
  }

  async dispose(): Promise<void> {
    const all = [...this.loaded.values()];
    this.loaded.clear();
    for (const p of all) {
      try {
        (await p).net.dispose();
      } catch {
        // a failed load owns nothing
      }
    }
  }
}
