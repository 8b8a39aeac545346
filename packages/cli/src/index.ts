// Public entry of @hokusai/cli (private app): the command contract, for tests and embedding the commands.
export * from './command.ts';
