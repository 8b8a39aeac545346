// The shared-data setting ($HOKUSAI_SHARED, default ../shared beside the repository) and the skip policy's verdict:
// present requirements run, absent ones skip with their reason, and under CI an absent one is a failure.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedDataDir, sharedPath } from '../src/index.ts';
import { requirement, sharedData, verdict } from './shared-data.ts';

const REPO = resolve(import.meta.dirname, '../../..');

describe('shared data folder', () => {
  it('is $HOKUSAI_SHARED when set (relative to the working directory), else ../shared beside the repository', () => {
    expect(sharedDataDir({})).toBe(resolve(REPO, '../shared'));
    expect(sharedDataDir({ HOKUSAI_SHARED: '/data/hokusai' })).toBe('/data/hokusai');
    expect(sharedDataDir({ HOKUSAI_SHARED: 'rel/dir' })).toBe(resolve(process.cwd(), 'rel/dir'));
    expect(sharedPath('images/styles', { HOKUSAI_SHARED: '/d' })).toBe('/d/images/styles');
  });

  it('sharedData names what is absent and how to point at the data', () => {
    const r = sharedData('no/such/file-7f3a.bin');
    expect(r.missing).toMatch(/^not found in .*\(set HOKUSAI_SHARED to the shared data folder\): no\/such\/file-7f3a\.bin$/);
  });
});

describe('skip policy', () => {
  const absent = requirement('python3 with torch', 'python3 not on PATH');
  const present = requirement('sharp', null);

  it('runs when everything is there, in CI or not', () => {
    expect(verdict([present], {})).toEqual({ run: true });
    expect(verdict([present], { CI: 'true' })).toEqual({ run: true });
  });

  it('skips with the reason outside CI, and fails under CI=true or CI=1', () => {
    expect(verdict([present, absent], {})).toEqual({ run: false, reason: 'python3 with torch: python3 not on PATH', fail: false });
    expect(verdict([absent], { CI: 'true' })).toMatchObject({ run: false, fail: true });
    expect(verdict([absent], { CI: '1' })).toMatchObject({ run: false, fail: true });
    expect(verdict([absent], { CI: 'false' })).toMatchObject({ run: false, fail: false });
  });
});
