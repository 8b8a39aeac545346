// L-BFGS (packages/optimize/src/lbfgs.ts): converges on Rosenbrock and a badly scaled quadratic, matches
// the behaviour PyTorch's LBFGS is known for, and leaks no tensors.
import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { Lbfgs, cubicInterpolate, type Objective } from '../src/lbfgs.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// Sum of n/2 independent 2-D Rosenbrock functions; minimum 0 at all ones.
const rosenbrock: Objective = async (x) => {
  const fg = tf.valueAndGrad((v: tf.Tensor) => {
    const r = tf.reshape(v, [-1, 2]);
    const a = tf.slice(r, [0, 0], [-1, 1]);
    const b = tf.slice(r, [0, 1], [-1, 1]);
    return tf.add(tf.sum(tf.square(tf.sub(1, a))), tf.mul(100, tf.sum(tf.square(tf.sub(b, tf.square(a)))))) as tf.Scalar;
  });
  const { value, grad } = tf.tidy(() => fg(x));
  const loss = value.dataSync()[0] as number;
  value.dispose();
  return { loss, grad: grad as tf.Tensor1D };
};

describe('Lbfgs', () => {
  it('cubic interpolation finds the minimum of a cubic exactly', () => {
    // f(x) = (x-2)^2 (a quadratic is a cubic too): minimum at 2 from values/slopes at 0 and 5.
    const f = (x: number) => (x - 2) ** 2;
    const g = (x: number) => 2 * (x - 2);
    expect(cubicInterpolate(0, f(0), g(0), 5, f(5), g(5))).toBeCloseTo(2, 10);
  });

  for (const lineSearch of ['strong-wolfe', 'none'] as const) {
    it(`minimises Rosenbrock (${lineSearch}) without leaking tensors`, async () => {
      const before = tf.memory().numTensors;
      const x0 = tf.tensor1d([-1.2, 1, -1.2, 1, 0, 0]);
      const opt = new Lbfgs({ history: 10, lineSearch });
      const res = await opt.run(rosenbrock, x0, 200);
      const x = res.x.dataSync();
      const final = await rosenbrock(res.x);
      final.grad.dispose();
      res.x.dispose();
      x0.dispose();
      if (lineSearch === 'strong-wolfe') {
        for (const v of x) expect(v).toBeCloseTo(1, 3);
        expect(final.loss).toBeLessThan(1e-8);
      } else {
        // Fixed unit steps (torch default) still make progress on this ill-conditioned function.
        expect(final.loss).toBeLessThan(0.1 * 24.2 * 2);
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it.each([
    // 'loss-fraction': the step whose linear prediction removes 10% of f: 0.1·f/‖g‖² = 0.1·n/(4n) = 0.025.
    ['loss-fraction', 'strong-wolfe', 1 - 2 * 0.025],
    // torch's: min(1, 1/‖g‖₁) = 1/(2n); also what 'loss-fraction' falls back to without a line search.
    ['torch', 'strong-wolfe', 1 - 2 / 64],
    ['loss-fraction', 'none', 1 - 2 / 64],
  ] as const)('first trial step %s (%s) on f = ‖x‖² from ones(32)', async (firstStep, lineSearch, expected) => {
    const points: number[][] = [];
    const obj: Objective = async (x) => {
      points.push(Array.from(x.dataSync()));
      const loss = tf.tidy(() => tf.sum(tf.square(x)).dataSync()[0] as number);
      return { loss, grad: tf.tidy(() => tf.mul(x, 2) as tf.Tensor1D) };
    };
    const x0 = tf.ones([32]) as tf.Tensor1D;
    const res = await new Lbfgs({ firstStep, lineSearch }).run(obj, x0, 2);
    for (const v of points[1] as number[]) expect(v).toBeCloseTo(expected, 6);
    tf.dispose([x0, res.x]);
  });

  it('solves a badly conditioned quadratic in few iterations and reports progress', async () => {
    const n = 50;
    const scales = tf.tensor1d(Array.from({ length: n }, (_, i) => 10 ** ((4 * i) / (n - 1))));
    const obj: Objective = async (x) => {
      const loss = tf.tidy(() => tf.sum(tf.mul(scales, tf.square(tf.sub(x, 3)))).dataSync()[0] as number);
      const grad = tf.tidy(() => tf.mul(tf.mul(scales, 2), tf.sub(x, 3)) as tf.Tensor1D);
      return { loss, grad };
    };
    const x0 = tf.zeros([n]) as tf.Tensor1D;
    const losses: number[] = [];
    const res = await new Lbfgs({ history: 100 }).run(obj, x0, 100, { onIteration: (it) => void losses.push(it.loss) });
    // From ~2.7e5 to float32's noise floor (Gradient descent would need ~1e4 iterations at condition number 1e4).
    expect(res.loss).toBeLessThan((losses[0] as number) * 1e-6);
    // Strong Wolfe never increases the loss.
    for (let i = 1; i < losses.length; i++) expect(losses[i]).toBeLessThanOrEqual((losses[i - 1] as number) * (1 + 1e-12));
    res.x.dispose();
    x0.dispose();
    scales.dispose();
  });
});
