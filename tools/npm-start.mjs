// `npm start [-- <hokusai serve options>]`: serves the bundled styles (checkpoints/) and the web demo, in this order:
//   1. checks that the port is free, so a busy port fails at once, naming the port and how to choose another,
//      instead of after building the demo;
//   2. builds the web demo (packages/web-demo/dist) when that build is missing or older than its sources, unless
//      --demo-dir / HOKUSAI_DEMO_DIR points elsewhere;
//   3. runs `hokusai serve --checkpoints checkpoints <options>` in this same process (the start script execs
//      node), so a Ctrl-C or SIGTERM that npm forwards reaches the server itself, which then shuts down cleanly.
// Plain JavaScript: it must run before anything is built.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'packages/cli/bin/hokusai.mjs');
/** ERROR_TABLE.IO.exit in packages/errors/src/errors.ts (checked by packages/serve/test/start-port.test.ts). */
export const EXIT_IO = 11;
/** ServeOptionsSchema's defaults (checked by the same test). */
export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '127.0.0.1';
/** What the demo build is made from: its own files, @hokusai/model (bundled into it) and the locked dependencies. */
const DEMO_SOURCES = [
  'packages/web-demo/src',
  'packages/web-demo/index.html',
  'packages/web-demo/vite.config.ts',
  'packages/web-demo/package.json',
  'packages/model/src',
  'package-lock.json',
];

/** The last value given for an option (`--port 9000`, `--port=9000`, `-p 9000`), as commander reads it. */
export function optionValue(args, names) {
  let value;
  args.forEach((arg, i) => {
    for (const name of names) {
      if (arg === name && i + 1 < args.length) value = args[i + 1];
      else if (arg.startsWith(`${name}=`)) value = arg.slice(name.length + 1);
    }
  });
  return value;
}

/** Where `hokusai serve` will listen, with the same precedence: option > HOKUSAI_PORT > PORT > default. */
export function listenAddress(args, env = process.env) {
  const port = Number(optionValue(args, ['--port', '-p']) ?? (env.HOKUSAI_PORT || env.PORT || DEFAULT_PORT));
  const host = optionValue(args, ['--host']) ?? (env.HOKUSAI_HOST || DEFAULT_HOST);
  return { port, host };
}

/** Resolves with null when the port can be listened on, else the error code (EADDRINUSE, EACCES, …). */
function tryListen(port, host) {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (error) => resolve(error.code ?? String(error)));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(null)));
  });
}

function newestChange(path) {
  if (!existsSync(path)) return 0;
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return readdirSync(path).reduce((m, name) => Math.max(m, newestChange(join(path, name))), s.mtimeMs);
}

function demoIsStale() {
  const built = join(ROOT, 'packages/web-demo/dist/index.html');
  if (!existsSync(built)) return true;
  const builtAt = statSync(built).mtimeMs;
  return DEMO_SOURCES.some((p) => newestChange(join(ROOT, p)) > builtAt);
}

async function main(args) {
  const help = args.includes('--help') || args.includes('-h');
  const { port, host } = listenAddress(args);
  if (!help && Number.isInteger(port) && port > 0) {
    const code = await tryListen(port, host);
    const other = port < 65535 ? port + 1 : 8080;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      const why = code === 'EADDRINUSE' ? 'is already in use (another hokusai serve?)' : 'cannot be used without root privileges';
      process.stderr.write(`error [IO]: port ${port} on ${host} ${why}. Stop that server, or choose another port: npm start -- --port ${other}\n`);
      process.exit(EXIT_IO);
    }
  }
  const demoDir = optionValue(args, ['--demo-dir']) ?? process.env.HOKUSAI_DEMO_DIR;
  if (!help && !demoDir && demoIsStale()) {
    const build = spawnSync('npm', ['run', 'build', '-w', '@hokusai/web-demo'], { cwd: ROOT, stdio: 'inherit' });
    if (build.status !== 0) process.exit(build.status ?? 1);
  }
  process.argv = [process.argv[0] ?? 'node', BIN, 'serve', '--checkpoints', 'checkpoints', ...args];
  await import(BIN);
}

// Run as a script (not when a test imports it); realpath: import.meta.url has symlinks resolved, argv[1] may not.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
