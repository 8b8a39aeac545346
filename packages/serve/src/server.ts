/**
 * Starts and stops one `hokusai serve` instance: HTTP server with slowloris protection (headersTimeout,
 * requestTimeout checked every second), inference worker pool, checkpoint registry with polling. It listens
 * first (so /healthz answers while models load), then loads styles; `ready` resolves when the first scan is done.
 * `shutdown()`: stop accepting, report not-ready, let in-flight requests finish (bounded), stop workers.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { HokusaiError } from '@hokusai/errors';
import { packageVersion } from '@hokusai/node';
import { createApp } from './app.ts';
import { ServerMetrics } from './metrics.ts';
import { resolveServeOptions, type ServeOptions } from './options.ts';
import { StyleRegistry } from './style-registry.ts';
import { InferencePool } from './worker-pool.ts';
import type { ServerContext } from './server-context.ts';

export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  port: number;
  server: Server;
  app: Express;
  context: ServerContext;
  /** Resolves when workers run and the first checkpoint scan finished (rejects if the workers cannot start). */
  ready: Promise<void>;
  /** Graceful stop; safe to call more than once. */
  shutdown(): Promise<void>;
}

/** A listen failure on a busy or privileged port as an IO error naming the port and how to choose another. */
function listenError(error: unknown, port: number, host: string): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== 'EADDRINUSE' && code !== 'EACCES') return error;
  const why = code === 'EADDRINUSE' ? 'is already in use (another hokusai serve?)' : 'cannot be used without root privileges';
  const other = port < 65535 ? port + 1 : 8080;
  return new HokusaiError('IO', `port ${port} on ${host} ${why}: stop that server, or choose another port: --port ${other} (npm start -- --port ${other})`, { cause: error });
}

/** Metrics, worker pool and style registry of one instance, wired together, in the context the HTTP layer shares. */
function createContext(options: ServeOptions, log: (line: string) => void): ServerContext {
  const metrics = new ServerMetrics();
  const pool = new InferencePool({
    workers: options.workers,
    queueSize: options.queueSize,
    engine: options.engine,
    backend: options.backend,
    threads: options.threadsPerWorker,
    warmupSize: options.warmupSize,
    idleReleaseMs: options.idleReleaseMs,
    log,
  });
  pool.onQueueChange = (depth, busy) => {
    metrics.queueDepth.set(depth);
    metrics.busyWorkers.set(busy);
  };
  const registry = new StyleRegistry({
    dir: options.checkpoints,
    pollMs: options.pollMs,
    pool,
    log,
    onChange: (styles) => metrics.stylesLoaded.set(styles.length),
  });
  const state = { startedAt: Date.now(), started: false, shuttingDown: false, inFlight: 0 };
  return { options, registry, pool, metrics, state, log, version: packageVersion(new URL('../package.json', import.meta.url)) };
}

/** The HTTP server with slowloris protection (header and request timeouts checked every second at most) and bounds. */
function createHttpServer(app: Express, options: ServeOptions): Server {
  const server = createServer(
    {
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: Math.max(options.requestTimeoutMs, options.headersTimeoutMs + 1),
      keepAliveTimeout: options.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(options.headersTimeoutMs / 4))),
      maxHeaderSize: 16 * 1024,
    },
    app,
  );
  server.maxHeadersCount = 100;
  server.maxRequestsPerSocket = 1000;
  return server;
}

/** Listens on --host/--port (a busy port is an IO error saying what to do); resolves to the base URL and port. */
async function listen(server: Server, options: ServeOptions): Promise<{ url: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: unknown) => reject(listenError(error, options.port, options.host));
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return { url: `http://${host}:${port}`, port };
}

/** Starts the workers, then the first checkpoint scan; the server is `started` (ready) after both. */
function startWorkers(context: ServerContext): Promise<void> {
  const { pool, registry, options, log } = context;
  const ready = (async () => {
    await pool.start();
    log(`inference: ${options.workers} worker(s), engine ${pool.engine}: ${pool.engineDetail}`);
    await registry.start();
    context.state.started = true;
  })();
  ready.catch((e: unknown) => log(`server failed to start its workers: ${(e as Error).message}`));
  return ready;
}

/** Graceful stop (once, however often called): stop accepting, let in-flight requests finish (bounded), stop workers. */
function shutdownOf(context: ServerContext, server: Server): () => Promise<void> {
  const { options, state, registry, pool, log } = context;
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= (async () => {
      state.shuttingDown = true;
      registry.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const until = Date.now() + options.shutdownTimeoutMs;
      while (state.inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
      if (state.inFlight > 0) log(`shutdown: ${state.inFlight} request(s) still running after ${options.shutdownTimeoutMs} ms; closing`);
      await pool.close(Math.max(0, until - Date.now()));
      server.closeAllConnections();
      await closed;
    })();
    return stopping;
  };
}

export async function startServer(
  partial: Partial<ServeOptions> = {},
  opts: { log?: (line: string) => void } = {},
): Promise<RunningServer> {
  const options = resolveServeOptions(partial);
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const context = createContext(options, log);
  const app = createApp(context);
  const server = createHttpServer(app, options);
  const { url, port } = await listen(server, options);
  const ready = startWorkers(context);
  return { url, port, server, app, context, ready, shutdown: shutdownOf(context, server) };
}
