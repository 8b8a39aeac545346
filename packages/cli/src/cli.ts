/**
 * The `hokusai` executable (bin/hokusai.mjs imports this module, which runs at once): builds the program from
 * every command module (cli-program.ts), wires SIGINT/SIGTERM to the commands' abort signal (a second signal
 * exits at once), and turns failures into exit codes: a HokusaiError prints `error [CODE]: message` and exits
 * with its ERROR_TABLE code; commander usage errors exit 2; anything else exits 1. HOKUSAI_DEBUG=1 adds stacks.
 */
// First: under the Node bin tfjs-core loads twice (CJS bundle + ESM gradient files); this gives the ESM copy its
// op handler so gradients work in every command (see the module's header).
import './tfjs-op-handler.ts';
import { CommanderError } from 'commander';
import { HokusaiError } from '@hokusai/errors';
import { allCommands } from './commands/index.ts';
import { buildProgram } from './cli-program.ts';
import type { CommandContext } from './command.ts';
import { TOOL_VERSION } from './command-setup.ts';

/** Writes to a stream and resolves once the data has been handed to the OS (so exiting does not cut it off). */
function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}

function printError(error: unknown): number {
  const debug = process.env.HOKUSAI_DEBUG === '1';
  if (error instanceof HokusaiError) {
    process.stderr.write(`error [${error.code}]: ${error.message}\n`);
    if (debug && error.stack) process.stderr.write(`${error.stack}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`error [INTERNAL]: ${message}\n`);
  if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  else process.stderr.write('(set HOKUSAI_DEBUG=1 for the stack trace)\n');
  return 1;
}

export async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  let signals = 0;
  let firstSignalAt = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    // One Ctrl-C can arrive twice at once: from the terminal and forwarded by a parent (npm start); count it once.
    if (signals === 1 && Date.now() - firstSignalAt < 500) return;
    if (signals === 0) firstSignalAt = Date.now();
    signals += 1;
    if (signals > 1) {
      process.stderr.write(`\n${sig} again: exiting now\n`);
      process.exit(130);
    }
    process.stderr.write(`\n${sig}: stopping after the current step (send it again to exit at once)\n`);
    controller.abort(new HokusaiError('INTERRUPTED', `interrupted by ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const ctx: CommandContext = {
    log: (line) => process.stderr.write(`${line}\n`),
    out: (text) => process.stdout.write(text),
    signal: controller.signal,
  };
  const program = buildProgram(allCommands, { version: TOOL_VERSION, ctx });
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help / --version exit 0; every usage error (unknown option, missing argument, bad choice) exits 2.
      return error.exitCode === 0 ? 0 : 2;
    }
    return printError(error);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const code = await main(process.argv);
await Promise.all([flush(process.stdout), flush(process.stderr)]);
// Exit explicitly: some tfjs backends (webgpu, wasm workers) keep handles open after the work is done.
process.exit(code);
