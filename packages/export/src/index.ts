// Public entry of @hokusai/export: the transformation network as an ONNX model (opset 17) for onnxruntime and other
// runtimes, written by our own protobuf encoder (no onnx dependency).
export {
  exportOnnx,
  buildOnnxModel,
  ONNX_INPUT,
  ONNX_OUTPUT,
  ONNX_OPSET,
  ONNX_MIN_SIDE,
  type OnnxExportOptions,
} from './onnx-export.ts';
