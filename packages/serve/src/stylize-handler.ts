/**
 * POST /v1/styles/:id/stylize, step by step, cheapest checks first: style id (registry only), query parameters,
 * Content-Type, declared length, admission (bounded in-flight count) → bounded body read → magic bytes and header
 * pixel count → decode (sharp, EXIF orientation applied, downscaled to the inference size) → worker inference →
 * upscale back while encoding, without metadata. Output format: `format`, else Accept, else the input's.
 */
import type { Request, Response } from 'express';
import { HokusaiError, NotFoundError } from '@hokusai/errors';
import { encodeImage, probeImage, readImage, type RgbImage } from '@hokusai/node';
import { stylizeQuerySchema, type OutputFormat, type StylizeQuery } from './api-schemas.ts';
import { checkPixels, readImageHeader } from './image-sniff.ts';
import { bodyKind, checkDeclaredLength, readImageBody } from './request-body.ts';
import { sendError } from './http-errors.ts';
import type { ServerContext } from './server-context.ts';

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

export function stylizeHandler(ctx: ServerContext) {
  const { options, registry, pool, metrics } = ctx;
  return async (req: Request, res: Response): Promise<void> => {
    const started = performance.now();
    const deadline = Date.now() + options.requestTimeoutMs;
    let admitted = false;
    const gone = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) gone.abort();
    });
    try {
      const id = String(req.params.id ?? '');
      const style = registry.get(id);
      if (!style && !ctx.state.started && /^[a-z0-9-]{1,64}$/.test(id)) {
        throw new HokusaiError('NOT_READY', 'Expected loaded styles, but the server is still loading them; retry shortly');
      }
      if (!style) {
        throw new NotFoundError(`Expected the id of a loaded style (GET /v1/styles lists them), got ${JSON.stringify(id.slice(0, 64))}`);
      }
      const query = parseQuery(req.query, options.maxSize);
      const kind = bodyKind(req.headers['content-type']);
      checkDeclaredLength(req, options.maxBodyBytes);
      if (pool.size === 0) throw new HokusaiError('NOT_READY', 'No inference worker is running yet');
      if (ctx.state.inFlight >= options.workers + options.queueSize) {
        throw new HokusaiError('QUEUE_FULL', `Expected a free place in the queue (${options.workers + options.queueSize} requests at once max), got a full queue`);
      }
      admitted = true;
      ctx.state.inFlight++;
      metrics.inFlight.set(ctx.state.inFlight);

      const bytes = await readImageBody(req, kind, options.maxBodyBytes);
      const header = readImageHeader(bytes);
      checkPixels(header, options.maxPixels);
      const target = Math.min(options.maxSize, query.maxSize ?? Infinity);
      const oriented = await probeImage(bytes, { label: 'uploaded image' });
      if (options.oversize === 'reject' && Math.max(oriented.width, oriented.height) > target) {
        throw new HokusaiError(
          'TOO_MANY_PIXELS',
          `Expected an image whose long edge is at most ${target} px (this server rejects larger inputs), got ${oriented.width}×${oriented.height}`,
        );
      }
      const decoded = await readImage(bytes, { maxPixels: options.maxPixels, maxSize: target, label: 'uploaded image' });
      const decodeMs = performance.now() - started;

      const result = await Promise.race([
        pool.run(
          { id: style.id, pixels: decoded.data, width: decoded.width, height: decoded.height, strength: query.strength, preserveColors: query.preserveColors },
          deadline,
          gone.signal,
        ),
        new Promise<never>((_, reject) => {
          const t = setTimeout(() => reject(new HokusaiError('TIMEOUT', `Expected the result within ${options.requestTimeoutMs} ms, got none in time`)), Math.max(0, deadline - Date.now()));
          t.unref();
        }),
      ]);
      metrics.inferenceDuration.labels(style.id, result.engine).observe(result.inferenceMs / 1000);
      metrics.queueWait.observe(result.queueMs / 1000);

      const encodeStart = performance.now();
      const out: RgbImage = { data: result.pixels, width: decoded.width, height: decoded.height };
      const negotiated = negotiate(req);
      const format: OutputFormat = query.format ?? negotiated.format ?? header.format;
      // Upscaled back to the input's size inside the encoder: the full-size pixels are never one buffer.
      const encoded = await encodeImage(out, format, query.quality, { width: oriented.width, height: oriented.height });
      const encodeMs = performance.now() - encodeStart;
      const totalMs = performance.now() - started;

      res.setHeader('Vary', 'Accept');
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader(
        'Server-Timing',
        `decode;dur=${decodeMs.toFixed(1)}, queue;dur=${result.queueMs.toFixed(1)}, inference;dur=${result.inferenceMs.toFixed(1)}, encode;dur=${encodeMs.toFixed(1)}`,
      );
      if (negotiated.json) {
        res.json({
          image: `data:${MIME[format]};base64,${Buffer.from(encoded).toString('base64')}`,
          metrics: {
            style: style.id,
            engine: result.engine,
            width: oriented.width,
            height: oriented.height,
            inferenceWidth: decoded.width,
            inferenceHeight: decoded.height,
            format,
            bytes: encoded.byteLength,
            decodeMs,
            queueMs: result.queueMs,
            inferenceMs: result.inferenceMs,
            encodeMs,
            totalMs,
          },
        });
      } else {
        res.status(200).type(MIME[format]).send(Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength));
      }
    } catch (error) {
      const e = error instanceof HokusaiError ? error : undefined;
      metrics.rejected.labels(e?.code ?? 'INTERNAL').inc();
      if (!e) ctx.log(`stylize failed: ${(error as Error).stack ?? String(error)}`);
      if (e?.code === 'PAYLOAD_TOO_LARGE') {
        // Stop reading a body we will not use; close the connection once the answer is out.
        res.setHeader('Connection', 'close');
        req.resume();
      }
      sendError(res, error, Math.max(1, Math.ceil(options.requestTimeoutMs / 10_000)));
    } finally {
      if (admitted) {
        ctx.state.inFlight--;
        metrics.inFlight.set(ctx.state.inFlight);
      }
    }
  };
}
