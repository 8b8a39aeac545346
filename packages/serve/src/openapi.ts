/**
 * The OpenAPI 3.1 document of the REST API, generated from the zod schemas in api-schemas.ts (z.toJSONSchema,
 * JSON Schema 2020-12 = OpenAPI 3.1's dialect), served at /openapi.json.
 */
import { z } from 'zod';
import {
  ErrorResponseSchema,
  HealthSchema,
  ReadySchema,
  StyleListSchema,
  StyleSchema,
  StylizeJsonSchema,
  StylizeMetricsSchema,
  stylizeQuerySchema,
} from './api-schemas.ts';

type Json = Record<string, unknown>;

function schema(s: z.ZodType): Json {
  const out = z.toJSONSchema(s, { target: 'draft-2020-12', io: 'output', unrepresentable: 'any' }) as Json;
  delete out.$schema;
  return out;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: ref('Error') } } });

type Limits = { maxSize: number; maxBodyBytes: number; maxPixels: number };

const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z0-9-]+$', maxLength: 64 } };
const binary = { schema: { type: 'string', format: 'binary' } };
const retryAfter = { 'Retry-After': { description: 'seconds to wait before retrying', schema: { type: 'integer' } } };
const jsonOf = (name: string) => ({ 'application/json': { schema: ref(name) } });

/** The stylize query parameters, from stylizeQuerySchema (each field's description moved up beside its schema). */
function queryParameters(maxSize: number): Json[] {
  const query = stylizeQuerySchema(maxSize);
  return Object.entries(query.shape).map(([name, field]) => {
    const s = schema(field as z.ZodType);
    const description = (field as z.ZodType).description ?? (s.description as string | undefined);
    delete s.description;
    return { name, in: 'query', required: false, schema: s, ...(description ? { description } : {}) };
  });
}

function stylesPaths(): Json {
  return {
    '/v1/styles': {
      get: {
        summary: 'List the loaded styles',
        description:
          'Each style says in `stability` whether its network was trained not to flicker on video; a folder `<id>-stable` so trained ' +
          'is the stable variant of style `<id>` (the web demo uses it for the camera and `<id>` for stills).',
        responses: { 200: { description: 'styles', content: jsonOf('StyleList') } },
      },
    },
    '/v1/styles/{id}': {
      get: {
        summary: 'One style',
        parameters: [idParam],
        responses: { 200: { description: 'the style', content: jsonOf('Style') }, 404: errorResponse('unknown style') },
      },
    },
  };
}

/** POST /v1/styles/{id}/stylize: bodies, output negotiation and every error it answers. */
function stylizeOperation(maxSize: number): Json {
  return {
    summary: 'Stylise an image',
    description:
      'Body: the raw image (Content-Type image/jpeg, image/png or image/webp) or multipart/form-data with one file field `image`. ' +
      'The format is identified by magic bytes. Output format: `format`, else Accept (Vary: Accept), else the input format; ' +
      '`Accept: application/json` answers a data URL and metrics. EXIF orientation is applied; the output carries no metadata.',
    parameters: [idParam, ...queryParameters(maxSize)],
    requestBody: {
      required: true,
      content: {
        'image/jpeg': binary,
        'image/png': binary,
        'image/webp': binary,
        'multipart/form-data': { schema: { type: 'object', properties: { image: { type: 'string', format: 'binary' } }, required: ['image'] } },
      },
    },
    responses: {
      200: {
        description: 'the stylised image',
        headers: { 'Server-Timing': { description: 'decode, queue, inference, encode durations', schema: { type: 'string' } } },
        content: { 'image/jpeg': binary, 'image/png': binary, 'image/webp': binary, ...jsonOf('StylizeJson') },
      },
      400: errorResponse('bad parameters (INVALID_ARGUMENT)'),
      404: errorResponse('unknown style (NOT_FOUND)'),
      413: errorResponse('body too large (PAYLOAD_TOO_LARGE)'),
      415: errorResponse('not JPEG/PNG/WebP (UNSUPPORTED_MEDIA_TYPE)'),
      422: errorResponse('undecodable (IMAGE_DECODE) or too many pixels (TOO_MANY_PIXELS)'),
      429: { ...errorResponse('rate limited (RATE_LIMITED)'), headers: retryAfter },
      503: { ...errorResponse('queue full (QUEUE_FULL), not ready (NOT_READY) or timed out (TIMEOUT)'), headers: retryAfter },
    },
  };
}

/** Liveness, readiness and Prometheus metrics. */
function operationsPaths(): Json {
  return {
    '/healthz': { get: { summary: 'Liveness', responses: { 200: { description: 'alive', content: jsonOf('Health') } } } },
    '/readyz': {
      get: {
        summary: 'Readiness: styles loaded and warmed up, not shutting down',
        responses: {
          200: { description: 'ready', content: jsonOf('Ready') },
          503: { description: 'not ready', headers: retryAfter, content: jsonOf('Ready') },
        },
      },
    },
    '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
  };
}

/** The browser-ready checkpoint files under /models/. */
function modelPaths(): Json {
  const fileParam = (s: Json) => ({ name: 'file', in: 'path', required: true, schema: s });
  const fileResponses = { 200: { description: 'the file' }, 404: errorResponse('no such style or file') };
  return {
    '/models/{id}/f16/{file}': {
      get: {
        summary: 'The checkpoint with float16 weights (generated at load): model.json, weights.bin, meta.json',
        parameters: [idParam, fileParam({ type: 'string', enum: ['model.json', 'weights.bin', 'meta.json'] })],
        responses: fileResponses,
      },
    },
    '/models/{id}/{file}': {
      get: {
        summary: 'Browser-ready checkpoint files: model.json, weights.bin (and float16 variants if present), meta.json, thumbnail',
        parameters: [idParam, fileParam({ type: 'string' })],
        responses: fileResponses,
      },
    },
  };
}

export function buildOpenApi(opts: Limits & { version: string }): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Hokusai style transfer API',
      version: opts.version,
      description:
        'Fast neural style transfer (Johnson et al. 2016). POST an image, get it back stylised. Limits: ' +
        `${opts.maxBodyBytes} bytes per body, ${opts.maxPixels} input pixels, inference at most ${opts.maxSize} px on the long edge.`,
    },
    paths: {
      ...stylesPaths(),
      '/v1/styles/{id}/stylize': { post: stylizeOperation(opts.maxSize) },
      ...operationsPaths(),
      ...modelPaths(),
    },
    components: {
      schemas: {
        Error: schema(ErrorResponseSchema),
        Style: schema(StyleSchema),
        StyleList: schema(StyleListSchema),
        StylizeJson: schema(StylizeJsonSchema),
        StylizeMetrics: schema(StylizeMetricsSchema),
        Health: schema(HealthSchema),
        Ready: schema(ReadySchema),
      },
    },
  };
}
