// The CI entry point (.ci/run, helpers in .ci/lib.sh) under bash's `set -euo pipefail`: the dpkg helper on a package
// dpkg has never seen, and the whole script on a "fresh machine" made of stubs (dpkg knows nothing, sudo/apt-get/npm
// only record their arguments), so nothing is installed or changed on the machine running the test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const hasDpkg = spawnSync('dpkg-query', ['--version']).status === 0;

function bash(script: string, env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync('bash', ['-c', script], { cwd: ROOT, env, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const STRICT = 'set -euo pipefail; . .ci/lib.sh;';

describe('.ci/lib.sh installed_version', () => {
  it('prints nothing and succeeds for a package dpkg has never heard of', () => {
    const r = bash(`${STRICT} v="$(installed_version hokusai-no-such-package-xyz)"; echo "after:[$v]"`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('after:[]\n');
  });

  it.runIf(hasDpkg)('prints the version of an installed package', () => {
    const r = bash(`${STRICT} installed_version coreutils`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\d[\w.:+~-]*\n$/);
  });
});

describe('.ci/run on a fresh machine (stubbed system commands)', () => {
  let stubs: string;
  const calls = () => readFileSync(join(stubs, 'calls.log'), 'utf8');

  beforeAll(() => {
    stubs = mkdtempSync(join(tmpdir(), 'hokusai-ci-'));
    const stub = (name: string, body: string) => {
      writeFileSync(join(stubs, name), `#!/usr/bin/env bash\n${body}\n`);
      chmodSync(join(stubs, name), 0o755);
    };
    const record = `echo "$(basename "$0") $*" >> "${stubs}/calls.log"`;
    stub('id', 'echo 1000'); // not root: every system change goes through the sudo stub
    stub('sudo', `${record}; [ -t 0 ] || cat > /dev/null`); // records and swallows `tee`'s input
    stub('apt-get', record);
    stub('dpkg-query', 'exit 1'); // a fresh machine: dpkg has never heard of any of the packages
    stub('dpkg', `${record}; exit 1`);
    // npm: `npm ci` fails with exit 3 when HOKUSAI_TEST_NPM_FAIL is set, everything else succeeds
    stub('npm', `${record}; [ "$1" = --version ] && echo 11.0.0; [ "$1 \${HOKUSAI_TEST_NPM_FAIL:-}" = "ci 1" ] && exit 3; exit 0`);
  });
  afterAll(() => rmSync(stubs, { recursive: true, force: true }));

  const runCi = (extra: NodeJS.ProcessEnv = {}) => {
    writeFileSync(join(stubs, 'calls.log'), '');
    return bash('bash .ci/run', { ...process.env, ...extra, PATH: `${stubs}:${process.env.PATH ?? ''}` });
  };

  it('installs every missing package, then runs npm ci and npm run ci', () => {
    const r = runCi();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const log = calls();
    expect(log).toMatch(/^sudo .*apt-get install .* mesa-vulkan-drivers$/m);
    expect(log).toMatch(/^sudo .*apt-get install .*--no-install-recommends chromium python3-torch python3-h5py python3-pil python3-numpy zip unzip$/m);
    expect(log).toMatch(/^npm ci --no-audit --no-fund\nnpm run ci$/m);
    expect(r.stderr).not.toContain('FAILED');
  });

  it('says which command failed, where, and with which exit code', () => {
    const r = runCi({ HOKUSAI_TEST_NPM_FAIL: '1' });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/\.ci\/run FAILED \(exit 3\) at \S*run line \d+: npm ci --no-audit --no-fund/);
    expect(calls()).not.toContain('npm run ci');
  });
});
