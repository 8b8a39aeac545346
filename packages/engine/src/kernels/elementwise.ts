/**
 * The engine's one-thread-per-element kernel (`elementwise`: a 1-D grid of 256-thread workgroups over `count`
 * elements, folded into 2-D past 65,535 workgroups, the out-of-range threads returning early) and the graphs'
 * elementwise helpers built on it: y = a + b (the residual blocks' skip connection and its gradient), y += x
 * (gradient accumulation), and a fill.
 */
import type { Binding, Dispatch, GpuContext } from '../gpu-context.ts';
import { bindings, checkInts, declare, f, grid1d, LINEAR_WG, u, type Param } from './common.ts';

export interface ElementwiseOptions {
  /** WGSL placed between the declarations and `main` (constants, helper functions). */
  head?: string;
  /** Name of the element index in `body` (default `i`). */
  index?: string;
}

/**
 * One dispatch running `body` once per element index < `count`, with `params` bound in order as storage arrays.
 * The body sees the index as `i` (or `opts.index`).
 */
export function elementwise(
  ctx: GpuContext,
  label: string,
  count: number,
  params: readonly Param[],
  body: string,
  opts: ElementwiseOptions = {},
): Dispatch[] {
  checkInts(label, { count }, ['count']);
  const i = opts.index ?? 'i';
  const code = /* wgsl */ `
${declare(params)}
${opts.head ?? ''}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let ${i} = ${LINEAR_WG} * 256u + li;
  if (${i} >= ${u(count)}) { return; }
  ${body}
}`;
  return [ctx.dispatch(label, code, bindings(params), grid1d(Math.ceil(count / 256)))];
}

/** y[i] = a[i] + b[i] for i < count (y may not alias a or b). */
export function add(ctx: GpuContext, s: { count: number }, b: { a: Binding; b: Binding; y: Binding }): Dispatch[] {
  return elementwise(ctx, 'add', s.count, [
    { name: 'a', access: 'read', binding: b.a },
    { name: 'b', access: 'read', binding: b.b },
    { name: 'y', access: 'read_write', binding: b.y },
  ], 'y[i] = a[i] + b[i];');
}

/** y[i] += x[i] for i < count. */
export function addInto(ctx: GpuContext, s: { count: number }, b: { x: Binding; y: Binding }): Dispatch[] {
  return elementwise(ctx, 'add into', s.count, [
    { name: 'x', access: 'read', binding: b.x },
    { name: 'y', access: 'read_write', binding: b.y },
  ], 'y[i] += x[i];');
}

/** y[i] = value for i < count. */
export function fill(ctx: GpuContext, s: { count: number; value: number }, b: { y: Binding }): Dispatch[] {
  return elementwise(ctx, 'fill', s.count, [{ name: 'y', access: 'read_write', binding: b.y }], `y[i] = ${f(s.value)};`);
}
