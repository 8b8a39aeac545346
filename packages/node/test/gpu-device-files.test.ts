// gpuDeviceFiles: which device files tell `auto` that a hardware GPU may exist (else Dawn is not loaded at all).
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gpuDeviceFiles } from '../src/backend.ts';

let dev: string | undefined;
afterEach(() => {
  if (dev !== undefined) rmSync(dev, { recursive: true, force: true });
  dev = undefined;
});

function fakeDev(files: string[]): string {
  dev = mkdtempSync(join(tmpdir(), 'hokusai-dev-'));
  for (const f of files) {
    mkdirSync(join(dev, f, '..'), { recursive: true });
    writeFileSync(join(dev, f), '');
  }
  return dev;
}

describe('gpuDeviceFiles', () => {
  it('finds render nodes, NVIDIA devices and WSL 2 dxg, nothing else', () => {
    const d = fakeDev(['dri/renderD128', 'dri/card0', 'nvidia0', 'nvidiactl', 'nvidia-uvm', 'dxg', 'null', 'tty0']);
    expect(gpuDeviceFiles('linux', d)).toEqual([join(d, 'dri/renderD128'), join(d, 'dxg'), join(d, 'nvidia0')]);
  });

  it('is empty on a Linux machine without GPU devices (and without /dev/dri at all)', () => {
    expect(gpuDeviceFiles('linux', fakeDev(['null', 'tty0', 'dri/card0']))).toEqual([]);
    expect(gpuDeviceFiles('linux', fakeDev(['null']))).toEqual([]);
  });

  it('cannot tell on other systems', () => {
    expect(gpuDeviceFiles('darwin', fakeDev(['nvidia0']))).toBeUndefined();
    expect(gpuDeviceFiles('win32')).toBeUndefined();
  });
});
