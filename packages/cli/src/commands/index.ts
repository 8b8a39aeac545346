// Every command module of the CLI, in the order `hokusai --help` lists them.
import type { CommandSpec } from '../command.ts';
import { commands as stylize } from './stylize.ts';
import { commands as train } from './train.ts';
import { commands as optimize } from './optimize.ts';
import { commands as evalCommands } from './eval.ts';
import { commands as flicker } from './flicker.ts';
import { commands as serve } from './serve.ts';
import { commands as weights } from './weights.ts';
import { commands as dataset } from './dataset.ts';
import { commands as importCommands } from './import.ts';
import { commands as exportCommands } from './export.ts';

export const allCommands: CommandSpec[] = [
  ...stylize,
  ...train,
  ...optimize,
  ...evalCommands,
  ...flicker,
  ...serve,
  ...weights,
  ...dataset,
  ...importCommands,
  ...exportCommands,
];
