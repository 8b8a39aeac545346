#!/usr/bin/env node
// The `hokusai` command. Runs the built CLI (packages/cli/dist/hokusai.mjs, tools/build-cli.mjs) when it was built
// from exactly the current sources; when the sources changed since, rebuilds it first (about a second, less than
// one start from source); runs the TypeScript from source through tsx when no build can be made, or with
// HOKUSAI_FROM_SOURCE=1. A stale build never runs.
import { register as registerHooks } from 'node:module';
import { pathToFileURL } from 'node:url';
import { BUNDLE, ensureBuilt } from '../../../tools/build-cli.mjs';

if (process.env.HOKUSAI_FROM_SOURCE !== '1' && (await ensureBuilt())) {
  // stack traces of the bundle mapped back to the TypeScript sources (dist/hokusai.mjs.map), when they are shown
  if (process.env.HOKUSAI_DEBUG === '1') process.setSourceMapsEnabled(true);
  await import(pathToFileURL(BUNDLE).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  // After tsx, so it runs first and can retry what tsx rejects (see resolve-hooks.mjs).
  registerHooks('./resolve-hooks.mjs', import.meta.url);
  await import('../src/cli.ts');
}
