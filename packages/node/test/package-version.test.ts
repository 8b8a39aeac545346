// packageVersion: the version field of a package.json, '0.0.0' for a missing file or one without a version string.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { packageVersion } from '../src/index.ts';

describe('packageVersion', () => {
  it('reads the version, and falls back to 0.0.0 for a missing file, bad JSON or a non-string version', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hokusai-version-'));
    try {
      const at = (name: string): URL => pathToFileURL(join(dir, name));
      await writeFile(join(dir, 'a.json'), JSON.stringify({ name: 'x', version: '1.2.3' }));
      await writeFile(join(dir, 'b.json'), '{ not json');
      await writeFile(join(dir, 'c.json'), JSON.stringify({ version: 4 }));
      expect(packageVersion(at('a.json'))).toBe('1.2.3');
      expect(packageVersion(at('missing.json'))).toBe('0.0.0');
      expect(packageVersion(at('b.json'))).toBe('0.0.0');
      expect(packageVersion(at('c.json'))).toBe('0.0.0');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
