// Public entry of @hokusai/serve: the REST server, its options schema, the ONNX exporter and onnxruntime stylizer.
export { startServer, type RunningServer } from './server.ts';
export { ServeOptionsSchema, serveOptionsSchema, resolveServeOptions, envName, type ServeOptions } from './options.ts';
export { exportOnnx, buildOnnxModel, ONNX_INPUT, ONNX_OUTPUT, ONNX_OPSET, type OnnxExportOptions } from './onnx-export.ts';
export { buildOpenApi } from './openapi.ts';
export { createOnnxStylizer, loadOnnxRuntime, type OnnxStylizerOptions, type Ort, type PixelStylizer } from './onnx-stylizer.ts';
