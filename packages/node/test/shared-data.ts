// Test helpers for data and tools a test needs, and the one skip policy: a test whose shared data ($HOKUSAI_SHARED,
// default ../shared: @hokusai/node's sharedDataDir) or tool is absent is skipped with the reason printed and in its
// name; under CI (CI=true, as .ci/run sets) an absent requirement is a failing test instead, since CI promises to
// run everything. Usage: `describe.runIf(needs('ONNX export', sharedData('reference-models/engstrom-wave')))(…)`.
import { existsSync } from 'node:fs';
import { it } from 'vitest';
import { sharedDataDir, sharedPath, SHARED_DATA_ENV } from '../src/shared-data.ts';

/** Something a test needs: `missing` says why it is absent, null when it is there. */
export interface Requirement {
  what: string;
  missing: string | null;
}

/** The shared data folder (absolute, no trailing slash). */
export const SHARED = sharedDataDir();

/** An absolute path inside the shared data folder. */
export function shared(relative: string): string {
  return sharedPath(relative);
}

/** Files or folders inside the shared data folder. */
export function sharedData(...relative: string[]): Requirement {
  const absent = relative.filter((r) => !existsSync(shared(r)));
  return {
    what: `shared data ${relative.join(', ')}`,
    missing: absent.length === 0 ? null : `not found in ${SHARED} (set ${SHARED_DATA_ENV} to the shared data folder): ${absent.join(', ')}`,
  };
}

/** A requirement the test probed itself (a tool, a GPU adapter): `missing` null when present. */
export function requirement(what: string, missing: string | null): Requirement {
  return { what, missing };
}

/** True when CI promises to run everything (CI=true or CI=1). */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === 'true' || env.CI === '1';
}

/** What to do about these requirements: run, or not (with the reason), and whether that is a failure (CI). */
export function verdict(requirements: Requirement[], env: NodeJS.ProcessEnv = process.env): { run: true } | { run: false; reason: string; fail: boolean } {
  const absent = requirements.filter((r) => r.missing !== null);
  if (absent.length === 0) return { run: true };
  return { run: false, reason: absent.map((r) => `${r.what}: ${r.missing}`).join('; '), fail: inCi(env) };
}

/**
 * True when every requirement is there. Otherwise prints why and registers, in the current suite, a skipped test
 * named by the reason (a failing one under CI), and returns false: pass it to `describe.runIf` / `it.runIf`.
 */
export function needs(title: string, ...requirements: Requirement[]): boolean {
  const v = verdict(requirements);
  if (v.run) return true;
  if (v.fail) {
    it(`${title} — REQUIRED under CI but missing: ${v.reason}`, () => {
      throw new Error(`CI promises "${title}", but ${v.reason}`);
    });
  } else {
    console.warn(`[${title}] SKIPPED: ${v.reason}`);
    it.skip(`${title} — SKIPPED: ${v.reason}`, () => {});
  }
  return false;
}
