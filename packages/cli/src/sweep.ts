/**
 * `--sweep key=v1,v2,...` (repeatable): parse and validate a settings grid before any heavy work, then expand it
 * into runs (the cartesian product, first sweep varying slowest). Keys are option names in kebab- or camelCase;
 * only options that change the picture may be swept; values are checked with the option's own zod schema.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '@hokusai/errors';
import { camel, kebab } from './command.ts';

export interface Sweep {
  key: string;
  values: unknown[];
}

export interface SweepRun {
  overrides: Record<string, unknown>;
  /** Short label, e.g. `style-weight=1e3 iterations=300`. */
  label: string;
}

function baseType(s: z.ZodType): string {
  let t = s as unknown as { def: { type: string; innerType?: unknown } };
  while (['default', 'optional', 'nullable', 'prefault'].includes(t.def.type) && t.def.innerType) {
    t = t.def.innerType as typeof t;
  }
  return t.def.type;
}

/**
 * Parse the raw `--sweep` tokens. The CLI splits list options at commas, so `style-weight=1e2,1e3` arrives as
 * `['style-weight=1e2', '1e3']`: a token without `=` continues the previous key.
 */
export function parseSweeps(tokens: string[], schema: z.ZodObject, sweepable: readonly string[]): Sweep[] {
  const shape = schema.shape as Record<string, z.ZodType>;
  const groups: { key: string; raw: string[] }[] = [];
  for (const token0 of tokens) {
    for (const token of token0.split(',').map((s) => s.trim()).filter(Boolean)) {
      const eq = token.indexOf('=');
      if (eq === 0) throw new InvalidArgumentError(`--sweep: expected key=v1,v2,... (e.g. style-weight=1e2,1e3), got "${token}" with no key`);
      if (eq > 0) groups.push({ key: token.slice(0, eq).trim(), raw: [token.slice(eq + 1).trim()].filter(Boolean) });
      else if (groups.length === 0) throw new InvalidArgumentError(`--sweep: expected key=v1,v2,... (e.g. style-weight=1e2,1e3), got "${token}"`);
      else groups[groups.length - 1]?.raw.push(token);
    }
  }
  const seen = new Set<string>();
  return groups.map(({ key: rawKey, raw }) => {
    const key = camel(rawKey);
    if (!sweepable.includes(key) || !shape[key]) {
      throw new InvalidArgumentError(
        `--sweep: unknown or unsweepable key "${rawKey}"; expected one of ${sweepable.map(kebab).join(', ')}`,
      );
    }
    if (seen.has(key)) throw new InvalidArgumentError(`--sweep: key "${rawKey}" given twice; expected each key once with all its values`);
    seen.add(key);
    if (raw.length === 0) throw new InvalidArgumentError(`--sweep ${rawKey}: expected at least one value after "=", got none`);
    const field = shape[key] as z.ZodType;
    const type = baseType(field);
    const values = raw.map((v) => {
      let value: unknown = v;
      if (type === 'number') {
        value = Number(v);
        if (!Number.isFinite(value as number) || v.trim() === '') {
          throw new InvalidArgumentError(`--sweep ${rawKey}: expected numbers, got "${v}"`);
        }
      } else if (type === 'boolean') {
        if (v !== 'true' && v !== 'false') throw new InvalidArgumentError(`--sweep ${rawKey}: expected true or false, got "${v}"`);
        value = v === 'true';
      }
      const parsed = field.safeParse(value);
      if (!parsed.success) {
        throw new InvalidArgumentError(`--sweep ${rawKey}: bad value "${v}": ${parsed.error.issues.map((i) => i.message).join('; ')}`);
      }
      return parsed.data;
    });
    return { key, values };
  });
}

function formatValue(v: unknown): string {
  if (typeof v === 'number') {
    if (v !== 0 && (Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3)) return v.toExponential().replace('e+', 'e');
    return String(v);
  }
  return String(v);
}

/** The grid's runs: cartesian product in the order given (the last sweep varies fastest). */
export function expandSweeps(sweeps: Sweep[]): SweepRun[] {
  let runs: SweepRun[] = [{ overrides: {}, label: '' }];
  for (const s of sweeps) {
    runs = runs.flatMap((r) =>
      s.values.map((v) => ({
        overrides: { ...r.overrides, [s.key]: v },
        label: `${r.label}${r.label ? ' ' : ''}${kebab(s.key)}=${formatValue(v)}`,
      })),
    );
  }
  return runs;
}
