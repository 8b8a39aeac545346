// The README's quick examples run as written (issue 19). Every fenced `sh` block right after a `<!-- runnable -->`
// line is extracted; its `npx hokusai …` and `curl …` commands (with `\` continuations) run through bash (pipefail)
// from a temporary folder holding links to checkpoints/, examples/, node_modules/ and package.json, so outputs
// (`out/…`) land there. The block's `npx hokusai serve …` line is started first, on a free port and on 127.0.0.1
// (`--port 0 --host 127.0.0.1`), and the `curl` lines are sent to it; `hokusai stylize` lines get `--max-size 128` to
// stay fast. Each command must exit 0, and every file it writes must be what it claims: images decode at the size
// expected from their input (and stylize's --max-size), .onnx files run in onnxruntime, .json files parse.
// HOKUSAI_README=<file> runs another markdown file's examples (used to check that a broken example fails).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname, join, relative, resolve } from 'node:path';
import sharp from 'sharp';
import * as ort from 'onnxruntime-node';

const ROOT = resolve(import.meta.dirname, '../../..');
const README = process.env.HOKUSAI_README ?? join(ROOT, 'README.md');
const LINKED = ['checkpoints', 'examples', 'node_modules', 'package.json'];
const STYLIZE_MAX_SIZE = 128;
const MARKER = '<!-- runnable -->';
const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.webp']);

interface Example {
  /** 1-based line of the README where the command starts. */
  line: number;
  text: string;
}

/** The `npx hokusai` and `curl` commands of the fenced sh blocks that follow a runnable marker. */
export function runnableExamples(markdown: string): Example[] {
  const lines = markdown.split('\n');
  const found: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]?.trim() !== MARKER) continue;
    if (!/^```(sh|bash)\s*$/.test(lines[i + 1] ?? '')) {
      throw new Error(`line ${i + 1}: ${MARKER} must be followed by a \`\`\`sh block, got ${JSON.stringify(lines[i + 1])}`);
    }
    for (let j = i + 2; j < lines.length && !(lines[j] ?? '').startsWith('```'); j++) {
      const start = j;
      let text = lines[j] ?? '';
      while (text.endsWith('\\') && j + 1 < lines.length) text = `${text.slice(0, -1)}${lines[++j] ?? ''}`;
      if (/^(npx hokusai|curl)\s/.test(text.trim())) found.push({ line: start + 1, text: text.trim() });
    }
  }
  return found;
}

/** Shell words up to an unquoted `#` comment or `|` (quotes removed; enough for the README's commands). */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) throw new Error(`unterminated ${c} in ${text}`);
      word = (word ?? '') + text.slice(i + 1, end);
      i = end;
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else if ((c === '#' && word === null) || c === '|') {
      break;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

/** The value of the first of `names` in `words` (`--name value`). */
function option(words: string[], ...names: string[]): string | undefined {
  const i = words.findIndex((w) => names.includes(w));
  return i < 0 ? undefined : words[i + 1];
}

/** Replaces the value of `--name` (appending `--name value` when absent) in a command line. */
function withOption(text: string, name: string, value: string): string {
  const pattern = new RegExp(`(${name})(\\s+|=)\\S+`);
  if (pattern.test(text)) return text.replace(pattern, `$1$2${value}`);
  const comment = /\s#/.exec(text);
  return comment === null ? `${text} ${name} ${value}` : `${text.slice(0, comment.index).trimEnd()} ${name} ${value}${text.slice(comment.index)}`;
}

/** Positional arguments of a `hokusai stylize` command (the inputs). */
function stylizeInputs(words: string[]): string[] {
  const flags = new Set(['--preserve-colors', '--no-preserve-colors', '--help', '-h']);
  const inputs: string[] = [];
  for (let i = 3; i < words.length; i++) {
    const w = words[i] as string;
    if (!w.startsWith('-')) inputs.push(w);
    else if (!flags.has(w) && !w.includes('=')) i++;
  }
  return inputs;
}

/** Files under `dir` (relative paths), not following links (the linked checkpoints/, node_modules/…). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)).map((f) => join(e.name, f)) : e.isFile() ? [e.name] : []))
    .sort();
}

interface Run {
  child: ChildProcess;
  output: () => string;
  stdout: () => string;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];

function bash(text: string, cwd: string): Run {
  // The README's defaults, not the developer's: no HOKUSAI_* settings (HOKUSAI_PORT, HOKUSAI_MAX_SIZE…) or PORT.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HOKUSAI_') && k !== 'PORT'));
  // A process group of its own, so that stopping it stops npx's children too.
  const child = spawn('bash', ['-o', 'pipefail', '-c', text], { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
  children.push(child);
  let output = '';
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => ((output += d.toString()), (stdout += d.toString())));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  return { child, output: () => output, stdout: () => stdout, exited };
}

function stop(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  }
}

async function within<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what()}`)), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Expected size of an image made from `input` with its long edge limited to `maxSize`. */
async function expectedSize(input: string, maxSize: number | undefined): Promise<{ width: number; height: number }> {
  const { width = 0, height = 0 } = await sharp(input).metadata();
  const scale = maxSize === undefined ? 1 : Math.min(1, maxSize / Math.max(width, height));
  return { width: Math.round(width * scale), height: Math.round(height * scale) };
}

/** The input image each output of a command was made from (undefined: not an image made from an input). */
function inputFor(words: string[], output: string, cwd: string): string | undefined {
  if (words[0] === 'curl') return option(words, '--data-binary')?.replace(/^@/, '');
  if (words[2] !== 'stylize') return undefined;
  const inputs = stylizeInputs(words);
  if (inputs.length === 1 && statSync(join(cwd, inputs[0] as string)).isFile()) return inputs[0];
  // folder inputs keep their layout: match by path without extension
  const stem = (p: string) => p.slice(0, p.length - extname(p).length);
  const out = option(words, '--out', '-o') as string;
  for (const input of inputs) {
    const inside = statSync(join(cwd, input)).isDirectory();
    const candidates = inside ? filesUnder(join(cwd, input)).map((f) => join(input, f)) : [input];
    const match = candidates.find((c) => stem(relative(out, output)) === stem(inside ? relative(input, c) : basename(c)));
    if (match !== undefined) return match;
  }
  return undefined;
}

async function checkImage(words: string[], file: string, cwd: string): Promise<void> {
  const meta = await sharp(join(cwd, file))
    .metadata()
    .catch((e: unknown) => {
      const head = readFileSync(join(cwd, file)).subarray(0, 200).toString('utf8');
      throw new Error(`${file} is not an image (${(e as Error).message}); it starts with ${JSON.stringify(head)}`);
    });
  const ext = extname(file).toLowerCase();
  expect(meta.format, file).toBe(ext === '.jpg' || ext === '.jpeg' ? 'jpeg' : ext.slice(1));
  const input = inputFor(words, file, cwd);
  expect(input, `${file}: no input found for it`).toBeDefined();
  // The server runs the network at ?maxSize= but answers at the input's size; the CLI writes at --max-size.
  const maxSize = words[0] === 'curl' ? undefined : Number(option(words, '--max-size'));
  const want = await expectedSize(join(cwd, input as string), maxSize);
  expect(Math.abs((meta.width ?? 0) - want.width), `${file} width ${meta.width}, expected ${want.width}`).toBeLessThanOrEqual(1);
  expect(Math.abs((meta.height ?? 0) - want.height), `${file} height ${meta.height}, expected ${want.height}`).toBeLessThanOrEqual(1);
}

async function checkOutput(words: string[], file: string, cwd: string): Promise<void> {
  const ext = extname(file).toLowerCase();
  if (IMAGE_EXT.has(ext)) return checkImage(words, file, cwd);
  const bytes = readFileSync(join(cwd, file));
  expect(bytes.length, `${file} is empty`).toBeGreaterThan(0);
  if (ext === '.json') JSON.parse(bytes.toString('utf8'));
  if (ext === '.onnx') {
    const session = await ort.InferenceSession.create(bytes);
    const input = session.inputNames[0] as string;
    const r = await session.run({ [input]: new ort.Tensor('float32', new Float32Array(32 * 24 * 3).fill(120), [1, 32, 24, 3]) });
    expect(Object.values(r)[0]?.dims, file).toEqual([1, 32, 24, 3]);
    await session.release();
  }
}

describe('README examples', () => {
  it('extracts the commands of runnable blocks only, joining continuations', () => {
    const md = [
      '```sh',
      'npx hokusai not-marked',
      '```',
      MARKER,
      '```sh',
      'npm start                      # skipped: not npx hokusai or curl',
      "curl -fsS -X POST 'http://x/y?a=1&b=2' \\",
      '  -o out/a.jpg',
      '# a comment',
      'npx hokusai stylize -c c in.jpg --out o.png   # note',
      '```',
    ].join('\n');
    expect(runnableExamples(md)).toEqual([
      { line: 7, text: "curl -fsS -X POST 'http://x/y?a=1&b=2'   -o out/a.jpg" },
      { line: 10, text: 'npx hokusai stylize -c c in.jpg --out o.png   # note' },
    ]);
    expect(shellWords("curl -fsS 'http://x/y?a=1&b=2' -o out/a.jpg | head # c")).toEqual(['curl', '-fsS', 'http://x/y?a=1&b=2', '-o', 'out/a.jpg']);
    expect(() => runnableExamples(`${MARKER}\n\`\`\`js\nx\n\`\`\``)).toThrow(/must be followed by a ```sh block/);
    expect(withOption('npx hokusai stylize a --max-size 1024 -o b', '--max-size', '128')).toBe('npx hokusai stylize a --max-size 128 -o b');
    expect(withOption('npx hokusai stylize a -o b   # c', '--max-size', '128')).toBe('npx hokusai stylize a -o b --max-size 128 # c');
  });

  describe('run as written', () => {
    const examples = runnableExamples(readFileSync(README, 'utf8'));
    let cwd: string;
    let server: Run | undefined;
    let url = '';

    beforeAll(async () => {
      cwd = mkdtempSync(join(tmpdir(), 'hokusai-readme-'));
      for (const name of LINKED) symlinkSync(join(ROOT, name), join(cwd, name));
      const serve = examples.filter((e) => /^npx hokusai serve\s/.test(e.text));
      expect(serve.length, 'runnable serve commands').toBeLessThanOrEqual(1);
      if (serve[0] === undefined) return;
      const text = withOption(withOption(serve[0].text, '--port', '0'), '--host', '127.0.0.1');
      const started = bash(`exec ${text}`, cwd);
      server = started;
      const what = () => `README line ${serve[0]?.line}: ${text}\n${started.output()}`;
      const ready = async () => {
        while (!/ready: \d+ style/.test(started.output()) && started.child.exitCode === null) await new Promise((r) => setTimeout(r, 200));
      };
      await within(ready(), 240_000, what);
      url = /listening on (http:\/\/\S+)/.exec(started.output())?.[1] ?? '';
      expect(url, what()).not.toBe('');
    }, 300_000);

    afterAll(async () => {
      if (server !== undefined) {
        stop(server.child, 'SIGTERM');
        await within(server.exited, 30_000, () => 'serve did not stop on SIGTERM').catch(() => stop(server!.child, 'SIGKILL'));
      }
      for (const c of children) stop(c, 'SIGKILL');
      if (cwd !== undefined) rmSync(cwd, { recursive: true, force: true });
    });

    it('the README has runnable stylize, serve, curl and export examples', () => {
      for (const kind of [/^npx hokusai stylize /, /^npx hokusai serve /, /^curl /, /^npx hokusai export /]) {
        expect(examples.some((e) => kind.test(e.text)), `a runnable example matching ${kind}`).toBe(true);
      }
    });

    for (const example of examples.filter((e) => !/^npx hokusai serve\s/.test(e.text))) {
      it(`line ${example.line}: ${example.text.slice(0, 90)}`, async () => {
        let text = example.text;
        if (/^npx hokusai stylize\s/.test(text)) text = withOption(text, '--max-size', String(STYLIZE_MAX_SIZE));
        if (text.startsWith('curl')) {
          expect(url, 'curl examples need a runnable `npx hokusai serve` example').not.toBe('');
          text = text.replaceAll('http://127.0.0.1:8080', url);
        }
        const before = new Set(filesUnder(cwd));
        const run = bash(text, cwd);
        const code = await within(run.exited, 240_000, () => `${text}\n${run.output()}`);
        expect(code, `README line ${example.line} exited ${code}: ${text}\n${run.output()}`).toBe(0);
        const words = shellWords(text);
        const written = filesUnder(cwd).filter((f) => !before.has(f) && !f.endsWith('.tmp'));
        for (const file of written) await checkOutput(words, file, cwd);
        const target = option(words, '--out', '-o');
        if (target !== undefined) expect(written.length, `README line ${example.line} wrote nothing to ${target}`).toBeGreaterThan(0);
        else if (words[0] === 'curl') expect(run.stdout().length, `README line ${example.line} printed nothing`).toBeGreaterThan(0);
      }, 300_000);
    }
  });
});
