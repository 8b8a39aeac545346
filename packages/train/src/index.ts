// Public entry of @hokusai/train (the CLI's command modules, for tests and embedding).
export * from './command.ts';
