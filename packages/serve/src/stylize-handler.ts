/**
 * POST /v1/styles/:id/stylize, step by step, cheapest checks first: style id (registry only), query parameters,
 * Content-Type, declared length, admission (bounded in-flight count) → bounded body read → the image intake
 * (image-intake.ts: magic bytes, header pixel count, decode downscaled to the inference size) → worker inference →
 * upscale back while encoding, without metadata. Output format: `format`, else Accept, else the input's.
 */
import type { Request, Response } from 'express';
import { HokusaiError, NotFoundError } from '@hokusai/errors';
import { encodeImage, type RgbImage } from '@hokusai/node';
import { stylizeQuerySchema, type OutputFormat, type StylizeQuery } from './api-schemas.ts';
import { intakeImage, type Intake } from './image-intake.ts';
import { bodyKind, checkDeclaredLength, readImageBody, type BodyKind } from './request-body.ts';
import { sendError } from './http-errors.ts';
import type { ServerContext } from './server-context.ts';
import type { Style } from './style-registry.ts';
import type { RunResult } from './worker-pool.ts';

const MIME: Record<OutputFormat, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp' };

/** Format asked by Accept (only explicit types count: *\/* or image/* leave the choice to the input format). */
export function negotiate(req: Request): { json: boolean; format: OutputFormat | undefined } {
  const accept = req.headers.accept;
  if (!accept) return { json: false, format: undefined };
  const explicit = ['application/json', 'image/jpeg', 'image/png', 'image/webp'].filter((t) => accept.toLowerCase().includes(t));
  if (explicit.length === 0) return { json: false, format: undefined };
  const best = req.accepts(explicit);
  if (best === 'application/json') return { json: true, format: undefined };
  const format = best ? (best.slice('image/'.length) as OutputFormat) : undefined;
  return { json: false, format };
}

function parseQuery(query: unknown, maxSize: number): StylizeQuery {
  const r = stylizeQuerySchema(maxSize).safeParse(query);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.join('.') || (i.code === 'unrecognized_keys' ? 'query' : 'query')}: ${i.message}`);
  throw new HokusaiError('INVALID_ARGUMENT', `Invalid query parameters: ${issues.join('; ')}`);
}

/** The style a request names; NOT_READY while the first scan runs (for a well-formed id), else NOT_FOUND. */
function requestedStyle(ctx: ServerContext, req: Request): Style {
  const id = String(req.params.id ?? '');
  const style = ctx.registry.get(id);
  if (!style && !ctx.state.started && /^[a-z0-9-]{1,64}$/.test(id)) {
    throw new HokusaiError('NOT_READY', 'Expected loaded styles, but the server is still loading them; retry shortly');
  }
  if (!style) {
    throw new NotFoundError(`Expected the id of a loaded style (GET /v1/styles lists them), got ${JSON.stringify(id.slice(0, 64))}`);
  }
  return style;
}

/** Takes a place among the requests in flight (workers + queue) or throws NOT_READY / QUEUE_FULL; returns its release. */
function admit(ctx: ServerContext): () => void {
  const { options, pool, metrics, state } = ctx;
  if (pool.size === 0) throw new HokusaiError('NOT_READY', 'No inference worker is running yet');
  const places = options.workers + options.queueSize;
  if (state.inFlight >= places) {
    throw new HokusaiError('QUEUE_FULL', `Expected a free place in the queue (${places} requests at once max), got a full queue`);
  }
  state.inFlight++;
  metrics.inFlight.set(state.inFlight);
  return () => {
    state.inFlight--;
    metrics.inFlight.set(state.inFlight);
  };
}

/** The worker's result, or TIMEOUT at the request's deadline; records inference and queue times. */
async function infer(ctx: ServerContext, style: Style, image: RgbImage, query: StylizeQuery, deadline: number, gone: AbortSignal): Promise<RunResult> {
  const { options, pool, metrics } = ctx;
  const request = { id: style.id, pixels: image.data, width: image.width, height: image.height, strength: query.strength, preserveColors: query.preserveColors };
  const result = await Promise.race([
    pool.run(request, deadline, gone),
    new Promise<never>((_, reject) => {
      const t = setTimeout(() => reject(new HokusaiError('TIMEOUT', `Expected the result within ${options.requestTimeoutMs} ms, got none in time`)), Math.max(0, deadline - Date.now()));
      t.unref();
    }),
  ]);
  metrics.inferenceDuration.labels(style.id, result.engine).observe(result.inferenceMs / 1000);
  metrics.queueWait.observe(result.queueMs / 1000);
  return result;
}

interface Stylized {
  style: Style;
  intake: Intake;
  result: RunResult;
  format: OutputFormat;
  encoded: Uint8Array;
  json: boolean;
  timing: { decodeMs: number; encodeMs: number; totalMs: number };
}

/** Encodes the network's output in the chosen format, upscaled back to the input's size inside the encoder. */
async function encodeResult(req: Request, query: StylizeQuery, intake: Intake, result: RunResult): Promise<Pick<Stylized, 'format' | 'encoded' | 'json'>> {
  const { header, image } = intake;
  const out: RgbImage = { data: result.pixels, width: image.width, height: image.height };
  const negotiated = negotiate(req);
  const format: OutputFormat = query.format ?? negotiated.format ?? header.format;
  // The full-size pixels are never one buffer.
  const encoded = await encodeImage(out, format, query.quality, { width: header.width, height: header.height });
  return { format, encoded, json: negotiated.json };
}

/** The encoded image (or, for Accept: application/json, a data URL and metrics) with its timing headers. */
function sendStylized(res: Response, s: Stylized): void {
  const { result, format, encoded, timing } = s;
  res.setHeader('Vary', 'Accept');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader(
    'Server-Timing',
    `decode;dur=${timing.decodeMs.toFixed(1)}, queue;dur=${result.queueMs.toFixed(1)}, inference;dur=${result.inferenceMs.toFixed(1)}, encode;dur=${timing.encodeMs.toFixed(1)}`,
  );
  if (!s.json) {
    res.status(200).type(MIME[format]).send(Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength));
    return;
  }
  res.json({ image: `data:${MIME[format]};base64,${Buffer.from(encoded).toString('base64')}`, metrics: stylizeMetrics(s) });
}

/** The `metrics` of a JSON answer (StylizeMetricsSchema). */
function stylizeMetrics({ style, intake, result, format, encoded, timing }: Stylized) {
  const { header, image } = intake;
  return {
    style: style.id,
    engine: result.engine,
    width: header.width,
    height: header.height,
    inferenceWidth: image.width,
    inferenceHeight: image.height,
    format,
    bytes: encoded.byteLength,
    decodeMs: timing.decodeMs,
    queueMs: result.queueMs,
    inferenceMs: result.inferenceMs,
    encodeMs: timing.encodeMs,
    totalMs: timing.totalMs,
  };
}

/** Counts the rejection and answers the error envelope; a too-large body is not read further. */
function sendFailure(ctx: ServerContext, req: Request, res: Response, error: unknown): void {
  const e = error instanceof HokusaiError ? error : undefined;
  ctx.metrics.rejected.labels(e?.code ?? 'INTERNAL').inc();
  if (!e) ctx.log(`stylize failed: ${(error as Error).stack ?? String(error)}`);
  if (e?.code === 'PAYLOAD_TOO_LARGE') {
    // Stop reading a body we will not use; close the connection once the answer is out.
    res.setHeader('Connection', 'close');
    req.resume();
  }
  sendError(res, error, Math.max(1, Math.ceil(ctx.options.requestTimeoutMs / 10_000)));
}

/** A signal that fires when the client goes away before the answer is written. */
function clientGone(res: Response): AbortSignal {
  const gone = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  return gone.signal;
}

/** What the cheap checks before admission established about one request. */
interface Admitted {
  style: Style;
  query: StylizeQuery;
  kind: BodyKind;
  /** performance.now() and Date.now() deadline at arrival; fires when the client goes away. */
  started: number;
  deadline: number;
  gone: AbortSignal;
}

/** Admitted: reads the body, takes the image in, runs the network and encodes the answer. */
async function stylize(ctx: ServerContext, req: Request, a: Admitted): Promise<Stylized> {
  const { options } = ctx;
  const bytes = await readImageBody(req, a.kind, options.maxBodyBytes);
  const maxSize = Math.min(options.maxSize, a.query.maxSize ?? Infinity);
  const intake = await intakeImage(bytes, { maxPixels: options.maxPixels, maxSize, oversize: options.oversize });
  const decodeMs = performance.now() - a.started;
  const result = await infer(ctx, a.style, intake.image, a.query, a.deadline, a.gone);
  const encodeStart = performance.now();
  const encoded = await encodeResult(req, a.query, intake, result);
  const encodeMs = performance.now() - encodeStart;
  return { style: a.style, intake, result, ...encoded, timing: { decodeMs, encodeMs, totalMs: performance.now() - a.started } };
}

export function stylizeHandler(ctx: ServerContext) {
  const { options } = ctx;
  return async (req: Request, res: Response): Promise<void> => {
    const started = performance.now();
    const deadline = Date.now() + options.requestTimeoutMs;
    const gone = clientGone(res);
    let release: (() => void) | undefined;
    try {
      const style = requestedStyle(ctx, req);
      const query = parseQuery(req.query, options.maxSize);
      const kind = bodyKind(req.headers['content-type']);
      checkDeclaredLength(req, options.maxBodyBytes);
      release = admit(ctx);
      sendStylized(res, await stylize(ctx, req, { style, query, kind, started, deadline, gone }));
    } catch (error) {
      sendFailure(ctx, req, res, error);
    } finally {
      release?.();
    }
  };
}
