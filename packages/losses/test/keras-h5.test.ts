// Keras notop .h5 reader: the shared VGG19 file, synthetic files written with h5wasm (exact round trip, wrong
// layouts), truncated and non-HDF5 input.
import { beforeAll, describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import h5wasm from 'h5wasm';
import { convSpecs, readKerasVggH5, type VggWeights } from '../src/index.ts';
import { randomVggWeights, VGG19_H5, VGG19_WEIGHTS } from './helpers.ts';
import { needs } from '../../node/test/shared-data.ts';

let n = 0;
/** Writes `w` in the Keras notop layout (layer_names, weight_names, `<layer>_W_1:0` / `<layer>_b_1:0`). */
async function writeKerasH5(
  w: VggWeights,
  tweak: { dropGroup?: string; badShape?: string; noLayerNames?: boolean; oneWeightName?: string; emptyAfter?: string } = {},
): Promise<Uint8Array> {
  const { FS } = await h5wasm.ready;
  const path = `/test-${n++}.h5`;
  const f = new h5wasm.File(path, 'w');
  const names = ['input_1'];
  convSpecs(w.net).forEach((s) => {
    names.push(s.conv);
    if (s.lastInBlock) names.push(`block${s.block}_pool`);
  });
  if (!tweak.noLayerNames) f.create_attribute('layer_names', names);
  f.create_attribute('backend', 'tensorflow');
  let empty = false; // groups after `emptyAfter` get no datasets (keeps error-case files small and fast)
  for (const name of names) {
    const cw = empty ? undefined : w.layers.get(name);
    if (name === tweak.emptyAfter) empty = true;
    if (name === tweak.dropGroup) continue;
    const g = f.create_group(name);
    if (!cw) continue;
    const wn = [`${name}_W_1:0`, `${name}_b_1:0`];
    g.create_attribute('weight_names', name === tweak.oneWeightName ? [wn[0]!] : wn);
    const shape = name === tweak.badShape ? [cw.kernelShape[0]!, cw.kernelShape[1]!, cw.kernelShape[3]!, cw.kernelShape[2]!] : cw.kernelShape;
    g.create_dataset({ name: wn[0]!, data: cw.kernel, shape, dtype: '<f' });
    g.create_dataset({ name: wn[1]!, data: cw.bias, shape: [cw.bias.length], dtype: '<f' });
  }
  f.close();
  const bytes = FS!.readFile(path) as Uint8Array;
  FS!.unlink(path);
  return bytes;
}

let vgg16: VggWeights;
let vgg16Bytes: Uint8Array;

beforeAll(async () => {
  vgg16 = randomVggWeights('vgg16', 3);
  vgg16Bytes = await writeKerasH5(vgg16);
});

describe('readKerasVggH5', () => {
  const real = needs('readKerasVggH5 on the real VGG19 file', VGG19_WEIGHTS);
  test.runIf(real)('reads the shared VGG19 notop file: 16 convs with Keras shapes', async () => {
    const w = await readKerasVggH5(readFileSync(VGG19_H5), 'vgg19');
    expect(w.net).toBe('vgg19');
    expect([...w.layers.keys()]).toEqual(convSpecs('vgg19').map((s) => s.conv));
    expect(w.layers.get('block1_conv1')!.kernelShape).toEqual([3, 3, 3, 64]);
    expect(w.layers.get('block5_conv4')!.kernelShape).toEqual([3, 3, 512, 512]);
    const b = w.layers.get('block3_conv2')!;
    expect(b.kernel.length).toBe(9 * 256 * 256);
    expect(b.bias.every(Number.isFinite)).toBe(true);
    expect(b.kernel.some((v) => v !== 0)).toBe(true);
  });

  test('round-trips a VGG16 file exactly and detects the network', async () => {
    const w = await readKerasVggH5(vgg16Bytes);
    expect(w.net).toBe('vgg16');
    const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => v === b[i]);
    for (const spec of convSpecs('vgg16')) {
      expect(same(w.layers.get(spec.conv)!.kernel, vgg16.layers.get(spec.conv)!.kernel), spec.conv).toBe(true);
      expect(same(w.layers.get(spec.conv)!.bias, vgg16.layers.get(spec.conv)!.bias), spec.conv).toBe(true);
    }
  });

  test('a VGG16 file where VGG19 is expected', async () => {
    await expect(readKerasVggH5(vgg16Bytes, 'vgg19')).rejects.toMatchObject({ code: 'WEIGHTS_INVALID', message: expect.stringMatching(/vgg19.*holds the layers of vgg16/) });
  });

  test.runIf(real)('truncated file', async () => {
    const bytes = readFileSync(VGG19_H5).subarray(0, 1 << 20);
    await expect(readKerasVggH5(bytes)).rejects.toMatchObject({ code: 'WEIGHTS_INVALID', message: expect.stringMatching(/truncated/) });
  });

  test('not an HDF5 file', async () => {
    await expect(readKerasVggH5(new TextEncoder().encode('<html>404 Not Found</html>'))).rejects.toMatchObject({
      code: 'WEIGHTS_INVALID',
      message: expect.stringMatching(/HDF5 signature/),
    });
  });

  test('wrong layouts name what was expected and found', async () => {
    const small = vgg16;
    await expect(readKerasVggH5(await writeKerasH5(small, { noLayerNames: true, emptyAfter: 'input_1' }))).rejects.toThrow(/root attribute 'layer_names'.*found root attributes \[backend\]/);
    await expect(readKerasVggH5(await writeKerasH5(small, { dropGroup: 'block3_conv2', emptyAfter: 'block3_conv2' }))).rejects.toThrow(/group 'block3_conv2'.*missing/);
    await expect(readKerasVggH5(await writeKerasH5(small, { badShape: 'block2_conv1', emptyAfter: 'block2_conv1' }))).rejects.toThrow(
      /'block2_conv1' kernel of shape \[3, 3, 64, 128\], but found \[3, 3, 128, 64\]/,
    );
    await expect(readKerasVggH5(await writeKerasH5(small, { oneWeightName: 'block1_conv2', emptyAfter: 'block1_conv2' }))).rejects.toThrow(/block1_conv2.*weight_names/);
  });
});
