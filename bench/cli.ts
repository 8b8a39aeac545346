// CLI start-up and one-photo stylise, each in a cold process as a user runs them: `hokusai --help` from the
// bundle (tools/build-cli.mjs) and from source (tsx, HOKUSAI_FROM_SOURCE=1); `hokusai stylize` of a 768×512 photo
// on onnxruntime (the default, --backend auto) and on tfjs wasm. Prints wall and CPU time (user + system of the
// child, from /proc) per run, medians, ratios, and the load average, since other people's work shares the cores.
//   npx tsx bench/cli.ts [--runs 3] [--photo <kodim23.png>] [--checkpoint checkpoints/great-wave]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
// @ts-expect-error: a plain ES module script without type declarations
import * as build from '../tools/build-cli.mjs';
import { median, parseArgs, SHARED_INPUTS } from './bench-util.ts';

const { buildCli, isBuildFresh } = build as { buildCli(): Promise<unknown>; isBuildFresh(): boolean };
const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'packages/cli/bin/hokusai.mjs');
const args = parseArgs({ runs: '3', photo: SHARED_INPUTS.content, checkpoint: 'checkpoints/great-wave' });
const runs = Number(args.runs);

/** CPU seconds used by this process's waited-for children so far (Linux /proc; NaN elsewhere). */
function childrenCpu(): number {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100; // cutime + cstime, in clock ticks (USER_HZ = 100)
  } catch {
    return Number.NaN;
  }
}

const load = () => loadavg()[0]!.toFixed(1);

interface Case {
  name: string;
  argv: string[];
  env?: Record<string, string>;
}

function measure(c: Case): { wall: number; cpu: number } {
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < runs; i++) {
    const cpu0 = childrenCpu();
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [BIN, ...c.argv], { cwd: ROOT, env: { ...process.env, ...c.env }, encoding: 'utf8' });
    const wall = (performance.now() - t0) / 1000;
    const cpu = childrenCpu() - cpu0;
    if (r.status !== 0) throw new Error(`${c.name} failed (exit ${r.status}):\n${r.stderr}`);
    walls.push(wall);
    cpus.push(cpu);
    console.log(`  ${c.name} run ${i + 1}: ${wall.toFixed(2)} s wall, ${cpu.toFixed(2)} s CPU (load ${load()})`);
  }
  return { wall: median(walls), cpu: median(cpus) };
}

const tmp = mkdtempSync(join(tmpdir(), 'hokusai-bench-cli-'));
try {
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(1)).join(' ')} (1/5/15 min)`);
  if (!isBuildFresh()) {
    const t0 = performance.now();
    await buildCli();
    console.log(`bundle rebuilt first (sources changed): ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  }
  const stylize = (backend: string): Case => ({
    name: `stylize --backend ${backend}`,
    argv: ['stylize', '-c', args.checkpoint!, args.photo!, '-o', join(tmp, `${backend}.jpg`), '--backend', backend],
  });
  const cases: Case[] = [
    { name: '--help (bundle)', argv: ['--help'] },
    { name: '--help (source, tsx)', argv: ['--help'], env: { HOKUSAI_FROM_SOURCE: '1' } },
    stylize('auto'),
    stylize('wasm'),
  ];
  const results = new Map<string, { wall: number; cpu: number }>();
  for (const c of cases) results.set(c.name, measure(c));
  console.log(`\nmedians of ${runs} cold runs (load average at end: ${loadavg().map((x) => x.toFixed(1)).join(' ')})`);
  console.log('| command | wall | CPU (user + sys) |');
  console.log('|---|---|---|');
  for (const [name, r] of results) console.log(`| ${name} | ${r.wall.toFixed(2)} s | ${r.cpu.toFixed(2)} s |`);
  const ratio = (a: string, b: string) => {
    const x = results.get(a)!;
    const y = results.get(b)!;
    return `${(x.wall / y.wall).toFixed(1)}× wall, ${(x.cpu / y.cpu).toFixed(1)}× CPU`;
  };
  console.log(`\n--help from source / bundle: ${ratio('--help (source, tsx)', '--help (bundle)')}`);
  console.log(`stylize tfjs wasm / onnxruntime: ${ratio('stylize --backend wasm', 'stylize --backend auto')}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
