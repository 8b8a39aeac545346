/**
 * Sum reductions for loss values that stay on the GPU until a log step reads them: Σx, Σx², Σ(x−y)², Σ|x−y|,
 * times `scale`, written to one float of an output buffer. Up to 64k elements: one workgroup; above, two passes
 * (workgroup partials into a scratch buffer, then one workgroup sums them). Summation is pairwise within a
 * workgroup (tree in workgroup memory), so float32 error grows slowly with the count.
 */
import type { Binding, Dispatch, GpuContext } from '../gpu-context.ts';
import { bindings, check, checkInts, declare, f, grid1d, LINEAR_WG, u, type Param } from './common.ts';

export type ReduceOp = 'sum' | 'sumSquares' | 'sumSquaredDiff' | 'sumAbsDiff';

export interface ReduceShape {
  count: number;
  op: ReduceOp;
  /** Multiplies the sum (default 1). */
  scale?: number;
}

const SINGLE_PASS_MAX = 65536;
const PER_GROUP = 4096;

const TERM: Record<ReduceOp, string> = {
  sum: 'x[i]',
  sumSquares: 'x[i] * x[i]',
  sumSquaredDiff: '(x[i] - y[i]) * (x[i] - y[i])',
  sumAbsDiff: 'abs(x[i] - y[i])',
};

/** Floats of scratch the reduction needs (0 when it runs in one pass). */
export function reduceScratchFloats(count: number): number {
  return count <= SINGLE_PASS_MAX ? 0 : Math.ceil(count / PER_GROUP);
}

/** WGSL: each of 256 threads sums term(i) over its strided share of [start, end), then a tree in workgroup memory. */
function sumBody(term: string, start: string, end: string): string {
  return `
  var acc = 0.0;
  for (var i = ${start} + li; i < ${end}; i += 256u) { acc += ${term}; }
  part[li] = acc;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (li < s) { part[li] += part[li + s]; }
    workgroupBarrier();
  }`;
}

/** out[outIndex] = scale · Σ term over count elements of x (and y for the difference ops). */
export function reduce(
  ctx: GpuContext,
  s: ReduceShape,
  b: { x: Binding; y?: Binding; out: Binding; outIndex?: number; scratch?: Binding },
): Dispatch[] {
  checkInts('reduce', s, ['count']);
  const diff = s.op === 'sumSquaredDiff' || s.op === 'sumAbsDiff';
  check('reduce', TERM[s.op] !== undefined, `op must be one of ${Object.keys(TERM).join(', ')}, got ${String(s.op)}`);
  check('reduce', !diff || b.y !== undefined, `op ${s.op} needs a y binding`);
  const outIndex = b.outIndex ?? 0;
  checkInts('reduce', { outIndex }, ['outIndex'], 0);
  const scale = f(s.scale ?? 1);
  const inputs: Param[] = [{ name: 'x', access: 'read', binding: b.x }];
  if (diff) inputs.push({ name: 'y', access: 'read', binding: b.y as Binding });
  const shared = 'var<workgroup> part: array<f32, 256>;';
  const entry = '@compute @workgroup_size(256)\nfn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {';
  if (s.count <= SINGLE_PASS_MAX) {
    const params = [...inputs, { name: 'out', access: 'read_write' as const, binding: b.out }];
    const code = `${declare(params)}\n${shared}\n${entry}${sumBody(TERM[s.op], '0u', u(s.count))}
  if (li == 0u) { out[${u(outIndex)}] = ${scale} * part[0]; }
}`;
    return [ctx.dispatch(`reduce ${s.op}`, code, bindings(params), [1])];
  }
  const groups = reduceScratchFloats(s.count);
  const scratch = b.scratch ?? ctx.createBuffer(groups * 4, 'reduce scratch');
  const p1 = [...inputs, { name: 'partials', access: 'read_write' as const, binding: scratch }];
  const code1 = `${declare(p1)}\n${shared}\n${entry}
  let g = ${LINEAR_WG};
  if (g >= ${u(groups)}) { return; }${sumBody(TERM[s.op], `g * ${u(PER_GROUP)}`, `min(${u(s.count)}, (g + 1u) * ${u(PER_GROUP)})`)}
  if (li == 0u) { partials[g] = part[0]; }
}`;
  const p2: Param[] = [
    { name: 'x', access: 'read', binding: scratch },
    { name: 'out', access: 'read_write', binding: b.out },
  ];
  const code2 = `${declare(p2)}\n${shared}\n${entry}${sumBody('x[i]', '0u', u(groups))}
  if (li == 0u) { out[${u(outIndex)}] = ${scale} * part[0]; }
}`;
  return [
    ctx.dispatch(`reduce ${s.op} partials`, code1, bindings(p1), grid1d(groups)),
    ctx.dispatch(`reduce ${s.op} total`, code2, bindings(p2), [1]),
  ];
}
