// Builds the `hokusai` CLI into one ES module, packages/cli/dist/hokusai.mjs, so the command starts without
// transpiling TypeScript (tsx took 3-12 s per start). `npm install`/`npm ci` run it (root `prepare` script);
// `npm run build` runs it by hand; the bin rebuilds by itself when the sources changed (see isBuildFresh).
//
// - One file for both roles: the CLI (packages/cli/src/cli.ts) on the main thread, the server's inference worker
//   (packages/serve/src/inference-worker.ts) in a worker thread; worker-pool.ts starts the bundle itself as the
//   worker when HOKUSAI_BUNDLE_URL is defined, which only this build does.
// - Bundled: our workspaces, pure-JS dependencies (one file parses faster than hundreds) and tfjs-core's ESM
//   files that `@hokusai/model` imports by path (gradients), so no resolve hook is needed. External: tfjs-core's
//   main entry (one shared copy with the tfjs backends), tfjs backends, native or wasm packages, build tools.
// - `import.meta.url` in our sources is rewritten to the source file's own URL (relative to the bundle, so the
//   checkout can move), so paths such as `new URL('../package.json', import.meta.url)` mean what they mean in source.
// - Freshness: the first line records a SHA-256 over every workspace file the bundle was built from (the list is
//   in the line too) and package-lock.json; isBuildFresh recomputes it (~10 ms). The file is written atomically.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, renameSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLE = join(ROOT, 'packages/cli/dist/hokusai.mjs');

const HEADER = '// hokusai-build ';
/** Dependencies that stay outside the bundle (native code, wasm files found next to their JS, tfjs's shared main copy). */
const EXTERNAL = /^(@tensorflow\/(?!tfjs-core\/dist\/)|sharp|onnxruntime-node|webgpu|h5wasm|tsx|esbuild|vite|playwright)/;
/** CommonJS packages our sources import statically, loaded with require (see the plugin). */
const REQUIRED = new Set(['@tensorflow/tfjs-core', 'sharp']);
const ENTRY_NAME = 'hokusai-bundle-entry.mjs';
const ENTRY = `import { isMainThread } from 'node:worker_threads';
if (isMainThread) await import('./packages/cli/src/cli.ts');
else await import('./packages/serve/src/inference-worker.ts');
`;

/**
 * SHA-256 over the given files (paths relative to root, in order) and root's package-lock.json (if any); null if
 * one of the files is gone. `read` supplies contents (the build hashes exactly what esbuild was given).
 */
export function hashInputs(root, inputs, read = (path) => readFileSync(path)) {
  const h = createHash('sha256');
  for (const file of [...inputs, 'package-lock.json']) {
    let bytes;
    try {
      bytes = read(join(root, file));
    } catch {
      if (file !== 'package-lock.json') return null;
      bytes = Buffer.from('(no lock file)'); // an install without one: dependency changes then go unnoticed
    }
    h.update(`${file}\0${bytes.length}\0`);
    h.update(bytes);
  }
  return h.digest('hex');
}

/** The record on a bundle's first line ({ hash, inputs }), or null when the file is missing or not a build. */
export function readBuildRecord(file) {
  let fd;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const buf = Buffer.alloc(64 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const line = buf.subarray(0, n).toString('utf8').split('\n', 1)[0] ?? '';
    if (!line.startsWith(HEADER)) return null;
    const record = JSON.parse(line.slice(HEADER.length));
    return typeof record.hash === 'string' && Array.isArray(record.inputs) ? record : null;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** True when `file` is a build of exactly the current sources (every input file unchanged, none missing). */
export function isBuildFresh(root = ROOT, file = BUNDLE) {
  const record = readBuildRecord(file);
  return record !== null && hashInputs(root, record.inputs) === record.hash;
}

/**
 * Makes sure `file` is a build of the current sources: true when it already is or was just rebuilt; false (after
 * saying why on stderr) when it cannot be built, so the caller runs from source. Never leaves a stale build in use.
 */
export async function ensureBuilt(root = ROOT, file = BUNDLE) {
  if (isBuildFresh(root, file)) return true;
  try {
    await buildCli({ root, outFile: file });
    return true;
  } catch (error) {
    process.stderr.write(`hokusai: could not rebuild ${file} (${error instanceof Error ? error.message : String(error)}); running from source\n`);
    return false;
  }
}

/** esbuild plugin: which imports are bundled, and `import.meta.url` of our sources kept pointing at the source file. */
function hokusaiPlugin(root, outDir, loaded) {
  return {
    name: 'hokusai',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (REQUIRED.has(args.path) && args.namespace === 'file' && args.kind === 'import-statement') {
          return { path: args.path, namespace: 'hokusai-require' };
        }
        if (args.path.startsWith('@tensorflow/tfjs-core/dist/')) {
          // extensionless ESM paths (bundlers accept them, Node does not): resolve as Node's require would
          return { path: createRequire(join(args.resolveDir, 'x.js')).resolve(args.path) };
        }
        return EXTERNAL.test(args.path) ? { external: true } : undefined;
      });
      // `import … from 'x'` of a CommonJS package as `require('x')` (the banner's real require): Node then skips
      // lexing the package for named exports, which costs ~0.1 s for tfjs-core's 1.2 MB main file.
      build.onLoad({ filter: /.*/, namespace: 'hokusai-require' }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(args.path)});`,
        loader: 'js',
        resolveDir: root,
      }));
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
        const rel = relative(outDir, args.path).split(sep).join('/');
        const bytes = readFileSync(args.path);
        loaded.set(args.path, bytes);
        const source = bytes.toString('utf8');
        return { contents: source.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`), loader: 'ts' };
      });
    },
  };
}

/** Builds the bundle; returns its path, size and the number of our source files in it. */
export async function buildCli({ root = ROOT, outFile = BUNDLE } = {}) {
  const esbuild = await import('esbuild');
  const outDir = dirname(outFile);
  /** Our source files as esbuild got them (absolute path → bytes). */
  const loaded = new Map();
  const result = await esbuild.build({
    stdin: { contents: ENTRY, resolveDir: root, sourcefile: ENTRY_NAME, loader: 'js' },
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: outFile,
    write: false,
    metafile: true,
    logLevel: 'silent',
    legalComments: 'none',
    // Smaller to read and parse at each start; names are kept, and the source map (used with HOKUSAI_DEBUG=1) maps
    // stack traces back to the TypeScript.
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    // CommonJS dependencies inside an ES module need a real `require` (dynamic requires of Node built-ins).
    banner: {
      js: "import { createRequire as __hokusaiCreateRequire } from 'node:module';\nconst require = __hokusaiCreateRequire(import.meta.url);\nconst __hokusaiBundleUrl = import.meta.url;",
    },
    define: { HOKUSAI_BUNDLE_URL: '__hokusaiBundleUrl' },
    plugins: [hokusaiPlugin(root, outDir, loaded)],
  });
  const inputs = Object.keys(result.metafile.inputs)
    .filter((p) => !p.includes('node_modules/') && p !== ENTRY_NAME && !p.startsWith('hokusai-require:'))
    .map((p) => relative(root, resolve(root, p)).split(sep).join('/'))
    .sort();
  const hash = hashInputs(root, inputs, (path) => loaded.get(path) ?? readFileSync(path));
  if (hash === null) throw new Error('a source file vanished during the build; run it again');
  const code = result.outputFiles.find((f) => f.path === outFile);
  const map = result.outputFiles.find((f) => f.path === `${outFile}.map`);
  if (code === undefined || map === undefined) throw new Error(`esbuild produced no ${outFile} or no source map`);
  // The record goes on a new first line: a leading ';' moves every mapping down one generated line.
  const sourceMap = JSON.parse(map.text);
  sourceMap.mappings = `;${sourceMap.mappings}`;
  mkdirSync(outDir, { recursive: true });
  writeAtomic(map.path, JSON.stringify(sourceMap));
  writeAtomic(outFile, `${HEADER}${JSON.stringify({ hash, inputs })}\n${code.text}`);
  return { file: outFile, bytes: code.contents.length, sources: inputs.length };
}

function writeAtomic(file, text) {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const started = performance.now();
  try {
    const { file, bytes, sources } = await buildCli();
    const ms = Math.round(performance.now() - started);
    console.log(`built ${relative(process.cwd(), file)} (${(bytes / 1e6).toFixed(1)} MB from ${sources} source files) in ${ms} ms`);
  } catch (error) {
    console.error(`build-cli: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
