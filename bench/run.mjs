// `npm run bench`: runs every bench script in turn through tsx with its default arguments (see bench/README.md).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const tsx = path.join(here, '..', 'node_modules', '.bin', 'tsx');
let failed = 0;
for (const script of ['inference.ts', 'train-step.ts', 'kernels.ts']) {
  console.log(`\n=== bench/${script} ===`);
  const r = spawnSync(tsx, [path.join(here, script), ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
