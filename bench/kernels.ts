// Kernel bench: our Conv2DBackpropFilter / Conv2DBackpropInput against the tfjs built-ins they replace, on the
// Johnson network's layer shapes (batch 4, 128² input), per backend (wasm, cpu). Built-ins that do not exist
// (wasm Conv2DBackpropFilter) or would take minutes (cpu Conv2DBackpropFilter at full size) are reported as such.
// Usage: npx tsx bench/kernels.ts [--backends wasm,cpu] [--size 128] [--batch 4] [--runs 2]
import type * as T from '@tensorflow/tfjs-core';
import { fmtMs, list, median, parseArgs, printTable, timeRuns } from './bench-util.ts';

const args = parseArgs({ backends: 'wasm,cpu', size: '128', batch: '4', runs: '2', 'cpu-builtin-max-gflop': '0.5' });
const tf = await import('@tensorflow/tfjs-core');
const { initBackend } = await import('@hokusai/node');
const { registerKernelFixes, unregisterKernelFixes, builtinKernel } = await import('@hokusai/tfjs-kernels');

const S = Number(args['size']);
const N = Number(args['batch']);
const runs = Number(args['runs']);
// Johnson et al. 2016 layers (pytorch/examples variant): [name, H, Ci, Co, k, stride]
const LAYERS: [string, number, number, number, number, number][] = [
  ['conv1 9×9 3→32', S, 3, 32, 9, 1],
  ['conv2 3×3/2 32→64', S, 32, 64, 3, 2],
  ['conv3 3×3/2 64→128', S / 2, 64, 128, 3, 2],
  ['res 3×3 128→128', S / 4, 128, 128, 3, 1],
  ['up1 3×3 128→64', S / 2, 128, 64, 3, 1],
  ['up2 3×3 64→32', S, 64, 32, 3, 1],
  ['conv out 9×9 32→3', S, 32, 3, 9, 1],
];

const rows: string[][] = [];
for (const backend of list(args['backends'] as string)) {
  await initBackend(backend as 'wasm');
  for (const [label, H, Ci, Co, k, s] of LAYERS) {
    const OH = Math.ceil(H / s);
    const gflop = (2 * N * OH * OH * k * k * Ci * Co) / 1e9;
    const x = tf.randomNormal([N, H, H, Ci]) as T.Tensor4D;
    const w = tf.randomNormal([k, k, Ci, Co]) as T.Tensor4D;
    const dy = tf.randomNormal([N, OH, OH, Co]) as T.Tensor4D;
    const filterOp = async () => {
      const t = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [s, s], pad: 'same', dataFormat: 'NHWC', filterShape: [k, k, Ci, Co] }) as T.Tensor;
      await t.data();
      t.dispose();
    };
    const inputOp = async () => {
      const t = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { strides: [s, s], pad: 'same', dataFormat: 'NHWC', inputShape: [N, H, H, Ci] }) as T.Tensor;
      await t.data();
      t.dispose();
    };
    const forwardOp = async () => {
      const t = tf.conv2d(x, w, s, 'same');
      await t.data();
      t.dispose();
    };
    const fwd = median(await timeRuns(forwardOp, runs));
    const ours = { filter: median(await timeRuns(filterOp, runs)), input: median(await timeRuns(inputOp, runs)) };
    unregisterKernelFixes(backend);
    const builtin: { filter: string; input: string } = { filter: '—', input: '—' };
    for (const [kind, op] of [['filter', filterOp], ['input', inputOp]] as const) {
      const kernelName = kind === 'filter' ? 'Conv2DBackpropFilter' : 'Conv2DBackpropInput';
      const replaced = builtinKernel(kernelName, backend);
      if (tf.getKernel(kernelName, backend) === undefined) {
        builtin[kind] = 'missing';
      } else if (replaced === undefined) {
        builtin[kind] = 'not replaced';
      } else if (backend === 'cpu' && gflop > Number(args['cpu-builtin-max-gflop'])) {
        builtin[kind] = `skipped (${gflop.toFixed(1)} GFLOP)`;
      } else {
        builtin[kind] = fmtMs(median(await timeRuns(op, 1, 0)));
      }
    }
    registerKernelFixes(backend);
    tf.dispose([x, w, dy]);
    rows.push([backend, label, `${gflop.toFixed(2)}`, fmtMs(fwd), fmtMs(ours.filter), builtin.filter, fmtMs(ours.input), builtin.input]);
    console.log(rows[rows.length - 1]?.join('  '));
  }
}
console.log(`\nConv gradient kernels, batch ${N}, ${S}² network input, median of ${runs}:`);
printTable(['backend', 'layer', 'GFLOP', 'forward conv', 'dW ours', 'dW built-in', 'dx ours', 'dx built-in'], rows);
