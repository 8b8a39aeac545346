/**
 * The REST API's zod schemas: they validate requests (query parameters) and describe responses, and
 * openapi.ts turns the same schemas into the OpenAPI document, so the documentation cannot drift from the checks.
 */
import { z } from 'zod';
import { ERROR_TABLE } from '@hokusai/errors';
import { ENGINE_NAMES } from './worker-protocol.ts';

const fromString = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v);
const boolFromString = (v: unknown) => (v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : v);

export const OUTPUT_FORMATS = ['jpeg', 'png', 'webp'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Query parameters of POST /v1/styles/{id}/stylize; `maxSize` is capped by the server's own limit. */
export function stylizeQuerySchema(serverMaxSize: number) {
  return z.strictObject({
    format: z
      .preprocess((v) => (v === 'jpg' ? 'jpeg' : v), z.enum(OUTPUT_FORMATS))
      .optional()
      .describe('output format (jpg is accepted for jpeg); default: from Accept, else the input format'),
    quality: z.preprocess(fromString, z.number().int().min(1).max(100)).default(90).describe('JPEG/WebP quality 1–100'),
    maxSize: z
      .preprocess(fromString, z.number().int().min(16).max(serverMaxSize))
      .optional()
      .describe(`longest edge the network runs at (16–${serverMaxSize}); larger inputs are processed at this size and upscaled back`),
    strength: z.preprocess(fromString, z.number().min(0).max(1)).default(1).describe('0 = input unchanged … 1 = fully stylised'),
    preserveColors: z
      .preprocess(boolFromString, z.boolean())
      .default(false)
      .describe("keep the input's colours (luminance-only transfer): true/false/1/0"),
  });
}
export type StylizeQuery = z.infer<ReturnType<typeof stylizeQuerySchema>>;

export const StyleIdParamSchema = z.string().regex(/^[a-z0-9-]+$/).max(64).describe('style id (checkpoint folder name)');

export const ErrorCodeSchema = z.enum(Object.keys(ERROR_TABLE) as [keyof typeof ERROR_TABLE, ...(keyof typeof ERROR_TABLE)[]]);

export const ErrorResponseSchema = z
  .object({
    error: z.object({
      code: ErrorCodeSchema.describe('stable error code (HokusaiError codes)'),
      message: z.string().describe('what was expected and what arrived'),
    }),
  })
  .describe('Error envelope used by every endpoint');

export const StyleSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    thumbnailUrl: z.string().nullable().describe('thumbnail (or style image) of the checkpoint, if it has one'),
    modelUrl: z.string().describe('browser-ready checkpoint folder (model.json, weights.bin, meta.json) for @hokusai/model loadCheckpointFromUrl'),
    modelUrlFloat16: z.string().nullable().describe('the same checkpoint with float16 weights (half the download), null if a weight does not fit float16'),
    stylizeUrl: z.string(),
    architecture: z.record(z.string(), z.unknown()).describe('network config, e.g. {arch:"johnson",channels:[32,64,128],residualBlocks:5}'),
    engine: z.enum(ENGINE_NAMES).describe('engine that runs this style: gpu = the WebGPU engine, onnx = onnxruntime on the CPU, onnx-webgpu, tfjs'),
    training: z
      .object({
        step: z.number().nullable(),
        createdAt: z.string().nullable(),
        lossNetwork: z.unknown(),
        styleImages: z.array(z.object({ file: z.string(), weight: z.number() })),
        losses: z.record(z.string(), z.number()),
        options: z.record(z.string(), z.unknown()).nullable().describe('training options (numbers, flags, short names; local paths left out)'),
      })
      .describe('training information from meta.json'),
    stability: z
      .object({
        trained: z.boolean().describe('trained with a stability loss against video flicker: meta.json training.stabilityWeight > 0 (docs/video.md)'),
        weight: z.number().nullable().describe('training.stabilityWeight (null: not recorded)'),
        noise: z.number().nullable().describe('training.stabilityNoise: σ of the noise, grey levels 0–255'),
        shift: z.number().nullable().describe('training.stabilityShift: random shift in pixels'),
        variantOf: z
          .string()
          .nullable()
          .describe('id of the style this checkpoint is the stable-for-video variant of (folder "<id>-stable", trained for stability); use it for video, the other for stills'),
      })
      .describe('whether the network was trained not to flicker on video'),
    loadedAt: z.string(),
  })
  .describe('A style the server can apply');

export const StyleListSchema = z.object({ styles: z.array(StyleSchema) });

export const StylizeMetricsSchema = z.object({
  style: z.string(),
  engine: z.enum(ENGINE_NAMES),
  width: z.number().int(),
  height: z.number().int(),
  inferenceWidth: z.number().int(),
  inferenceHeight: z.number().int(),
  format: z.enum(OUTPUT_FORMATS),
  bytes: z.number().int(),
  decodeMs: z.number(),
  queueMs: z.number(),
  inferenceMs: z.number(),
  encodeMs: z.number(),
  totalMs: z.number(),
});

export const StylizeJsonSchema = z
  .object({ image: z.string().describe('data:image/…;base64,… URL of the result'), metrics: StylizeMetricsSchema })
  .describe('Answer when the request says Accept: application/json');

export const HealthSchema = z.object({ status: z.literal('ok'), uptimeSeconds: z.number() });

export const ReadySchema = z.object({
  ready: z.boolean(),
  reasons: z.array(z.string()),
  styles: z.number().int(),
  broken: z.record(z.string(), z.string()),
  engine: z.string(),
  workers: z.number().int(),
});
