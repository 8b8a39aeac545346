/**
 * What every kernel family shares: shape validation (a clear INVALID_ARGUMENT naming the field), WGSL storage
 * binding declarations numbered in the order the bindings are passed, and 1-D grids that fold into 2-D when they
 * exceed the 65,535 workgroups a dimension may hold.
 */
import { InvalidArgumentError } from '@hokusai/errors';
import type { Binding } from '../gpu-context.ts';

export const MAX_WORKGROUPS_PER_DIM = 65535;

/** Throws INVALID_ARGUMENT unless every listed field of `shape` is an integer ≥ `min` (default 1). */
export function checkInts(kernel: string, shape: object, fields: readonly string[], min = 1): void {
  const record = shape as Record<string, unknown>;
  for (const f of fields) {
    const v = record[f];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new InvalidArgumentError(`${kernel}: ${f} must be an integer ≥ ${min}, got ${String(v)}`);
    }
  }
}

/** Throws INVALID_ARGUMENT with `what` when `ok` is false. */
export function check(kernel: string, ok: boolean, what: string): void {
  if (!ok) throw new InvalidArgumentError(`${kernel}: ${what}`);
}

/** One kernel parameter: its WGSL name, access, and the Binding that the caller passed. */
export interface Param {
  name: string;
  access: 'read' | 'read_write';
  binding: Binding;
  /** Element type (default f32). */
  type?: 'f32' | 'i32';
}

/** `@group(0) @binding(i) var<storage, …> name: array<f32 or i32>;` for each param, i in order. */
export function declare(params: readonly Param[]): string {
  return params
    .map((p, i) => `@group(0) @binding(${i}) var<storage, ${p.access}> ${p.name}: array<${p.type ?? 'f32'}>;`)
    .join('\n');
}

/** A WGSL unsigned literal. */
export function u(n: number): string {
  return `${n >>> 0}u`;
}

/** A WGSL f32 literal that round-trips `x` exactly. */
export function f(x: number): string {
  if (!Number.isFinite(x)) throw new InvalidArgumentError(`kernel constant must be finite, got ${x}`);
  const s = Math.fround(x).toExponential(9);
  return `f32(${s})`;
}

/** Workgroup counts for `groups` workgroups in a line, folded into (x, y) when above the per-dimension limit. */
export function grid1d(groups: number): [number, number, number] {
  const x = Math.min(groups, MAX_WORKGROUPS_PER_DIM);
  return [Math.max(1, x), Math.max(1, Math.ceil(groups / MAX_WORKGROUPS_PER_DIM)), 1];
}

/** WGSL expression of the linear workgroup index for a `grid1d` grid (`wg` = @builtin(workgroup_id)). */
export const LINEAR_WG = `(wg.x + wg.y * ${u(MAX_WORKGROUPS_PER_DIM)})`;

/** The bindings of params, in declaration order. */
export function bindings(params: readonly Param[]): Binding[] {
  return params.map((p) => p.binding);
}

/** Bytes a binding spans, where known (a whole buffer, or a range with an explicit size). */
export function bindingBytes(b: Binding): number | undefined {
  if (!('buffer' in b)) return b.size;
  return b.size ?? b.buffer.size - (b.offset ?? 0);
}
