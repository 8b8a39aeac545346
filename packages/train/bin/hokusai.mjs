#!/usr/bin/env node
// The `hokusai` command: runs the TypeScript CLI (src/cli.ts) from source through tsx.
import { register as registerHooks } from 'node:module';
import { register } from 'tsx/esm/api';

register();
// After tsx, so it runs first and can retry what tsx rejects (see resolve-hooks.mjs).
registerHooks('./resolve-hooks.mjs', import.meta.url);
await import('../src/cli.ts');
