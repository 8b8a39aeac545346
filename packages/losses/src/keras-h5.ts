/**
 * Reader for the official Keras VGG16/VGG19 `notop` HDF5 weight files
 * (`vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`, `vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`), via
 * h5wasm (the HDF5 C library compiled to WebAssembly; the generic entry runs in Node and in the browser).
 * Keras layout: root attribute `layer_names`; each layer group's attribute `weight_names` names its datasets in
 * order (kernel `[kh, kw, in, out]`, bias `[out]`). Weights of Simonyan & Zisserman 2014 (arXiv:1409.1556).
 */
import type H5 from 'h5wasm';
import { WeightsError } from '@hokusai/errors';
import { BLOCK_CONVS, convSpecs, LOSS_NETS, type LossNetName } from './layers.ts';

/** h5wasm, imported on first use (its 4 MB module would otherwise load at every start of the CLI). */
let h5wasm: typeof H5;

export interface ConvWeights {
  /** Row-major `[3, 3, in, out]` float32 values. */
  kernel: Float32Array;
  kernelShape: number[];
  bias: Float32Array;
}

/** Conv weights of a VGG loss network, keyed by Keras conv name (`block1_conv1` …). */
export interface VggWeights {
  net: LossNetName;
  layers: Map<string, ConvWeights>;
  /** SHA-256 (hex) of the source `.h5` file, when known (set by the weights store). */
  sha256?: string;
  /** True when the source file is byte-identical to the official Keras file. */
  official?: boolean;
}

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
let fileCounter = 0;

function isHdf5(bytes: Uint8Array): boolean {
  // The superblock may sit at 0, 512, 1024, 2048 … ; Keras files have it at 0, but accept the others.
  for (let offset = 0; offset + 8 <= bytes.length && offset <= 1 << 20; offset = offset === 0 ? 512 : offset * 2) {
    if (HDF5_SIGNATURE.every((b, i) => bytes[offset + i] === b)) return true;
  }
  return false;
}

function toStringList(value: unknown): string[] | null {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  return null;
}

/** Which VGG the file's `layer_names` describe (by the number of convs per block), or null. */
function detectNet(layerNames: string[]): LossNetName | null {
  for (const net of LOSS_NETS) {
    const counts = BLOCK_CONVS[net].map((_, b) => layerNames.filter((n) => new RegExp(`^block${b + 1}_conv\\d+$`).test(n)).length);
    if (counts.every((c, b) => c === BLOCK_CONVS[net][b])) return net;
  }
  return null;
}

/**
 * Parses a Keras VGG16/VGG19 notop `.h5` file. `expect` makes a file of the other network an error.
 * Throws WEIGHTS_INVALID naming what was expected and what was found for anything that is not that layout.
 */
export async function readKerasVggH5(bytes: Uint8Array, expect?: LossNetName): Promise<VggWeights> {
  const what = expect ? `a Keras ${expect} notop .h5 weights file` : 'a Keras VGG16/VGG19 notop .h5 weights file';
  if (!isHdf5(bytes)) {
    throw new WeightsError(`Expected ${what} (HDF5), but the ${bytes.length} bytes given do not start with the HDF5 signature`);
  }
  h5wasm ??= (await import('h5wasm')).default;
  const { FS } = await h5wasm.ready;
  if (!FS) throw new WeightsError('h5wasm did not initialise its virtual file system');
  const path = `/hokusai-vgg-${Date.now()}-${fileCounter++}.h5`;
  FS.writeFile(path, bytes);
  let file: InstanceType<typeof h5wasm.File> | null = null;
  try {
    try {
      file = new h5wasm.File(path, 'r');
    } catch (cause) {
      throw new WeightsError(`Expected ${what}, but HDF5 could not open it (${bytes.length} bytes; truncated?): ${String(cause)}`, { cause });
    }
    if (!file.file_id || Number(file.file_id) < 0) {
      throw new WeightsError(`Expected ${what}, but HDF5 could not open it (${bytes.length} bytes; truncated or corrupt)`);
    }
    return readLayout(file, what, expect);
  } catch (error) {
    if (error instanceof WeightsError) throw error;
    throw new WeightsError(`Expected ${what}, but reading it failed (truncated or corrupt?): ${String(error)}`, { cause: error });
  } finally {
    try {
      file?.close();
    } catch {
      /* already failed */
    }
    FS.unlink(path);
  }
}

function readLayout(file: InstanceType<typeof h5wasm.File>, what: string, expect: LossNetName | undefined): VggWeights {
  const layerNamesAttr = file.attrs['layer_names'];
  const layerNames = layerNamesAttr ? toStringList(layerNamesAttr.value) : null;
  if (!layerNames) {
    throw new WeightsError(
      `Expected ${what} with a root attribute 'layer_names', but found root attributes [${Object.keys(file.attrs).join(', ')}]`,
    );
  }
  const net = detectNet(layerNames);
  if (!net) {
    throw new WeightsError(
      `Expected ${what} whose layer_names hold the conv layers of VGG16 (2,2,3,3,3 per block) or VGG19 (2,2,4,4,4), ` +
        `but found layer_names [${layerNames.join(', ')}]`,
    );
  }
  if (expect && net !== expect) {
    throw new WeightsError(`Expected ${what}, but the file holds the layers of ${net}`);
  }
  const layers = new Map<string, ConvWeights>();
  for (const spec of convSpecs(net)) {
    const group = file.get(spec.conv);
    if (!(group instanceof h5wasm.Group)) {
      throw new WeightsError(`Expected ${what} with a group '${spec.conv}' (listed in layer_names), but it is missing`);
    }
    const namesAttr = group.attrs['weight_names'];
    const names = namesAttr ? toStringList(namesAttr.value) : null;
    if (!names || names.length !== 2) {
      throw new WeightsError(
        `Expected layer '${spec.conv}' to have a 'weight_names' attribute naming [kernel, bias], but found ${JSON.stringify(namesAttr?.value ?? null)}`,
      );
    }
    const kernelShape = [3, 3, spec.inChannels, spec.outChannels];
    const kernel = readFloat32(group, names[0] ?? '', spec.conv, 'kernel', kernelShape);
    const bias = readFloat32(group, names[1] ?? '', spec.conv, 'bias', [spec.outChannels]);
    layers.set(spec.conv, { kernel, kernelShape, bias });
  }
  return { net, layers };
}

function readFloat32(group: InstanceType<typeof h5wasm.Group>, name: string, layer: string, role: string, shape: number[]): Float32Array {
  const ds = group.get(name);
  if (!(ds instanceof h5wasm.Dataset)) {
    throw new WeightsError(`Expected layer '${layer}' ${role} dataset '${name}', but it is missing`);
  }
  const found = ds.shape ?? [];
  if (found.length !== shape.length || found.some((d, i) => d !== shape[i])) {
    throw new WeightsError(`Expected layer '${layer}' ${role} of shape [${shape.join(', ')}], but found [${found.join(', ')}]`);
  }
  const value = ds.value;
  if (value instanceof Float32Array) return value;
  if (value instanceof Float64Array) return Float32Array.from(value);
  throw new WeightsError(`Expected layer '${layer}' ${role} as float32, but found dtype ${JSON.stringify(ds.dtype)}`);
}
