/**
 * A minimal protocol-buffers encoder for the ONNX messages we write (ModelProto, GraphProto, NodeProto,
 * AttributeProto, TensorProto, ValueInfoProto). Field numbers follow onnx/onnx.proto (IR version 8). Only encoding:
 * we never parse ONNX files, so nothing hostile ever reaches this code.
 */

/** Growable byte buffer with the protobuf wire primitives. */
class Writer {
  private chunks: Uint8Array[] = [];
  private length = 0;

  bytes(b: Uint8Array): this {
    this.chunks.push(b);
    this.length += b.length;
    return this;
  }

  varint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    return this.bytes(Uint8Array.from(out));
  }

  tag(field: number, wire: 0 | 1 | 2 | 5): this {
    return this.varint((field << 3) | wire);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

const utf8 = new TextEncoder();

/** A message under construction: each method appends one field. */
export class Message {
  private w = new Writer();

  int(field: number, value: number | bigint): this {
    this.w.tag(field, 0).varint(value);
    return this;
  }

  float(field: number, value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.w.tag(field, 5).bytes(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.w.tag(field, 2).varint(value.length).bytes(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  message(field: number, value: Message): this {
    return this.bytes(field, value.finish());
  }

  /** Packed repeated varints (int64 dims, ints). */
  packedInts(field: number, values: readonly (number | bigint)[]): this {
    const inner = new Writer();
    for (const v of values) inner.varint(v);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return this.w.finish();
  }
}

/** ONNX TensorProto.DataType values we use. */
export const DataType = { FLOAT: 1, INT64: 7, FLOAT16: 10 } as const;

/** ONNX AttributeProto.AttributeType values. */
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

export type AttrValue =
  | { float: number }
  | { int: number }
  | { string: string }
  | { ints: readonly number[] }
  | { floats: readonly number[] }
  | { tensor: TensorSpec };

export interface TensorSpec {
  name: string;
  dims: readonly number[];
  /** float32 or int64 data; stored as raw_data (little-endian). */
  data: Float32Array | BigInt64Array;
}

export interface NodeSpec {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  attrs?: Record<string, AttrValue>;
}

/** One input/output of the graph: element type and shape (numbers fixed, strings symbolic, e.g. 'H'). */
export interface ValueInfoSpec {
  name: string;
  elemType: number;
  shape: readonly (number | string)[];
}

export interface ModelSpec {
  graphName: string;
  nodes: readonly NodeSpec[];
  initializers: readonly TensorSpec[];
  inputs: readonly ValueInfoSpec[];
  outputs: readonly ValueInfoSpec[];
  opset: number;
  irVersion: number;
  producerName: string;
  producerVersion: string;
  docString?: string;
  metadata?: Record<string, string>;
}

export function encodeTensor(t: TensorSpec): Message {
  const m = new Message();
  m.packedInts(1, t.dims);
  m.int(2, t.data instanceof Float32Array ? DataType.FLOAT : DataType.INT64);
  m.string(8, t.name);
  // raw_data is little-endian; all supported hosts (x86, ARM) are little-endian, as tfjs also assumes.
  m.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return m;
}

function encodeAttr(name: string, v: AttrValue): Message {
  const m = new Message().string(1, name);
  if ('float' in v) m.float(2, v.float).int(20, AttrType.FLOAT);
  else if ('int' in v) m.int(3, v.int).int(20, AttrType.INT);
  else if ('string' in v) m.string(4, v.string).int(20, AttrType.STRING);
  else if ('tensor' in v) m.message(5, encodeTensor(v.tensor)).int(20, AttrType.TENSOR);
  else if ('floats' in v) {
    for (const f of v.floats) m.float(7, f);
    m.int(20, AttrType.FLOATS);
  } else {
    m.packedInts(8, v.ints).int(20, AttrType.INTS);
  }
  return m;
}

function encodeNode(n: NodeSpec): Message {
  const m = new Message();
  for (const i of n.inputs) m.string(1, i);
  for (const o of n.outputs) m.string(2, o);
  if (n.name) m.string(3, n.name);
  m.string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) m.message(5, encodeAttr(k, v));
  return m;
}

function encodeValueInfo(v: ValueInfoSpec): Message {
  const shape = new Message();
  for (const d of v.shape) {
    shape.message(1, typeof d === 'number' ? new Message().int(1, d) : new Message().string(2, d));
  }
  const tensorType = new Message().int(1, v.elemType).message(2, shape);
  return new Message().string(1, v.name).message(2, new Message().message(1, tensorType));
}

/** Serialise a whole model to ONNX protobuf bytes. */
export function encodeModel(spec: ModelSpec): Uint8Array {
  const graph = new Message();
  for (const n of spec.nodes) graph.message(1, encodeNode(n));
  graph.string(2, spec.graphName);
  for (const t of spec.initializers) graph.message(5, encodeTensor(t));
  for (const i of spec.inputs) graph.message(11, encodeValueInfo(i));
  for (const o of spec.outputs) graph.message(12, encodeValueInfo(o));

  const model = new Message();
  model.int(1, spec.irVersion);
  model.string(2, spec.producerName);
  model.string(3, spec.producerVersion);
  if (spec.docString) model.string(6, spec.docString);
  model.message(7, graph);
  model.message(8, new Message().string(1, '').int(2, spec.opset));
  for (const [k, v] of Object.entries(spec.metadata ?? {})) model.message(14, new Message().string(1, k).string(2, v));
  return model.finish();
}
