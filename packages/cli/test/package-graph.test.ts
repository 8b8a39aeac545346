// The house's shape (docs/ARCHITECTURE.md): apps on top, libraries below. Reads every workspace's package.json and
// the `@hokusai/*` imports of its src/, and checks that each import is declared, that no library imports an app, that
// nothing imports another package's files by path, and that the graph has no cycle.
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

interface Workspace {
  name: string;
  dir: string;
  app: boolean;
  declared: Set<string>;
  imported: Map<string, string>; // package -> first file importing it
  reachesIn: string[]; // `../../other/src` style imports
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mjs)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

function workspaces(): Workspace[] {
  const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] };
  return root.workspaces.map((rel) => {
    const dir = join(ROOT, rel);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      name: string;
      private?: boolean;
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    const imported = new Map<string, string>();
    const reachesIn: string[] = [];
    for (const file of sourceFiles(join(dir, 'src'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:from\s+|import\s*\(?\s*)'(@hokusai\/[\w-]+)'/g)) {
        if (!imported.has(m[1]!)) imported.set(m[1]!, relative(ROOT, file));
      }
      for (const m of text.matchAll(/'(\.\.\/(?:\.\.\/)+[\w-]+\/src\/[^']*)'/g)) reachesIn.push(`${relative(ROOT, file)}: ${m[1]}`);
    }
    imported.delete(pkg.name);
    return {
      name: pkg.name,
      dir: rel,
      app: pkg.private === true,
      declared: new Set(Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((d) => d.startsWith('@hokusai/'))),
      imported,
      reachesIn,
    };
  });
}

describe('package graph', () => {
  const all = workspaces();
  const byName = new Map(all.map((w) => [w.name, w]));

  it('finds the packages the architecture names', () => {
    for (const name of ['@hokusai/errors', '@hokusai/model', '@hokusai/losses', '@hokusai/train', '@hokusai/optimize', '@hokusai/cli']) {
      expect(byName.has(name), name).toBe(true);
    }
    expect(byName.get('@hokusai/cli')!.app).toBe(true);
    expect(byName.get('@hokusai/train')!.app).toBe(false);
  });

  it.each(all.map((w) => [w.name, w] as const))('%s declares every workspace it imports', (_name, w) => {
    const undeclared = [...w.imported.keys()].filter((p) => !w.declared.has(p)).map((p) => `${p} (${w.imported.get(p)})`);
    expect(undeclared).toEqual([]);
  });

  it.each(all.filter((w) => !w.app).map((w) => [w.name, w] as const))('library %s imports no app', (_name, w) => {
    const apps = [...w.imported.keys()].filter((p) => byName.get(p)?.app);
    expect(apps).toEqual([]);
  });

  it('no source reaches into another package by relative path', () => {
    expect(all.flatMap((w) => w.reachesIn)).toEqual([]);
  });

  it('has no cycle', () => {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (name: string, path: string[]): void => {
      if (state.get(name) === 'done') return;
      if (state.get(name) === 'open') {
        cycles.push([...path.slice(path.indexOf(name)), name].join(' -> '));
        return;
      }
      state.set(name, 'open');
      for (const dep of byName.get(name)?.imported.keys() ?? []) visit(dep, [...path, name]);
      state.set(name, 'done');
    };
    for (const w of all) visit(w.name, []);
    expect(cycles).toEqual([]);
  });
});
