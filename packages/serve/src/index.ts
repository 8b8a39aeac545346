// Public entry of @hokusai/serve.
export {};
