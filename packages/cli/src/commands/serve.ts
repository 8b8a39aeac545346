/**
 * `hokusai serve`: the REST server of @hokusai/serve (stylise images over HTTP with trained checkpoints, host the
 * web demo and browser-ready models). Options are @hokusai/serve's one zod schema (each field also reads
 * HOKUSAI_<FIELD> from the environment; --port also PORT). Runs until SIGINT/SIGTERM, then stops accepting,
 * reports not-ready, lets in-flight requests finish (bounded by --shutdown-timeout-ms) and exits 0.
 */
import { ServeOptionsSchema, startServer, type ServeOptions } from '@hokusai/serve';
import { defineCommand, type CommandContext, type CommandSpec } from '../command.ts';

export async function runServe(options: ServeOptions, ctx: CommandContext): Promise<void> {
  const server = await startServer(options, { log: ctx.log });
  const exposed = options.host === '0.0.0.0' || options.host === '::';
  ctx.log(`hokusai serve listening on ${server.url}${exposed ? ' (all interfaces: reachable from the network)' : ''}`);
  ctx.log(`  web demo: ${server.url}/`);
  ctx.log(`  API:      ${server.url}/v1/styles  (OpenAPI: ${server.url}/openapi.json)`);
  ctx.log(`  health:   ${server.url}/healthz, ${server.url}/readyz, metrics: ${server.url}/metrics`);
  ctx.log(`  styles from ${options.checkpoints} (checked every ${options.pollMs} ms); loading…`);
  server.ready.then(
    () => ctx.log(`ready: ${server.context.registry.list().length} style(s) loaded`),
    (error: unknown) => ctx.log(`not ready: ${(error as Error).message}`),
  );
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  ctx.log('shutting down: not accepting new requests, finishing the ones in flight…');
  await server.shutdown();
  ctx.log('stopped');
}

export const commands: CommandSpec[] = [
  defineCommand({
    name: 'serve',
    summary: 'REST server: stylise images over HTTP, host the web demo and browser-ready models',
    schema: ServeOptionsSchema,
    aliases: { port: 'p' },
    run: runServe,
  }) as unknown as CommandSpec,
];
