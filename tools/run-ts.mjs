// Runs a TypeScript script from source (tsx) with the same tfjs-core resolve hook as the `hokusai` bin:
// node tools/run-ts.mjs script.ts [args...]
import { register as registerHooks } from 'node:module';
import { pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

await import('@tensorflow/tfjs-core');
register();
registerHooks('../packages/cli/bin/resolve-hooks.mjs', import.meta.url);
const script = process.argv[2];
if (!script) throw new Error('usage: node tools/run-ts.mjs script.ts [args...]');
process.argv.splice(2, 1);
await import(pathToFileURL(script).href);
