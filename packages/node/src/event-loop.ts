/**
 * Yielding to Node's event loop from long synchronous tensor loops (training steps, L-BFGS iterations). A step
 * on wasm or cpu runs synchronously and its `await`s resolve as microtasks, so without a real yield signal
 * handlers (SIGINT/SIGTERM), timers, progress redraws and the I/O callbacks of the data prefetcher wait until
 * the loop happens to block: Ctrl-C was seen only several training steps late.
 */

/** Lets timers, signals, I/O callbacks and progress redraws run; resolves on the next macrotask turn. */
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));
