// Public entry of @hokusai/model: the transformation networks, checkpoint format, pre/post-processing, errors.
export * from './errors.ts';
