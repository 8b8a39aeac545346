/**
 * The Express application of `hokusai serve`: security headers (helmet, with a CSP the web demo can live with:
 * wasm, blob: workers, camera streams), optional CORS and per-IP rate limit, request metrics, the REST API
 * (/v1/styles…), health and readiness, Prometheus metrics, the OpenAPI document, browser-ready checkpoint files
 * (/models/<id>/<file>, from the registry only) and the web demo build at /. Every error is one JSON envelope.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import cors from 'cors';
import { rateLimit } from 'express-rate-limit';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HokusaiError, NotFoundError } from '@hokusai/errors';
import { sendError } from './http-errors.ts';
import { buildOpenApi } from './openapi.ts';
import { stylizeHandler } from './stylize-handler.ts';
import { STYLE_ID, type Style } from './style-registry.ts';
import type { ServerContext } from './server-context.ts';

/**
 * Training options safe to publish: numbers, booleans, short strings and lists of numbers; anything that looks like a
 * filesystem path (datasets, weights, cache and output folders of the training machine) is left out.
 */
export function publicTrainingOptions(training: unknown): Record<string, unknown> | null {
  if (!training || typeof training !== 'object') return null;
  const looksLikePath = (v: string) => /[/\\]/.test(v) || /^~/.test(v);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(training as Record<string, unknown>)) {
    if (typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else if (typeof v === 'string' && v.length <= 64 && !looksLikePath(v)) out[k] = v;
    else if (Array.isArray(v) && v.length <= 32 && v.every((x) => typeof x === 'number')) out[k] = v;
  }
  return out;
}

const baseName = (file: string) => file.split(/[/\\]/).pop() ?? '';

/** meta.json as published under /models/<id>/: training options without paths, no command line, file base names. */
export function publicMeta(meta: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...meta, training: publicTrainingOptions(meta.training) };
  delete out.command;
  if (Array.isArray(meta.styleImages)) {
    out.styleImages = (meta.styleImages as Record<string, unknown>[]).map((i) => ({ ...i, file: baseName(String(i.file ?? '')) || 'style' }));
  }
  return out;
}

/** Public description of a style (GET /v1/styles). */
export function describeStyle(s: Style) {
  const m = s.meta;
  const styleImages = Array.isArray(m.styleImages)
    ? (m.styleImages as { file?: unknown; weight?: unknown }[]).map((i) => ({ file: baseName(String(i.file ?? '')), weight: Number(i.weight ?? 0) }))
    : [];
  return {
    id: s.id,
    name: s.name,
    thumbnailUrl: s.thumbnail ? `/models/${s.id}/${s.thumbnail}` : null,
    modelUrl: `/models/${s.id}/`,
    modelUrlFloat16: s.float16 ? `/models/${s.id}/f16/` : null,
    stylizeUrl: `/v1/styles/${s.id}/stylize`,
    architecture: s.config,
    engine: s.engine,
    training: {
      step: typeof m.step === 'number' ? m.step : null,
      createdAt: typeof m.createdAt === 'string' ? m.createdAt : null,
      lossNetwork: m.lossNetwork ?? null,
      styleImages,
      losses: (m.losses as Record<string, number> | undefined) ?? {},
      options: publicTrainingOptions(m.training),
    },
    stability: s.stability,
    loadedAt: s.loadedAt,
  };
}

const DEMO_MISSING_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Hokusai</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;line-height:1.5">
<h1>Hokusai style transfer server</h1>
<p>The web demo is not built. Build it with <code>npm run build -w packages/web-demo</code> (output in
<code>packages/web-demo/dist</code>, or pass <code>--demo-dir</code>) and reload.</p>
<p>The REST API works without it: <a href="/v1/styles">/v1/styles</a>, <a href="/openapi.json">/openapi.json</a>,
<a href="/healthz">/healthz</a>, <a href="/readyz">/readyz</a>, <a href="/metrics">/metrics</a>.</p>
</body></html>`;

export function readiness(ctx: ServerContext) {
  const reasons: string[] = [];
  if (ctx.state.shuttingDown) reasons.push('shutting down');
  if (!ctx.state.started) reasons.push('starting: workers or first checkpoint scan not finished');
  if (ctx.pool.size === 0) reasons.push('no inference worker running');
  const styles = ctx.registry.list().length;
  if (ctx.state.started && styles === 0) reasons.push(`no style loaded from ${ctx.options.checkpoints}`);
  return {
    ready: reasons.length === 0,
    reasons,
    styles,
    broken: ctx.registry.brokenStyles(),
    engine: ctx.pool.engine,
    workers: ctx.pool.size,
  };
}

/** Express settings: no X-Powered-By, strong ETags, flat query strings, the proxies to trust (--trust-proxy). */
function configure(app: express.Express, options: ServerContext['options']): void {
  app.disable('x-powered-by');
  app.set('etag', 'strong');
  app.set('query parser', 'simple');
  if (options.trustProxy !== '') {
    const n = Number(options.trustProxy);
    app.set('trust proxy', Number.isInteger(n) ? n : options.trustProxy);
  }
}

/** Request duration by route template (never the raw URL: bounded label cardinality). */
function requestMetrics(ctx: ServerContext): express.RequestHandler {
  return (req, res, next) => {
    const end = ctx.metrics.requestDuration.startTimer();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path;
      const label = route ? `${req.baseUrl}${route}` : req.path.startsWith('/models/') ? '/models' : res.statusCode === 404 ? 'unmatched' : 'static';
      end({ route: label, method: req.method, status: String(res.statusCode) });
    });
    next();
  };
}

/** Security headers, with a CSP the web demo can live with: wasm, blob: workers, camera streams. */
function securityHeaders(options: ServerContext['options']): express.RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", "'wasm-unsafe-eval'"],
        workerSrc: ["'self'", 'blob:'],
        childSrc: ["'self'", 'blob:'],
        imgSrc: ["'self'", 'data:', 'blob:'],
        mediaSrc: ["'self'", 'blob:', 'mediastream:'],
        connectSrc: ["'self'", 'blob:', 'data:'],
        styleSrc: ["'self'", "'unsafe-inline'"],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
      },
    },
    crossOriginResourcePolicy: { policy: options.cors.length > 0 ? 'cross-origin' : 'same-origin' },
  });
}

/** Metrics, connection close while shutting down, security headers and (with --cors) CORS, before every route. */
function useMiddleware(app: express.Express, ctx: ServerContext): void {
  const { options } = ctx;
  app.use(requestMetrics(ctx));
  // While shutting down, requests on connections accepted earlier are still served, then the connection closes.
  app.use((_req, res, next) => {
    if (ctx.state.shuttingDown) res.setHeader('Connection', 'close');
    next();
  });
  app.use(securityHeaders(options));
  if (options.cors.length > 0) {
    app.use(
      cors({
        origin: options.cors.includes('*') ? '*' : options.cors,
        methods: ['GET', 'HEAD', 'POST', 'OPTIONS'],
        exposedHeaders: ['Server-Timing', 'Retry-After', 'Vary'],
        maxAge: 600,
      }),
    );
  }
}

/** Liveness, readiness, Prometheus metrics and the OpenAPI document. */
function mountOperations(app: express.Express, ctx: ServerContext): void {
  const { options, metrics, registry } = ctx;
  app.get('/healthz', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ status: 'ok', uptimeSeconds: (Date.now() - ctx.state.startedAt) / 1000 });
  });
  app.get('/readyz', (_req, res) => {
    const r = readiness(ctx);
    res.setHeader('Cache-Control', 'no-store');
    if (!r.ready) res.setHeader('Retry-After', '2');
    res.status(r.ready ? 200 : 503).json(r);
  });
  app.get('/metrics', async (_req, res, next) => {
    try {
      metrics.stylesLoaded.set(registry.list().length);
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    } catch (e) {
      next(e);
    }
  });
  const openapi = buildOpenApi({ maxSize: options.maxSize, maxBodyBytes: options.maxBodyBytes, maxPixels: options.maxPixels, version: ctx.version });
  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
}

/** The loaded style with this id, else NOT_FOUND. */
function styleOr404(registry: ServerContext['registry'], id: string | undefined): Style {
  const s = id !== undefined && STYLE_ID.test(id) ? registry.get(id) : undefined;
  if (!s) throw new NotFoundError(`Expected the id of a loaded style (GET /v1/styles lists them), got ${JSON.stringify(String(id ?? '').slice(0, 64))}`);
  return s;
}

/** --rate-limit: at most that many stylize requests per minute from one client (429 + Retry-After), or no limit. */
function stylizeRateLimit(options: ServerContext['options']): express.RequestHandler {
  if (options.rateLimit <= 0) return (_req: Request, _res: Response, next: NextFunction) => next();
  return rateLimit({
    windowMs: 60_000,
    limit: options.rateLimit,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    handler: (_req, res, _next, opts) => {
      res.setHeader('Retry-After', String(Math.ceil(opts.windowMs / 1000)));
      res.status(429).json({
        error: { code: 'RATE_LIMITED', message: `Expected at most ${options.rateLimit} stylize requests per minute from one client, got more` },
      });
    },
  });
}

/** The REST API proper: list and describe styles, stylise an image. */
function mountStyles(app: express.Express, ctx: ServerContext): void {
  const { registry } = ctx;
  app.get('/v1/styles', (_req, res) => {
    res.json({ styles: registry.list().map(describeStyle) });
  });
  app.get('/v1/styles/:id', (req, res) => {
    res.json(describeStyle(styleOr404(registry, req.params.id)));
  });
  app.post('/v1/styles/:id/stylize', stylizeRateLimit(ctx.options), stylizeHandler(ctx));
}

/** Browser-ready checkpoint files under /models/<id>/: meta.json without paths, files from the registry, float16. */
function mountModels(app: express.Express, ctx: ServerContext): void {
  const { registry } = ctx;
  const cacheFor60s = (res: Response) => res.setHeader('Cache-Control', 'public, max-age=60, must-revalidate');
  // meta.json (plain and float16 variant) is published without the training machine's paths and command line.
  app.get(['/models/:id/meta.json', '/models/:id/f16/meta.json'], (req, res) => {
    const style = styleOr404(registry, req.params.id as string);
    cacheFor60s(res);
    res.json(publicMeta(style.meta));
  });
  // The id and the file name are looked up in the registry, never joined raw.
  app.get('/models/:id/:file', (req, res, next) => {
    const style = styleOr404(registry, req.params.id);
    const file = style.files.find((f) => f === req.params.file);
    if (!file) throw new NotFoundError(`Style ${style.id} has no file ${JSON.stringify(String(req.params.file).slice(0, 64))}; it has ${style.files.join(', ')}`);
    cacheFor60s(res);
    res.sendFile(join(style.dir, file), { dotfiles: 'deny' }, (err) => {
      if (err) next(new NotFoundError(`Style ${style.id}: ${file} is no longer readable`));
    });
  });
  // The float16 variant, generated from the checkpoint at load time (held in memory).
  app.get('/models/:id/f16/:file', (req, res) => {
    const style = styleOr404(registry, req.params.id);
    const name = req.params.file as 'model.json' | 'weights.bin' | 'meta.json';
    const data = style.float16 && Object.hasOwn(style.float16, name) ? style.float16[name] : undefined;
    if (!data) throw new NotFoundError(`Style ${style.id} has no float16 file ${JSON.stringify(String(req.params.file).slice(0, 64))}`);
    cacheFor60s(res);
    res.type(name.endsWith('.json') ? 'application/json' : 'application/octet-stream').send(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  });
}

/** The web demo (Vite build), else a page saying how to build it. */
function mountDemo(app: express.Express, demoDir: string): void {
  const dir = resolve(demoDir);
  app.use(express.static(dir, { index: 'index.html', dotfiles: 'ignore', fallthrough: true }));
  app.get('/', (_req, res) => {
    if (existsSync(join(dir, 'index.html'))) res.sendFile(join(dir, 'index.html'));
    else res.type('html').send(DEMO_MISSING_PAGE);
  });
}

/** Anything unmatched is NOT_FOUND; every error, ours or Express's, leaves as the one JSON envelope. */
function mountErrorHandling(app: express.Express, ctx: ServerContext): void {
  app.use((req, _res, next) => {
    next(new NotFoundError(`Expected a known endpoint (see /openapi.json), got ${req.method} ${JSON.stringify(req.path.slice(0, 100))}`));
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (!(err instanceof HokusaiError)) {
      const status = (err as { status?: number; statusCode?: number }).status ?? (err as { statusCode?: number }).statusCode;
      if (typeof status === 'number' && status >= 400 && status < 500) {
        // Errors from Express itself and serve-static (bad encoding, traversal attempts, …): map to our codes.
        const code = status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : status === 403 || status === 404 ? 'NOT_FOUND' : 'INVALID_ARGUMENT';
        sendError(res, new HokusaiError(code, code === 'NOT_FOUND' ? 'Expected a known endpoint or file, got none at this path' : (err as Error).message));
        return;
      }
      ctx.log(`unexpected error: ${(err as Error).stack ?? String(err)}`);
    }
    sendError(res, err);
  });
}

export function createApp(ctx: ServerContext): express.Express {
  const app = express();
  configure(app, ctx.options);
  useMiddleware(app, ctx);
  mountOperations(app, ctx);
  mountStyles(app, ctx);
  mountModels(app, ctx);
  mountDemo(app, ctx.options.demoDir);
  mountErrorHandling(app, ctx);
  return app;
}
