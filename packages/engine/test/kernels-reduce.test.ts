// Sum reductions (one pass and two passes) against float64 sums in JS, written at an offset of an output buffer.
import { describe, expect, it } from 'vitest';
import type { GpuContext } from '../src/gpu-context.ts';
import { reduce, type ReduceOp } from '../src/kernels/reduce.ts';
import { bufferFrom, NO_GPU_REASON, randomFloats, runAndRead, testContext } from './gpu-device.ts';

const ctx: GpuContext | undefined = await testContext();

const TERMS: Record<ReduceOp, (x: number, y: number) => number> = {
  sum: (x) => x,
  sumSquares: (x) => x * x,
  sumSquaredDiff: (x, y) => (x - y) ** 2,
  sumAbsDiff: (x, y) => Math.abs(x - y),
};

describe.skipIf(ctx === undefined)(`reduce kernels vs float64 sums${ctx ? '' : ` — SKIPPED: ${NO_GPU_REASON}`}`, () => {
  it.each([1, 255, 65536, 65537, 1_000_003])('count %i, every op', async (count) => {
    const c = ctx!;
    const x = randomFloats(count, count).map((v) => v + 0.25), y = randomFloats(count, count + 1);
    const xBuf = bufferFrom(c, x), yBuf = bufferFrom(c, y);
    const out = c.createBuffer(8 * 4);
    const ops = Object.keys(TERMS) as ReduceOp[];
    const ds = ops.flatMap((op, k) => reduce(c, { count, op, scale: 0.5 }, { x: xBuf, y: yBuf, out, outIndex: k + 2 }));
    const got = await runAndRead(c, ds, out, 8);
    ops.forEach((op, k) => {
      let want = 0;
      for (let i = 0; i < count; i++) want += TERMS[op](x[i]!, y[i]!);
      want *= 0.5;
      expect(Math.abs(got[k + 2]! - want) / Math.max(Math.abs(want), 1e-6), `${op}: ${got[k + 2]} vs ${want}`).toBeLessThan(1e-5);
    });
  });

  it('a difference op without y is rejected', () => {
    const d = ctx!.createBuffer(4);
    expect(() => reduce(ctx!, { count: 4, op: 'sumAbsDiff' }, { x: d, out: d })).toThrow(/needs a y binding/);
  });
});
