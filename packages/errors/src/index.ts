// Public entry of @hokusai/errors: the error classes every library throws, with stable codes, and ERROR_TABLE.
export * from './errors.ts';
