/**
 * Starts and stops one `hokusai serve` instance: HTTP server with slowloris protection (headersTimeout,
 * requestTimeout checked every second), inference worker pool, checkpoint registry with polling. It listens
 * first (so /healthz answers while models load), then loads styles; `ready` resolves when the first scan is done.
 * `shutdown()`: stop accepting, report not-ready, let in-flight requests finish (bounded), stop workers.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import type { Express } from 'express';
import { HokusaiError } from '@hokusai/errors';
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

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** A listen failure on a busy or privileged port as an IO error naming the port and how to choose another. */
function listenError(error: unknown, port: number, host: string): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== 'EADDRINUSE' && code !== 'EACCES') return error;
  const why = code === 'EADDRINUSE' ? 'is already in use (another hokusai serve?)' : 'cannot be used without root privileges';
  const other = port < 65535 ? port + 1 : 8080;
  return new HokusaiError('IO', `port ${port} on ${host} ${why}: stop that server, or choose another port: --port ${other} (npm start -- --port ${other})`, { cause: error });
}

export async function startServer(
  partial: Partial<ServeOptions> = {},
  opts: { log?: (line: string) => void } = {},
): Promise<RunningServer> {
  const options = resolveServeOptions(partial);
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
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
  const context: ServerContext = {
    options,
    registry,
    pool,
    metrics,
    state: { startedAt: Date.now(), started: false, shuttingDown: false, inFlight: 0 },
    log,
    version: packageVersion(),
  };
  const app = createApp(context);
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
  const url = `http://${host}:${port}`;

  const ready = (async () => {
    await pool.start();
    log(`inference: ${options.workers} worker(s), engine ${pool.engine}: ${pool.engineDetail}`);
    await registry.start();
    context.state.started = true;
  })();
  ready.catch((e: unknown) => log(`server failed to start its workers: ${(e as Error).message}`));

  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    stopping ??= (async () => {
      context.state.shuttingDown = true;
      registry.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const until = Date.now() + options.shutdownTimeoutMs;
      while (context.state.inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
      if (context.state.inFlight > 0) log(`shutdown: ${context.state.inFlight} request(s) still running after ${options.shutdownTimeoutMs} ms; closing`);
      await pool.close(Math.max(0, until - Date.now()));
      server.closeAllConnections();
      await closed;
    })();
    return stopping;
  };

  return { url, port, server, app, context, ready, shutdown };
}
