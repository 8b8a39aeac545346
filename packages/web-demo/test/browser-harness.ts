/**
 * Shared by the e2e test and bench/web-fps.ts: build the page with Vite into a temp folder, serve it with a style
 * list and checkpoint files on loopback, and drive Debian's Chromium headless (fake camera) with playwright-core.
 */
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const WEB_DEMO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = resolve(WEB_DEMO_ROOT, '..', '..');
export const CHROMIUM = process.env.HOKUSAI_CHROMIUM ?? '/usr/bin/chromium';

/** Runs `vite build` for the demo into `outDir` (a fresh temp folder when omitted); returns the folder. */
export async function buildDemo(outDir?: string, extra: { alias?: Record<string, string> } = {}): Promise<string> {
  const dir = outDir ?? (await mkdtemp(join(tmpdir(), 'hokusai-web-dist-')));
  const { build } = await import('vite');
  await build({
    root: WEB_DEMO_ROOT,
    configFile: join(WEB_DEMO_ROOT, 'vite.config.ts'),
    logLevel: 'warn',
    ...(extra.alias ? { resolve: { alias: extra.alias } } : {}),
    build: { outDir: dir, emptyOutDir: true },
  });
  return dir;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
};

export interface StaticStyle {
  id: string;
  name: string;
  /** Checkpoint folder with model.json, weights.bin, meta.json (and optionally thumbnail.jpg/png). */
  dir: string;
}

/**
 * A minimal stand-in for `hokusai serve`: the built page at `/`, `GET /v1/styles`, `/models/<id>/<file>`.
 * Used until (and where) the real server is not available.
 */
export async function startStaticServer(distDir: string, styles: StaticStyle[]): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const path = decodeURIComponent(url.pathname);
      if (path === '/v1/styles') {
        const body = await Promise.all(
          styles.map(async (s) => {
            const files = await readdir(s.dir);
            const thumb = files.find((f) => /^thumbnail\.(png|jpg)$/.test(f));
            return { id: s.id, name: s.name, thumbnailUrl: thumb ? `/models/${s.id}/${thumb}` : null };
          }),
        );
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ styles: body }));
        return;
      }
      let file: string | null = null;
      const m = /^\/models\/([^/]+)\/([^/]+)$/.exec(path);
      if (m) {
        const style = styles.find((s) => s.id === m[1]);
        if (style && m[2] && !m[2].includes('..')) file = join(style.dir, m[2]);
      } else {
        const rel = normalize(path === '/' ? 'index.html' : path.slice(1));
        if (!rel.startsWith('..') && !rel.includes(`${sep}..`)) file = join(distDir, rel);
      }
      try {
        if (!file || !(await stat(file)).isFile()) throw new Error('not found');
        const data = await readFile(file);
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': data.length });
        res.end(data);
      } catch {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}`);
      }
    })();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('static server has no port');
  return {
    url: `http://127.0.0.1:${address.port}/`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

export const CHROMIUM_ARGS = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Headless Chromium with a fake camera and a fresh profile; `close()` also deletes the profile. */
export async function launchChromium(opts: { viewport?: { width: number; height: number }; extraArgs?: string[] } = {}): Promise<{
  context: BrowserContext;
  page: Page;
  close: () => Promise<void>;
}> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'hokusai-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(opts.extraArgs ?? [])],
    viewport: opts.viewport ?? { width: 1000, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    close: async () => {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** RGBA base64 (as `__hokusai.lastFrame()` returns it) → RGB bytes. */
export function rgbaBase64ToRgb(b64: string): Uint8Array {
  const rgba = Buffer.from(b64, 'base64');
  const rgb = new Uint8Array((rgba.length / 4) * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i] ?? 0;
    rgb[j + 1] = rgba[i + 1] ?? 0;
    rgb[j + 2] = rgba[i + 2] ?? 0;
  }
  return rgb;
}
