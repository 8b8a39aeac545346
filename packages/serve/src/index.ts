// Public entry of @hokusai/serve: the REST server, its options schema, the onnxruntime stylizer and the stylise engines.
import type { startServer as Start } from './server.ts';
export type { RunningServer } from './server.ts';

/** Starts the REST server. server.ts (express and the rest) loads on the first call, so the CLI, which imports this
 * package for the ONNX exporter and stylizer at every start, does not pay for it in other commands. */
export async function startServer(...args: Parameters<typeof Start>): ReturnType<typeof Start> {
  return (await import('./server.ts')).startServer(...args);
}
export { ServeOptionsSchema, serveOptionsSchema, resolveServeOptions, envName, type ServeOptions } from './options.ts';
export { buildOpenApi } from './openapi.ts';
export { createOnnxStylizer, loadOnnxRuntime, type OnnxStylizerOptions, type Ort, type PixelStylizer } from './onnx-stylizer.ts';
export {
  ENGINE_CHOICES, engineDeviceFor, gpuEngine, gpuEngineRefusal, onnxEngine, onnxRuntimeFor, tfjsEngine, type EngineChoice, type StylizeEngine,
} from './stylize-engines.ts';
