// Placeholder: the `export` command module (filled in by its owner). Exports the command specs it defines.
import type { CommandSpec } from '../command.ts';

export const commands: CommandSpec[] = [];
