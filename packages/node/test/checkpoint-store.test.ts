// Crash safety of checkpoint-store.ts: the states a kill can leave at each step of saveCheckpointDir (partial temp
// folder; old checkpoint moved aside but new one not yet renamed in; old one not yet removed) must load as either
// the old or the new checkpoint, and leftovers of dead writers are cleaned up; readCheckpointMeta; clear errors
// (a missing checkpoint lists the bundled styles and its sibling checkpoints).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { TransformerNet, defaultCheckpointMeta, serializeCheckpoint, type CheckpointFiles, type NetConfig } from '@hokusai/model';
import { HokusaiError } from '@hokusai/errors';
import {
  bundledCheckpointsDir,
  checkpointNotFoundError,
  listCheckpointDirs,
  loadCheckpointDir,
  readCheckpointMeta,
  recoverCheckpointDir,
  saveCheckpointDir,
} from '../src/index.ts';

const TINY: NetConfig = { arch: 'johnson', channels: [4, 6, 8], residualBlocks: 1 };
/** Above Linux's maximum pid_max (2^22), so never a live process. */
const DEAD_PID = 4_194_304 + 4242;
let root: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'hokusai-store-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function files(seed: number, name: string): CheckpointFiles {
  const net = TransformerNet.create(TINY, seed);
  const f = serializeCheckpoint(net, defaultCheckpointMeta({ name, toolVersion: 'test' }));
  net.dispose();
  return f;
}

async function loadedName(dir: string): Promise<string> {
  const { net, meta } = await loadCheckpointDir(dir);
  net.dispose();
  return meta.name;
}

async function error(p: Promise<unknown>): Promise<HokusaiError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(HokusaiError);
  return e as HokusaiError;
}

/** Writes a checkpoint folder directly (as a writer would have before being killed). */
function writeDir(path: string, f: CheckpointFiles, parts: Array<keyof CheckpointFiles> = ['modelJson', 'weightsBin', 'metaJson']): void {
  mkdirSync(path, { recursive: true });
  if (parts.includes('modelJson')) writeFileSync(join(path, 'model.json'), f.modelJson);
  if (parts.includes('weightsBin')) writeFileSync(join(path, 'weights.bin'), f.weightsBin);
  if (parts.includes('metaJson')) writeFileSync(join(path, 'meta.json'), f.metaJson);
}

describe('checkpoint store crash safety', () => {
  it('killed while writing the temp folder: the old checkpoint loads and the partial temp folder is removed', async () => {
    const dir = join(root, 'a');
    await saveCheckpointDir(dir, files(1, 'old'));
    const tmp = join(root, `.a.tmp-${DEAD_PID}.0badc0de`);
    writeDir(tmp, files(2, 'new'), ['weightsBin']);
    expect(await loadedName(dir)).toBe('old');
    expect(existsSync(tmp)).toBe(false);
    expect(readdirSync(root).filter((n) => n.includes('a'))).toEqual(['a']);
  });

  it('killed between moving the old folder aside and renaming the new one in: the old checkpoint is restored', async () => {
    const dir = join(root, 'b');
    await saveCheckpointDir(dir, files(1, 'old'));
    const old = join(root, `.b.old-${DEAD_PID}.12345678`);
    const tmp = join(root, `.b.tmp-${DEAD_PID}.12345678`);
    renameSync(dir, old);
    writeDir(tmp, files(2, 'new'));
    expect(existsSync(dir)).toBe(false);
    expect((await readCheckpointMeta(dir)).name).toBe('old');
    expect(await loadedName(dir)).toBe('old');
    expect(readdirSync(root).filter((n) => n.includes('b'))).toEqual(['b']);
  });

  it('killed before removing the old folder: the new checkpoint loads and the old folder is removed', async () => {
    const dir = join(root, 'c');
    await saveCheckpointDir(dir, files(2, 'new'));
    const old = join(root, `.c.old-${DEAD_PID}.aaaaaaaa`);
    writeDir(old, files(1, 'old'));
    expect(await loadedName(dir)).toBe('new');
    expect(existsSync(old)).toBe(false);
  });

  it("never touches a live writer's folders", async () => {
    const dir = join(root, 'd');
    await saveCheckpointDir(dir, files(1, 'current'));
    const live = join(root, `.d.tmp-${process.pid}.bbbbbbbb`);
    writeDir(live, files(2, 'in-progress'), ['modelJson']);
    expect(await loadedName(dir)).toBe('current');
    expect(existsSync(live)).toBe(true);
    rmSync(live, { recursive: true });
  });

  it('a save over an existing checkpoint leaves only the new one; a failed save leaves the old one intact', async () => {
    const dir = join(root, 'e');
    await saveCheckpointDir(dir, files(1, 'first'));
    await saveCheckpointDir(dir, files(2, 'second'), { 'thumbnail.jpg': new Uint8Array([1, 2, 3]) });
    expect(readdirSync(dir).sort()).toEqual(['meta.json', 'model.json', 'thumbnail.jpg', 'weights.bin']);
    expect(await loadedName(dir)).toBe('second');
    expect(readdirSync(root).filter((n) => n.includes('e'))).toEqual(['e']);
    // the target path is a file: nothing may be replaced or left behind
    const file = join(root, 'f');
    writeFileSync(file, 'not a folder');
    const e = await error(saveCheckpointDir(file, files(3, 'x')));
    expect(e.code).toBe('IO');
    expect(e.message).toContain('not a folder');
    expect(readdirSync(root).filter((n) => n.startsWith('.f.'))).toEqual([]);
    for (const name of ['.hidden', '../evil', 'sub/x', 'meta.json', 'weights.bin']) {
      expect((await error(saveCheckpointDir(dir, files(3, 'x'), { [name]: 'x' }))).code).toBe('INVALID_ARGUMENT');
    }
    expect(readdirSync(root).filter((n) => n.startsWith('.e.') || n === 'evil')).toEqual([]);
    expect(await loadedName(dir)).toBe('second');
  });

  it('read-only leftovers: recoverCheckpointDir returns the folder to read', async () => {
    const dir = join(root, 'g');
    expect(await recoverCheckpointDir(dir)).toBe(dir);
    const old = join(root, `.g.old-${DEAD_PID}.cccccccc`);
    writeDir(old, files(1, 'only-old'));
    expect(await recoverCheckpointDir(dir)).toBe(dir); // renamed back
    expect(existsSync(old)).toBe(false);
    expect(await loadedName(dir)).toBe('only-old');
  });

  it('names the folder and the file in errors', async () => {
    const dir = join(root, 'h');
    await saveCheckpointDir(dir, files(1, 'h'));
    writeFileSync(join(dir, 'meta.json'), '{ not json');
    const bad = await error(readCheckpointMeta(dir));
    expect(bad.code).toBe('CHECKPOINT_INVALID');
    expect(bad.message).toContain(dir);
    expect(bad.message).toContain('meta.json: expected valid JSON');
    const truncatedDir = join(root, 'h3');
    await saveCheckpointDir(truncatedDir, files(1, 'h3'));
    const bin = readFileSync(join(truncatedDir, 'weights.bin'));
    writeFileSync(join(truncatedDir, 'weights.bin'), bin.subarray(0, bin.length - 4));
    const truncated = await error(loadCheckpointDir(truncatedDir));
    expect(truncated.code).toBe('CHECKPOINT_INVALID');
    expect(truncated.message).toContain(truncatedDir);
    expect(truncated.message).toMatch(/weights\.bin: expected \d+ bytes/);
    const copy = join(root, 'h2');
    cpSync(dir, copy, { recursive: true });
    rmSync(join(copy, 'model.json'));
    const missing = await error(loadCheckpointDir(copy));
    expect(missing.message).toMatch(/expected model\.json .* it is missing/);
    expect((await error(readCheckpointMeta(join(root, 'none')))).code).toBe('NOT_FOUND');
  });

  it('a missing checkpoint is a NOT_FOUND listing the bundled styles', async () => {
    const bundledDir = bundledCheckpointsDir();
    expect(bundledDir).toBe(join(import.meta.dirname, '..', '..', '..', 'checkpoints'));
    const bundled = readdirSync(bundledDir as string).filter((n) => existsSync(join(bundledDir as string, n, 'model.json')));
    expect(bundled.length).toBeGreaterThan(0);
    expect(await listCheckpointDirs(bundledDir as string)).toEqual(bundled.sort());
    const wave = join(bundledDir as string, 'no-such-style');
    for (const e of [await error(loadCheckpointDir(wave)), await error(readCheckpointMeta(wave))]) {
      expect(e.code).toBe('NOT_FOUND');
      expect(e.message).toContain(`no checkpoint at '${wave}' (expected a folder with model.json, weights.bin, meta.json)`);
      expect(e.message).toContain(`bundled styles in checkpoints/: ${bundled.join(', ')}`);
      expect(e.message).not.toContain('checkpoints in'); // the parent is the bundled folder: listed once
    }
  });

  it('a missing checkpoint next to other checkpoints lists those too, not hidden leftovers or other folders', async () => {
    const runs = join(root, 'runs');
    await saveCheckpointDir(join(runs, 'run-b'), files(1, 'run-b'));
    await saveCheckpointDir(join(runs, 'run-a'), files(2, 'run-a'));
    mkdirSync(join(runs, 'notes'));
    mkdirSync(join(runs, `.run-a.tmp-${DEAD_PID}.ab12`));
    writeFileSync(join(runs, `.run-a.tmp-${DEAD_PID}.ab12`, 'model.json'), '{}');
    const e = await error(loadCheckpointDir(join(runs, 'run-c')));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toContain(`checkpoints in ${runs}/: run-a, run-b`);
    expect(e.message).toContain('bundled styles in checkpoints/: ');
    expect(e.details).toMatchObject({ siblings: ['run-a', 'run-b'] });
    const lonely = await checkpointNotFoundError(join(root, 'empty', 'x'));
    expect(lonely.message).not.toContain('checkpoints in');
    // a link to the bundled folder (e.g. a working copy elsewhere) lists the bundled styles once
    symlinkSync(bundledCheckpointsDir() as string, join(root, 'linked'));
    const linked = await checkpointNotFoundError(join(root, 'linked', 'wave'));
    expect(linked.message).toContain('bundled styles in checkpoints/: ');
    expect(linked.message).not.toContain('checkpoints in');
  });
});

describe('checkpoint store under SIGKILL', () => {
  it('a writer killed at a random moment leaves a loadable old or new checkpoint', async () => {
    const { spawn } = await import('node:child_process');
    const dir = join(root, 'killed');
    const srcA = join(root, 'src-a');
    const srcB = join(root, 'src-b');
    writeDir(srcA, files(1, 'A'));
    writeDir(srcB, files(2, 'B'));
    const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures', 'save-loop.mjs'), dir, srcA, srcB], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let saves = 0;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((res) => child.on('exit', () => res()));
    // One kill per run, after 20 saves plus a random 0–4 ms, so successive runs hit different steps of a save.
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`no saves within 60 s: ${stderr}`)), 60_000);
      child.stdout.on('data', (d: Buffer) => {
        saves += d.toString().split('\n').filter(Boolean).length;
        if (saves >= 20) {
          clearTimeout(timer);
          res();
        }
      });
    });
    setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 5));
    await exited;
    expect(['A', 'B']).toContain(await loadedName(dir));
    expect(readdirSync(root).filter((n) => n.startsWith('.killed.'))).toEqual([]);
  });
});
