// The page registers our kernel fixes once its backend runs (as initBackend does in Node), so the demo's wasm and cpu
// fallbacks get the same kernels Node has. Checked on cpu, the backend that starts under Node without a browser.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { KERNEL_FIXES, builtinKernel } from '@hokusai/tfjs-kernels';
import { chooseBackend } from '../src/backend.ts';

describe('page backend', () => {
  it('replaces the built-ins named by KERNEL_FIXES for the backend it starts', async () => {
    const choice = await chooseBackend('cpu');
    expect(choice.name).toBe('cpu');
    const fixes = KERNEL_FIXES.filter((f) => f.backendName === 'cpu');
    expect(fixes.length).toBeGreaterThan(0);
    for (const fix of fixes) {
      const active = tf.getKernel(fix.kernelName, 'cpu');
      expect(active, fix.kernelName).toBeDefined();
      // tfjs's cpu backend has all three built-ins: the fix recorded the one it replaced, and is not it
      const replaced = builtinKernel(fix.kernelName, 'cpu');
      expect(replaced, `${fix.kernelName} was not replaced`).toBeDefined();
      expect(active!.kernelFunc, fix.kernelName).not.toBe(replaced!.kernelFunc);
    }
    // and the fixed kernels compute: a nearest 2x upsampling by tile, as the network does
    const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    const y = tf.tile(x, [1, 2, 1, 1]);
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
    tf.dispose([x, y]);
  });
});
