// Public entry of @hokusai/node.
export {};
