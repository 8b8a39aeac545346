/**
 * Where the project's shared data lives (VGG weights, sample photos and paintings, reference models): one setting,
 * `$HOKUSAI_SHARED` (relative paths against the working directory), else `../shared` beside the repository root.
 * Product code reads it only for dev recipes (the paintings of `train --preset`); benches and tests read it
 * through their helpers (packages/node/test/shared-data.ts, bench/bench-util.ts).
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHARED_DATA_ENV = 'HOKUSAI_SHARED';

/** The shared data folder (absolute): $HOKUSAI_SHARED, else `<repository>/../shared`. */
export function sharedDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const set = env[SHARED_DATA_ENV];
  if (set) return resolve(set);
  return resolve(fileURLToPath(new URL('../../../', import.meta.url)), '../shared');
}

/** A path inside the shared data folder, e.g. `sharedPath('images/styles')`. */
export function sharedPath(relative: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(sharedDataDir(env), relative);
}
