/**
 * What the HTTP layer of one server instance shares: resolved options, the style registry, the worker pool,
 * metrics, mutable state (readiness, shutdown, in-flight count) and the log.
 */
import type { ServeOptions } from './options.ts';
import type { StyleRegistry } from './style-registry.ts';
import type { InferencePool } from './worker-pool.ts';
import type { ServerMetrics } from './metrics.ts';

export interface ServerState {
  startedAt: number;
  /** Workers started and the first scan of the checkpoints directory finished. */
  started: boolean;
  shuttingDown: boolean;
  inFlight: number;
}

export interface ServerContext {
  options: ServeOptions;
  registry: StyleRegistry;
  pool: InferencePool;
  metrics: ServerMetrics;
  state: ServerState;
  log: (line: string) => void;
  version: string;
}
