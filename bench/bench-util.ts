// Shared helpers for the bench scripts: argument parsing, timing with real synchronisation, and loading the
// workspace packages under plain tsx (tfjs-core's ESM gradient files need the CLI's resolve hook).
import { register } from 'node:module';
import { sharedPath } from '../packages/node/src/shared-data.ts';

register('../packages/cli/bin/resolve-hooks.mjs', import.meta.url);

/** Default inputs of the benches that need real data: the shared data's ($HOKUSAI_SHARED) VGG19 weights, a photo and a painting. */
export const SHARED_INPUTS = {
  weights: sharedPath('weights/vgg19-keras/vgg19_notop.h5'),
  content: sharedPath('images/content/kodim23.png'),
  style: sharedPath('images/styles/starry_night_van_gogh.jpg'),
} as const;

export type BenchBackend = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

export function parseArgs(defaults: Record<string, string>): Record<string, string> {
  const out = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const [key, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    if (!(key in defaults)) throw new Error(`unknown option --${key}; known: ${Object.keys(defaults).map((k) => `--${k}`).join(' ')}`);
    out[key] = inline ?? (argv[++i] as string);
  }
  return out;
}

export function list(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Runs `once` (which must await its result's data) `warmup` + `runs` times; returns per-run ms. */
export async function timeRuns(once: () => Promise<void>, runs: number, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await once();
    times.push(performance.now() - t0);
  }
  return times;
}

export function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}
