/**
 * Elementwise helpers of the graphs: y = a + b (the residual blocks' skip connection and its gradient), y += x
 * (gradient accumulation), and a fill.
 */
import type { Binding, Dispatch, GpuContext } from '../gpu-context.ts';
import { bindings, checkInts, declare, f, grid1d, LINEAR_WG, u, type Param } from './common.ts';

function elementwise(ctx: GpuContext, label: string, count: number, params: Param[], body: string): Dispatch[] {
  checkInts(label, { count }, ['count']);
  const code = `
${declare(params)}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = ${LINEAR_WG} * 256u + li;
  if (i >= ${u(count)}) { return; }
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
