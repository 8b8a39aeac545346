/**
 * Builds the `hokusai` commander program from the command specs (src/command.ts): every zod field becomes a
 * kebab-case option whose help shows its description and default; positionals per `spec.positionals`;
 * multi-word names (`weights fetch`) become subcommands; `--config file.json` where `spec.configFile`
 * (the command line wins over the file). Options are resolved once, here, with `resolveOptions`.
 * The process-level concerns (signals, exit codes, printing errors) live in cli.ts.
 */
import { Command, Option } from 'commander';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { InvalidArgumentError, NotFoundError } from '@hokusai/errors';
import { camel, kebab, resolveOptions, type CommandContext, type CommandSpec } from './command.ts';

/** What the CLI needs to know about one zod field. */
export interface FieldInfo {
  kind: 'number' | 'integer' | 'boolean' | 'enum' | 'string' | 'array' | 'record' | 'other';
  /** Element kind of arrays / value kind of records. */
  element?: 'number' | 'string' | 'other';
  choices?: string[];
  description?: string;
  hasDefault: boolean;
  defaultValue?: unknown;
  optional: boolean;
}

// zod 4 internals we read: `def.type`, `def.innerType`, `def.defaultValue`, `def.element`, `def.valueType`, `options`.
interface ZodLike {
  def: {
    type: string;
    innerType?: ZodLike;
    defaultValue?: unknown;
    element?: ZodLike;
    valueType?: ZodLike;
    in?: ZodLike;
    checks?: { _zod?: { def?: { format?: string } } }[];
  };
  description?: string;
  options?: unknown[];
  format?: string | null;
}

function baseKind(t: ZodLike): FieldInfo['element'] {
  let s = t;
  while (['default', 'optional', 'nullable', 'prefault', 'readonly'].includes(s.def.type) && s.def.innerType) {
    s = s.def.innerType;
  }
  if (s.def.type === 'number') return 'number';
  if (s.def.type === 'string' || s.def.type === 'enum') return 'string';
  return 'other';
}

/** Unwraps default/optional/nullable wrappers and classifies a zod field. */
export function describeField(schema: z.ZodType): FieldInfo {
  let s = schema as unknown as ZodLike;
  let description: string | undefined;
  let hasDefault = false;
  let defaultValue: unknown;
  let optional = false;
  for (;;) {
    description ??= s.description;
    const t = s.def.type;
    if (t === 'default' || t === 'prefault') {
      if (!hasDefault) {
        hasDefault = true;
        const d = s.def.defaultValue;
        defaultValue = typeof d === 'function' ? (d as () => unknown)() : d;
      }
    } else if (t === 'optional' || t === 'nullable') {
      optional = true;
    } else if (t === 'pipe' && s.def.in) {
      s = s.def.in;
      continue;
    } else if (t !== 'readonly') {
      break;
    }
    if (!s.def.innerType) break;
    s = s.def.innerType;
  }
  const base = { hasDefault, defaultValue, optional, ...(description === undefined ? {} : { description }) };
  switch (s.def.type) {
    case 'number': {
      const isInt =
        s.format === 'safeint' ||
        s.format === 'int32' ||
        (s.def.checks ?? []).some((c) => ['safeint', 'int32', 'uint32'].includes(c._zod?.def?.format ?? ''));
      return { kind: isInt ? 'integer' : 'number', ...base };
    }
    case 'boolean':
      return { kind: 'boolean', ...base };
    case 'enum':
      return { kind: 'enum', choices: (s.options ?? []).map(String), ...base };
    case 'string':
      return { kind: 'string', ...base };
    case 'array':
      return { kind: 'array', element: s.def.element ? baseKind(s.def.element) : 'other', ...base };
    case 'record':
      return { kind: 'record', element: s.def.valueType ? baseKind(s.def.valueType) : 'other', ...base };
    default:
      return { kind: 'other', ...base };
  }
}

function formatDefault(v: unknown): string {
  if (Array.isArray(v)) return v.length === 0 ? '(none)' : v.join(',');
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    return entries.length === 0 ? '(none)' : entries.map(([k, x]) => `${k}=${String(x)}`).join(',');
  }
  return JSON.stringify(v) ?? String(v);
}

/** A number from the command line, or the raw string when it is not one (zod then says what arrived). */
function toNumber(v: string): number | string {
  const t = v.trim();
  if (t === '') return v;
  const n = Number(t);
  return Number.isFinite(n) ? n : v;
}

function splitList(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Parses `relu1_2=1,relu2_2=0.5` (values as numbers when the record holds numbers). */
export function parseRecord(v: string, element: FieldInfo['element'], flag: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of splitList(v)) {
    const eq = item.indexOf('=');
    if (eq <= 0) {
      throw new InvalidArgumentError(`${flag}: expected key=value pairs separated by commas (e.g. relu1_2=1,relu2_2=0.5), got "${item}"`);
    }
    const key = item.slice(0, eq).trim();
    const raw = item.slice(eq + 1).trim();
    out[key] = element === 'number' ? toNumber(raw) : raw;
  }
  return out;
}

function optionFor(key: string, info: FieldInfo, alias: string | undefined): Option[] {
  const flag = `--${kebab(key)}`;
  const short = alias ? `-${alias}, ` : '';
  let desc = info.description ?? '';
  if (info.hasDefault) desc += `${desc ? ' ' : ''}(default: ${formatDefault(info.defaultValue)})`;
  switch (info.kind) {
    case 'boolean': {
      const on = new Option(`${short}${flag}`, desc);
      const off = new Option(`--no-${kebab(key)}`, `turn off: ${desc}`);
      // Only the non-default spelling is interesting in the help; both always parse.
      if (info.hasDefault && info.defaultValue === true) on.hideHelp();
      else off.hideHelp();
      return [on, off];
    }
    case 'number':
    case 'integer':
      return [new Option(`${short}${flag} <${info.kind === 'integer' ? 'n' : 'x'}>`, desc).argParser(toNumber)];
    case 'enum':
      return [new Option(`${short}${flag} <${kebab(key)}>`, desc).choices(info.choices ?? [])];
    case 'array': {
      const el = info.element;
      return [
        new Option(`${short}${flag} <list>`, `${desc}${desc ? ' ' : ''}[comma-separated or repeated]`).argParser(
          (v: string, prev: unknown[] | undefined) => [
            ...(prev ?? []),
            ...splitList(v).map((s) => (el === 'number' ? toNumber(s) : s)),
          ],
        ),
      ];
    }
    case 'record':
      return [
        new Option(`${short}${flag} <key=value,...>`, desc).argParser(
          (v: string, prev: Record<string, unknown> | undefined) => ({ ...(prev ?? {}), ...parseRecord(v, info.element, flag) }),
        ),
      ];
    case 'string':
      return [new Option(`${short}${flag} <value>`, desc)];
    default:
      // Anything else (unions, objects): JSON on the command line, else the raw string.
      return [
        new Option(`${short}${flag} <json>`, desc).argParser((v: string) => {
          try {
            return JSON.parse(v) as unknown;
          } catch {
            return v;
          }
        }),
      ];
  }
}

/** Reads a `--config` JSON file: an object whose keys are option names (camelCase or kebab-case). */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new NotFoundError(`--config: expected a readable JSON file, but cannot read "${path}" (${(cause as Error).message})`, { cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new InvalidArgumentError(`--config: expected JSON in "${path}", got a parse error: ${(cause as Error).message}`, { cause });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidArgumentError(`--config: expected a JSON object of options in "${path}", got ${Array.isArray(parsed) ? 'an array' : typeof parsed}`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) out[camel(k)] = v;
  return out;
}

/** Turns raw commander values into the object `resolveOptions` validates (config file under the command line). */
export async function collectRaw(
  spec: CommandSpec,
  opts: Record<string, unknown>,
  args: unknown[],
): Promise<Record<string, unknown>> {
  const shape = spec.schema.shape as Record<string, z.ZodType>;
  const fromCli: Record<string, unknown> = {};
  for (const key of Object.keys(shape)) {
    if (opts[key] !== undefined) fromCli[key] = opts[key];
  }
  (spec.positionals ?? []).forEach((p, i) => {
    const v = args[i];
    if (v === undefined || (Array.isArray(v) && v.length === 0 && !p.required)) return;
    const field = shape[p.key];
    const info = field ? describeField(field) : undefined;
    if (info?.kind === 'number' || info?.kind === 'integer') fromCli[p.key] = typeof v === 'string' ? toNumber(v) : v;
    else if (info?.kind === 'array' && info.element === 'number' && Array.isArray(v)) {
      fromCli[p.key] = v.map((s) => (typeof s === 'string' ? toNumber(s) : s));
    } else fromCli[p.key] = v;
  });
  let fromFile: Record<string, unknown> = {};
  const configPath = opts.config;
  if (spec.configFile && typeof configPath === 'string') fromFile = await readConfigFile(configPath);
  return { ...fromFile, ...fromCli };
}

/** Adds one command spec to the program (creating `weights` for `weights fetch` on the way). */
function addSpec(program: Command, spec: CommandSpec, ctx: CommandContext): void {
  const words = spec.name.trim().split(/\s+/);
  let parent = program;
  for (const word of words.slice(0, -1)) {
    const existing = parent.commands.find((c) => c.name() === word);
    parent = existing ?? parent.command(word).description(`${word} commands (see \`hokusai ${word} --help\`)`);
  }
  const leafName = words[words.length - 1] ?? spec.name;
  const cmd = parent.command(leafName).description(spec.summary);
  const shape = spec.schema.shape as Record<string, z.ZodType>;
  const positionalKeys = new Set((spec.positionals ?? []).map((p) => p.key));
  for (const p of spec.positionals ?? []) {
    const name = `${p.name.replace(/\.\.\.$/, '')}${p.variadic ? '...' : ''}`;
    const field = shape[p.key];
    const desc = field ? (describeField(field).description ?? '') : '';
    cmd.argument(p.required ? `<${name}>` : `[${name}]`, desc);
  }
  for (const [key, field] of Object.entries(shape)) {
    if (positionalKeys.has(key)) continue;
    for (const o of optionFor(key, describeField(field), spec.aliases?.[key])) cmd.addOption(o);
  }
  if (spec.configFile) {
    cmd.option('--config <file.json>', 'read options from a JSON file (keys = option names; the command line wins)');
  }
  cmd.action(async (...actionArgs: unknown[]) => {
    // commander passes (...positionals, options, command)
    const command = actionArgs[actionArgs.length - 1] as Command;
    const args = actionArgs.slice(0, -2);
    const raw = await collectRaw(spec, command.opts(), args);
    const options = resolveOptions(spec.schema, raw);
    await spec.run(options, ctx, new Set(Object.keys(raw)));
  });
}

export interface BuildProgramOptions {
  version: string;
  ctx: CommandContext;
  /** Where commander writes help and usage errors (defaults to stdout/stderr). */
  writeOut?: (s: string) => void;
  writeErr?: (s: string) => void;
}

/** The whole `hokusai` program: throws CommanderError instead of exiting (cli.ts decides exit codes). */
export function buildProgram(commands: CommandSpec[], opts: BuildProgramOptions): Command {
  const program = new Command('hokusai')
    .description('Fast neural style transfer: train, optimize, stylize, serve.')
    .version(opts.version, '-V, --version', 'print the version')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      ...(opts.writeOut ? { writeOut: opts.writeOut } : {}),
      ...(opts.writeErr ? { writeErr: opts.writeErr } : {}),
    });
  program.helpCommand(true);
  for (const spec of commands) addSpec(program, spec, opts.ctx);
  return program;
}
