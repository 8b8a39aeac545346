/**
 * Prometheus metrics of one server instance (its own prom-client Registry, so several servers can live in one
 * process, e.g. in tests): request durations by route and status, inference duration by style, queue depth, busy
 * workers, loaded styles, and the default Node process metrics.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requestDuration = new Histogram({
    name: 'hokusai_http_request_duration_seconds',
    help: 'HTTP request duration by route template, method and status code',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly inferenceDuration = new Histogram({
    name: 'hokusai_inference_duration_seconds',
    help: 'Network inference duration (in a worker, excluding decode/encode and queueing) by style and engine',
    labelNames: ['style', 'engine'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly queueWait = new Histogram({
    name: 'hokusai_queue_wait_seconds',
    help: 'Time a stylize job waited for a free worker',
    buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({ name: 'hokusai_queue_depth', help: 'Stylize jobs waiting for a worker', registers: [this.registry] });
  readonly busyWorkers = new Gauge({ name: 'hokusai_busy_workers', help: 'Workers running an inference', registers: [this.registry] });
  readonly inFlight = new Gauge({ name: 'hokusai_stylize_in_flight', help: 'Stylize requests admitted and not yet answered', registers: [this.registry] });
  readonly stylesLoaded = new Gauge({ name: 'hokusai_styles_loaded', help: 'Styles loaded and warmed up', registers: [this.registry] });
  readonly rejected = new Counter({
    name: 'hokusai_rejected_requests_total',
    help: 'Requests refused, by error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'hokusai_' });
  }
}
