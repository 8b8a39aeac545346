// initBackend: names, errors and 'auto' choice; and that training (forward + backward of a small Johnson network
// through a VGG-like conv/pool/Gram loss) gives the same gradients on every backend that runs here: cpu, wasm,
// and webgpu when Dawn finds a Vulkan adapter (lavapipe here), else a visible skip with the reason.
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { TransformerNet } from '@hokusai/model';
import { HokusaiError } from '@hokusai/errors';
import { describe, expect, it } from 'vitest';
import { initBackend, probeWebGpu, type BackendName, type WebGpuAdapterSummary } from '../src/index.ts';
import {
  conv2dBackpropFilterRef,
  conv2dBackpropInputRef,
  randomValues,
  relativeError,
  type ConvGeometry,
} from '../../tfjs-kernels/test/kernel-reference.ts';
import { needs, requirement } from './shared-data.ts';

const gpu: { adapter: WebGpuAdapterSummary } | { reason: string } = await probeWebGpu().then(
  (adapter) => ({ adapter }),
  (error: unknown) => ({ reason: error instanceof Error ? error.message : String(error) }),
);

function installed(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}
const hasTfjsNode = installed('@tensorflow/tfjs-node') || installed('@tensorflow/tfjs-node-gpu');

/** Loss made of the ops VGG + Gram + content losses use: conv, relu, max/avg pool, batched matMul, mean. */
function convOnlyLoss(y: tf.Tensor4D, content: tf.Tensor4D, w1: tf.Tensor4D, w2: tf.Tensor4D): tf.Scalar {
  const features = (t: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] => {
    const a = tf.relu(tf.conv2d(tf.div(t, 255) as tf.Tensor4D, w1, 1, 'same'));
    const b = tf.relu(tf.conv2d(tf.maxPool(a, 2, 2, 'valid') as tf.Tensor4D, w2, 1, 'same'));
    return [a, tf.avgPool(b, 2, 2, 'valid') as tf.Tensor4D];
  };
  const gram = (f: tf.Tensor4D): tf.Tensor3D => {
    const [n, h, w, c] = f.shape;
    const m = tf.reshape(f, [n, h * w, c]);
    return tf.div(tf.matMul(m, m, true, false), h * w * c);
  };
  const [ya, yb] = features(y);
  const [, cb] = features(content);
  const contentTerm = tf.mean(tf.squaredDifference(yb, cb));
  const styleTerm = tf.add(tf.sum(tf.square(gram(ya))), tf.sum(tf.square(gram(yb))));
  return tf.add(contentTerm, tf.mul(styleTerm, 100)) as tf.Scalar;
}

/** Loss and gradients w.r.t. every network variable for one fixed batch (2 images, 20×20, odd crop inside). */
async function trainingGradients(): Promise<{ loss: number; grads: Float32Array[]; names: string[] }> {
  const net = TransformerNet.create({ arch: 'johnson', channels: [4, 8, 8], residualBlocks: 1 }, 3);
  const names = Object.keys(net.namedWeights());
  try {
    // Async reads: webgpu in Node has no dataSync (it needs OffscreenCanvas).
    const { value, grads } = tf.tidy(() => {
      const input = tf.mul(tf.add(tf.tensor4d(randomValues(2 * 20 * 20 * 3, 5), [2, 20, 20, 3]), 1), 127.5) as tf.Tensor4D;
      const w1 = tf.tensor4d(randomValues(3 * 3 * 3 * 6, 6), [3, 3, 3, 6]);
      const w2 = tf.tensor4d(randomValues(3 * 3 * 6 * 5, 7), [3, 3, 6, 5]);
      const r = tf.variableGrads(() => convOnlyLoss(net.apply(input), input, w1, w2), net.variables);
      return { value: r.value, grads: net.variables.map((v) => r.grads[v.name] as tf.Tensor) };
    });
    const loss = (await value.data())[0] as number;
    const out = await Promise.all(grads.map(async (g) => (await g.data()) as Float32Array));
    tf.dispose([value, ...grads]);
    return { loss, grads: out, names };
  } finally {
    net.dispose();
  }
}

describe('initBackend', () => {
  it('rejects an unknown name with INVALID_ARGUMENT', async () => {
    await expect(initBackend('gpu' as BackendName)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it.skipIf(hasTfjsNode)("'tensorflow' without @tensorflow/tfjs-node(-gpu) is BACKEND_UNAVAILABLE with the fix", async () => {
    const error = await initBackend('tensorflow').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HokusaiError);
    expect((error as HokusaiError).code).toBe('BACKEND_UNAVAILABLE');
    expect((error as HokusaiError).message).toMatch(/tfjs-node-gpu.*tfjs-node.*npm install @tensorflow\/tfjs-node/s);
  });

  it('wasm reports XNNPACK/SIMD and our kernels; cpu works; repeated calls return the same answer', async () => {
    const lines: string[] = [];
    const wasm = await initBackend('wasm', (l) => lines.push(l));
    expect(wasm.name).toBe('wasm');
    expect(wasm.reason).toMatch(/XNNPACK, SIMD/);
    expect(wasm.reason).toMatch(/Conv2DBackpropFilter/);
    expect(lines).toEqual([`backend wasm: ${wasm.reason}`]);
    expect(await initBackend('wasm')).toBe(wasm);
    expect(tf.getBackend()).toBe('wasm');
    const cpu = await initBackend('cpu');
    expect(cpu.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it("'auto' picks the first usable backend and prefers wasm over a software WebGPU adapter", async () => {
    const auto = await initBackend('auto');
    expect(tf.getBackend()).toBe(auto.name);
    if (hasTfjsNode) {
      expect(auto.name).toBe('tensorflow');
      return;
    }
    expect(auto.reason).toMatch(/skipped: tensorflow/);
    if ('adapter' in gpu && !gpu.adapter.software) {
      expect(auto.name).toBe('webgpu');
    } else {
      expect(auto.name).toBe('wasm');
      if ('adapter' in gpu) expect(auto.reason).toMatch(/webgpu: .*software.*slower than wasm/);
    }
  });
});

describe('training gradients agree across backends', () => {
  const backends: Exclude<BackendName, 'auto' | 'tensorflow'>[] = ['cpu', 'wasm'];
  if ('adapter' in gpu) backends.push('webgpu');
  let reference: { loss: number; grads: Float32Array[]; names: string[] } | undefined;

  for (const name of backends) {
    it(`${name}: loss and every variable's gradient match cpu (relative 1e-4), no tensor leak`, async () => {
      await initBackend(name);
      const tensors0 = tf.memory().numTensors;
      const got = await trainingGradients();
      expect(tf.memory().numTensors).toBe(tensors0);
      expect(Number.isFinite(got.loss)).toBe(true);
      for (const g of got.grads) expect(g.some((v) => v !== 0)).toBe(true);
      if (name === 'cpu') {
        reference = got;
        return;
      }
      if (reference === undefined) throw new Error('cpu reference did not run');
      expect(Math.abs(got.loss - reference.loss) / Math.abs(reference.loss)).toBeLessThan(1e-4);
      // Conv biases right before an instance norm have a true gradient of 0 (values ~1e-9 are rounding noise), so
      // each variable's error is measured against max(its own largest gradient, 1e-3 × the network's largest).
      const ref = reference;
      const globalMax = Math.max(...ref.grads.map((g) => Math.max(...Array.from(g, Math.abs))));
      got.grads.forEach((g, i) => {
        const want = ref.grads[i] as Float32Array;
        let diff = 0;
        let scale = 1e-3 * globalMax;
        want.forEach((v, j) => {
          diff = Math.max(diff, Math.abs((g[j] as number) - v));
          scale = Math.max(scale, Math.abs(v));
        });
        expect(diff / scale, got.names[i]).toBeLessThan(1e-4);
      });
    });
  }
});

const gpuTitle = 'adapter' in gpu ? `webgpu built-in gradient kernels (${gpu.adapter.description || gpu.adapter.vendor})` : 'webgpu built-in gradient kernels';
const webgpu = requirement('a WebGPU adapter (Dawn on Vulkan; lavapipe without a GPU)', 'reason' in gpu ? gpu.reason : null);
describe.runIf(needs(gpuTitle, webgpu))(gpuTitle, () => {
  const cases: (ConvGeometry & { pad: 'same' | 'valid' })[] = [
    { N: 2, H: 7, W: 5, Ci: 3, Co: 4, KH: 3, KW: 3, sh: 1, sw: 1, top: 1, left: 1, OH: 7, OW: 5, pad: 'same' },
    { N: 3, H: 9, W: 7, Ci: 4, Co: 3, KH: 3, KW: 3, sh: 2, sw: 2, top: 0, left: 0, OH: 4, OW: 3, pad: 'valid' },
    { N: 1, H: 11, W: 10, Ci: 3, Co: 8, KH: 9, KW: 9, sh: 1, sw: 1, top: 4, left: 4, OH: 11, OW: 10, pad: 'same' },
  ];
  for (const g of cases) {
    it(`Conv2DBackpropFilter/Input N${g.N} ${g.H}×${g.W} k${g.KH} s${g.sh} ${g.pad} match the references`, async () => {
      await initBackend('webgpu');
      const x = randomValues(g.N * g.H * g.W * g.Ci, 11);
      const w = randomValues(g.KH * g.KW * g.Ci * g.Co, 12);
      const dy = randomValues(g.N * g.OH * g.OW * g.Co, 13);
      const [gx, gw] = tf.tidy(() => {
        const f = (xt: tf.Tensor, wt: tf.Tensor): tf.Tensor =>
          tf.sum(tf.mul(tf.conv2d(xt as tf.Tensor4D, wt as tf.Tensor4D, g.sh, g.pad), tf.tensor4d(dy, [g.N, g.OH, g.OW, g.Co])));
        return tf.grads(f)([tf.tensor4d(x, [g.N, g.H, g.W, g.Ci]), tf.tensor4d(w, [g.KH, g.KW, g.Ci, g.Co])]);
      });
      const dw = (await (gw as tf.Tensor).data()) as Float32Array;
      const dx = (await (gx as tf.Tensor).data()) as Float32Array;
      tf.dispose([gx as tf.Tensor, gw as tf.Tensor]);
      expect(relativeError(dw as Float32Array, conv2dBackpropFilterRef(g, x, dy))).toBeLessThan(1e-4);
      expect(relativeError(dx as Float32Array, conv2dBackpropInputRef(g, dy, w))).toBeLessThan(1e-4);
    });
  }
});
