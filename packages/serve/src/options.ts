/**
 * Options of the REST server, as one zod schema shared by `hokusai serve` (the CLI turns each field into a flag)
 * and `startServer`. Every field's default can be overridden by an environment variable `HOKUSAI_<FIELD>`
 * (upper snake case, e.g. HOKUSAI_MAX_BODY_BYTES); `port` also reads `PORT`. Precedence: flag > environment >
 * built-in default. A malformed environment value is an error that names the variable.
 */
import { z } from 'zod';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '@hokusai/errors';
import { ENGINE_CHOICES } from './stylize-engines.ts';

export const TFJS_BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export const OVERSIZE_POLICIES = ['downscale', 'reject'] as const;

/**
 * Input pixel limit: 24 Mpx (6000×4000, a 24 MP camera; a 12 MP phone photo is 4032×3024). The main thread holds
 * about 7 bytes per input pixel while it upscales and encodes a result (~170 MB at the limit, once per busy
 * worker); a 6000×6000 image (36 Mpx) is refused before decoding. See docs/serve.md, "Memory".
 */
export const DEFAULT_MAX_PIXELS = 24_000_000;

/** Where the web demo's Vite build lands in this repository. */
export const DEFAULT_DEMO_DIR = fileURLToPath(new URL('../../web-demo/dist', import.meta.url));

/** `maxBodyBytes` -> `HOKUSAI_MAX_BODY_BYTES`. */
export function envName(key: string): string {
  return `HOKUSAI_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

type Env = Record<string, string | undefined>;

function fromEnv<T extends z.ZodType>(env: Env, key: string, field: T, fallback: z.infer<T>, alsoNames: string[] = []): z.infer<T> {
  for (const name of [envName(key), ...alsoNames]) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    let value: unknown = raw;
    const t = (field as unknown as { def: { type: string } }).def.type;
    if (t === 'number') value = Number(raw);
    else if (t === 'boolean') value = /^(1|true|yes|on)$/i.test(raw) ? true : /^(0|false|no|off)$/i.test(raw) ? false : raw;
    else if (t === 'array') value = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const parsed = field.safeParse(value);
    if (!parsed.success) {
      throw new InvalidArgumentError(`Environment variable ${name}: expected ${parsed.error.issues[0]?.message ?? 'a valid value'}, got "${raw}"`);
    }
    return parsed.data as z.infer<T>;
  }
  return fallback;
}

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/** The default of each field: from the environment (HOKUSAI_<FIELD>, and any other names), else the fallback. */
type Defaults = <T extends z.ZodType>(key: string, field: T, fallback: z.infer<T>, also?: string[]) => z.infer<T>;

/** Where the server listens and which checkpoints it serves. */
function listenFields(d: Defaults) {
  return {
    port: int(0, 65535).default(d('port', int(0, 65535), 8080, ['PORT'])).describe('TCP port (env PORT or HOKUSAI_PORT); 0 picks a free port'),
    host: z
      .string()
      .min(1)
      .default(d('host', z.string().min(1), '127.0.0.1'))
      .describe('interface to listen on: 127.0.0.1 = this machine only; 0.0.0.0 = every interface (exposed to the network)'),
    checkpoints: z
      .string()
      .min(1)
      .default(d('checkpoints', z.string().min(1), 'checkpoints'))
      .describe('directory whose subfolders are checkpoints (folder name = style id, [a-z0-9-]+); polled for changes'),
  };
}

/** How inference runs: engine, backend, workers and their queue. */
function inferenceFields(d: Defaults) {
  const workersDefault = Math.max(1, Math.min(4, availableParallelism()));
  return {
    engine: z
      .enum(ENGINE_CHOICES)
      .default(d('engine', z.enum(ENGINE_CHOICES), 'auto'))
      .describe(
        "inference engine: auto = gpu on a hardware WebGPU adapter with the limits it needs, else onnx; gpu = Hokusai's WebGPU engine (Dawn, one device per worker; Johnson networks; forced, it also runs on a software adapter); onnx = onnxruntime-node on the CPU (falls back to tfjs when it does not load); onnx-webgpu = onnxruntime's WebGPU execution provider; tfjs = tfjs on --backend",
      ),
    backend: z
      .enum(TFJS_BACKENDS)
      .default(d('backend', z.enum(TFJS_BACKENDS), 'auto'))
      .describe('tfjs backend for the tfjs engine and tfjs fallback'),
    workers: int(1, 64).default(d('workers', int(1, 64), workersDefault)).describe('inference worker threads (= concurrent inferences)'),
    threadsPerWorker: int(1, 64).default(d('threadsPerWorker', int(1, 64), 1)).describe('onnxruntime intra-op threads per worker'),
    queueSize: int(0, 10_000).default(d('queueSize', int(0, 10_000), 32)).describe('requests waiting for a worker before new ones get 503 + Retry-After'),
  };
}

/** What a request may send: body bytes, input pixels, inference size and what happens above it. */
function inputLimitFields(d: Defaults) {
  return {
    maxBodyBytes: int(1, 2 ** 31)
      .default(d('maxBodyBytes', int(1, 2 ** 31), 10 * 1024 * 1024))
      .describe('largest request body in bytes (413 above)'),
    maxPixels: int(1, 2 ** 31)
      .default(d('maxPixels', int(1, 2 ** 31), DEFAULT_MAX_PIXELS))
      .describe(
        'largest input image in pixels, checked from the header before decoding (422 above); each request being upscaled and encoded holds about 7 bytes per input pixel',
      ),
    maxSize: int(16, 8192)
      .default(d('maxSize', int(16, 8192), 1024))
      .describe('inference size: longest edge the network runs at; clients may ask for less with ?maxSize='),
    oversize: z
      .enum(OVERSIZE_POLICIES)
      .default(d('oversize', z.enum(OVERSIZE_POLICIES), 'downscale'))
      .describe('inputs larger than --max-size: downscale (run at max size, upscale the result back) or reject (422)'),
  };
}

/** Deadlines of requests, headers, keep-alive and shutdown, and how often checkpoints are polled. */
function timeoutFields(d: Defaults) {
  return {
    requestTimeoutMs: int(100, 3_600_000)
      .default(d('requestTimeoutMs', int(100, 3_600_000), 60_000))
      .describe('whole request (upload + inference) deadline in ms; a request still queued at the deadline gets 503'),
    headersTimeoutMs: int(100, 600_000)
      .default(d('headersTimeoutMs', int(100, 600_000), 10_000))
      .describe('deadline for the request headers in ms (slowloris protection); the connection is closed after it'),
    keepAliveTimeoutMs: int(0, 600_000).default(d('keepAliveTimeoutMs', int(0, 600_000), 5_000)).describe('idle keep-alive timeout in ms'),
    shutdownTimeoutMs: int(0, 600_000)
      .default(d('shutdownTimeoutMs', int(0, 600_000), 15_000))
      .describe('on SIGTERM: how long in-flight requests may take to finish before the process exits'),
    pollMs: int(0, 3_600_000)
      .default(d('pollMs', int(0, 3_600_000), 2_000))
      .describe('how often the checkpoints directory is checked for new or replaced checkpoints (0 = never)'),
  };
}

/** HTTP surface: CORS, rate limit, proxies, the web demo. */
function httpFields(d: Defaults) {
  return {
    cors: z
      .array(z.string())
      .default(d('cors', z.array(z.string()), []))
      .describe('origins allowed by CORS (comma-separated; * = any); none by default'),
    rateLimit: int(0, 1_000_000)
      .default(d('rateLimit', int(0, 1_000_000), 0))
      .describe('stylize requests per minute per client IP (0 = unlimited)'),
    trustProxy: z
      .string()
      .default(d('trustProxy', z.string(), ''))
      .describe("Express 'trust proxy' setting for client IPs behind a reverse proxy (e.g. 1 or loopback); empty = off"),
    demoDir: z
      .string()
      .default(d('demoDir', z.string(), DEFAULT_DEMO_DIR))
      .describe('web demo build served at / (packages/web-demo/dist; build it with `npm run build -w packages/web-demo`)'),
  };
}

/** Worker warm-up and giving back the memory large images grew. */
function workerMemoryFields(d: Defaults) {
  return {
    warmupSize: int(8, 1024).default(d('warmupSize', int(8, 1024), 64)).describe('edge of the image each model runs once on at load'),
    idleReleaseMs: int(0, 3_600_000)
      .default(d('idleReleaseMs', int(0, 3_600_000), 5_000))
      .describe(
        'after this many ms without a request, a worker gives back the memory larger images grew (rebuilds its onnxruntime sessions; about 600 MB per worker after a 1024 px inference; the GPU engine frees the GPU buffers of its forward); 0 = never',
      ),
  };
}

/** Builds the schema; defaults read from `env` (process.env unless given), so `--help` shows effective defaults. */
export function serveOptionsSchema(env: Env = process.env) {
  const d: Defaults = (key, field, fallback, also = []) => fromEnv(env, key, field, fallback, also);
  return z.object({
    ...listenFields(d),
    ...inferenceFields(d),
    ...inputLimitFields(d),
    ...timeoutFields(d),
    ...httpFields(d),
    ...workerMemoryFields(d),
  });
}

export const ServeOptionsSchema = serveOptionsSchema();
export type ServeOptions = z.infer<typeof ServeOptionsSchema>;

/** Resolve options from a partial object: every missing field takes its (environment-aware) default. */
export function resolveServeOptions(partial: Partial<ServeOptions> = {}, env: Env = process.env): ServeOptions {
  const result = serveOptionsSchema(env).safeParse(partial);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`);
  throw new InvalidArgumentError(`Invalid serve options:\n  ${lines.join('\n  ')}`);
}
