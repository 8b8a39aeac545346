// Memory of `hokusai serve` after large images: starts the server in a child process (so its RSS is the server's
// alone) with the bundled checkpoints, sends `--requests` PNGs of `--size`² px one after another, and prints the
// child's RSS (VmRSS from /proc) at the baseline (ready, warmed up), after each request, and over `--idle` seconds
// afterwards, with the peak (VmHWM). Server options go through as HOKUSAI_* environment variables, e.g.
// HOKUSAI_WORKERS=2 HOKUSAI_MAX_PIXELS=50000000 npx tsx bench/serve-memory.ts --size 6000 --requests 3
// Usage: npx tsx bench/serve-memory.ts [--size 6000] [--height <size>] [--requests 3] [--idle 10] [--style great-wave]
//        [--format png] [--checkpoints checkpoints]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fmtMs, parseArgs, printTable } from './bench-util.ts';

const args = parseArgs({ role: 'client', size: '6000', height: '', requests: '3', idle: '10', style: 'great-wave', format: 'png', checkpoints: 'checkpoints' });

if (args['role'] === 'server') {
  const { startServer } = await import('@hokusai/serve');
  const server = await startServer({ port: 0, checkpoints: args['checkpoints'], pollMs: 0 }, { log: (l) => process.stderr.write(`[server] ${l}\n`) });
  await server.ready;
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
  process.on('SIGTERM', () => void server.shutdown().then(() => process.exit(0)));
} else {
  await client();
}

function rssMb(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

async function client(): Promise<void> {
  const sharp = (await import('sharp')).default;
  const size = Number(args['size']);
  const height = Number(args['height'] || size);
  const format = args['format'] as 'png' | 'jpeg';
  // A smooth gradient compresses to a small file but decodes to size² pixels, like the 105 KB 6000² PNG of issue 19.
  const body = await sharp({ create: { width: size, height, channels: 3, background: { r: 40, g: 120, b: 200 } } })
    .composite([{ input: Buffer.from(`<svg width="${size}" height="${height}"><circle cx="${size / 2}" cy="${height / 2}" r="${height / 3}" fill="#e0a030"/></svg>`) }])
    .toFormat(format)
    .toBuffer();
  const child = spawn(process.execPath, [...process.execArgv, new URL(import.meta.url).pathname, '--role', 'server', '--checkpoints', args['checkpoints'] as string], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const pid = child.pid as number;
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`server exited with code ${code}`)));
  });
  const { url } = JSON.parse(first) as { url: string };
  console.log(`${size}×${height} ${format}, ${(body.length / 1024).toFixed(0)} KB; server pid ${pid} at ${url}; env ${Object.entries(process.env).filter(([k]) => /^(HOKUSAI_|MALLOC_)/.test(k)).map(([k, v]) => `${k}=${v}`).join(' ') || '(defaults)'}`);
  const rows: string[][] = [];
  const sample = (what: string, extra = '') => {
    const m = rssMb(pid);
    rows.push([what, m.rss.toFixed(0), m.hwm.toFixed(0), extra]);
  };
  await new Promise((r) => setTimeout(r, 1000));
  sample('baseline (ready)');
  for (let i = 1; i <= Number(args['requests']); i++) {
    const t0 = performance.now();
    const res = await fetch(`${url}/v1/styles/${args['style']}/stylize`, { method: 'POST', body: new Uint8Array(body), headers: { 'content-type': `image/${format}` } });
    const bytes = (await res.arrayBuffer()).byteLength;
    sample(`after request ${i}`, `${res.status}, ${(bytes / 1024).toFixed(0)} KB, ${fmtMs(performance.now() - t0)}`);
  }
  const idle = Number(args['idle']);
  for (let s = 1; s <= idle; s++) {
    await new Promise((r) => setTimeout(r, 1000));
    if (s === 1 || s === idle || s % 5 === 0) sample(`idle ${s} s`);
  }
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  printTable(['when', 'RSS MB', 'peak MB', 'response'], rows);
}
