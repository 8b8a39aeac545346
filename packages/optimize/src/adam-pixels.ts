/**
 * Adam (Kingma & Ba 2014, arXiv 1412.6980) on a flat pixel vector, with the same `run` interface as `Lbfgs`, for
 * `hokusai optimize --optimizer adam` (jcjohnson/neural-style's `-optimizer adam`, learning rate in 0–255 pixel
 * units, default 10 there and here). One objective evaluation per iteration.
 */
import * as tf from '@tensorflow/tfjs-core';
import { yieldToEventLoop } from '@hokusai/node';
import type { LbfgsResult, Objective, RunHooks } from './lbfgs.ts';

export interface AdamOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export class AdamPixels {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;

  constructor(opts: AdamOptions = {}) {
    this.lr = opts.lr ?? 10;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.epsilon = opts.epsilon ?? 1e-8;
    if (!(this.lr > 0)) throw new RangeError(`Adam lr: expected > 0, got ${opts.lr}`);
  }

  async run(
    objective: Objective,
    x0: tf.Tensor1D,
    maxIter: number,
    hooks: RunHooks = {},
  ): Promise<LbfgsResult> {
    let x = tf.clone(x0);
    let m = tf.zerosLike(x0);
    let v = tf.zerosLike(x0);
    let loss = NaN;
    let iter = 0;
    let stopReason: LbfgsResult['stopReason'] = 'iterations';
    try {
      while (iter < maxIter) {
        const r = await objective(x);
        loss = r.loss;
        iter++;
        const t = iter;
        const [nx, nm, nv] = tf.tidy(() => {
          const g = r.grad;
          const m1 = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
          const v1 = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
          const step = this.lr * (Math.sqrt(1 - this.beta2 ** t) / (1 - this.beta1 ** t));
          const x1 = tf.sub(x, tf.div(tf.mul(m1, step), tf.add(tf.sqrt(v1), this.epsilon)));
          return [x1, m1, v1] as tf.Tensor1D[];
        }) as [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
        r.grad.dispose();
        x.dispose();
        m.dispose();
        v.dispose();
        x = nx;
        m = nm;
        v = nv;
        // Reported loss is the one at the start of the step (no extra evaluation).
        const goOn = await hooks.onIteration?.({ iteration: iter, loss, evals: iter, step: this.lr }, x);
        await yieldToEventLoop();
        if (!Number.isFinite(loss)) {
          stopReason = 'loss-change';
          break;
        }
        if (iter < maxIter && (goOn === false || hooks.signal?.aborted)) {
          stopReason = 'aborted';
          break;
        }
      }
      return { x: tf.clone(x), loss, iterations: iter, evals: iter, stopReason };
    } finally {
      x.dispose();
      m.dispose();
      v.dispose();
    }
  }
}
