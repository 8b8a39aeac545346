#!/usr/bin/env node
// The `hokusai` command: runs the TypeScript CLI (src/cli.ts) from source through tsx.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
