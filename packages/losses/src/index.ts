// Public entry of @hokusai/losses.
export {};
