/**
 * The command contract of the `hokusai` CLI: every command is one zod schema (its options, with defaults and
 * descriptions) plus a `run` function. The CLI (cli.ts) turns the schema into commander options, so `--help`
 * shows every default, and resolves the options once at the boundary: `run` receives parsed, validated values.
 * The REST server uses the same style of schema for its endpoints (see packages/serve).
 */
import { z } from 'zod';
import { InvalidArgumentError } from '@hokusai/errors';

export interface Positional {
  /** Schema key the positional fills. */
  key: string;
  /** Name shown in usage, e.g. `input...`. */
  name: string;
  variadic?: boolean;
  required?: boolean;
}

export interface CommandContext {
  /** Progress and information lines (stderr), never the command's data output. */
  log: (line: string) => void;
  /** Data output (stdout), e.g. `--json` results. */
  out: (text: string) => void;
  /** Aborted on SIGINT/SIGTERM: long-running commands finish their step and stop cleanly. */
  signal: AbortSignal;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface CommandSpec<S extends z.ZodObject<any> = z.ZodObject<any>> {
  /** Space-separated path, e.g. `stylize` or `weights fetch`. */
  name: string;
  summary: string;
  schema: S;
  positionals?: Positional[];
  /** Short flag aliases: option key -> single letter. */
  aliases?: Record<string, string>;
  /** Options that also accept a JSON config file (`--config run.json`), merged under the command line. */
  configFile?: boolean;
  /**
   * `given`: the option keys the user set (command line or `--config` file), so a command can tell an explicit
   * value that equals the default from an unset one (presets and resumed runs must not override the former).
   */
  run: (options: z.infer<S>, ctx: CommandContext, given?: ReadonlySet<string>) => Promise<void>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function defineCommand<S extends z.ZodObject<any>>(spec: CommandSpec<S>): CommandSpec<S> {
  return spec;
}

/** An option key as its command-line name: `styleWeight` -> `style-weight`. */
export function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** A command-line name as its option key: `style-weight` -> `styleWeight` (camelCase passes through). */
export function camel(key: string): string {
  return key.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** True when zod's issue is about a top-level option that was not given at all (`raw[key]` undefined). */
function isMissing(issue: z.core.$ZodIssue, raw: unknown): boolean {
  const key = issue.path[0];
  if (issue.code !== 'invalid_type' || issue.path.length !== 1 || typeof key !== 'string') return false;
  return raw === null || typeof raw !== 'object' || (raw as Record<string, unknown>)[key] === undefined;
}

/**
 * Parse options with the command's schema; a failure lists every bad option with what was expected and what
 * arrived, and names a required option that is missing as such (`--checkpoint is required`).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function resolveOptions<S extends z.ZodObject<any>>(schema: S, raw: unknown, what = 'option'): z.infer<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const key = issue.path.join('.');
    const flag = key ? `--${kebab(key)}` : what;
    if (isMissing(issue, raw)) {
      const field = (schema.shape as Record<string, z.ZodType | undefined>)[key];
      return `${flag} is required${field?.description ? `: ${field.description}` : ''}`;
    }
    return `${flag}: ${issue.message}`;
  });
  const missingOnly = result.error.issues.every((issue) => isMissing(issue, raw));
  const head = missingOnly ? `Missing required ${what}${lines.length > 1 ? 's' : ''}` : `Invalid ${what}s`;
  throw new InvalidArgumentError(lines.length === 1 && missingOnly ? (lines[0] as string) : `${head}:\n  ${lines.join('\n  ')}`);
}
