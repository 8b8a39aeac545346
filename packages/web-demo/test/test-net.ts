/**
 * A tiny random-init Johnson network for the browser tests and bench, with its output layer rescaled so that the
 * picture it paints spans the 0–255 range (a fresh network's raw output sits near 0 and would clip to black, which
 * would make "the browser matches Node" trivially true).
 */
import * as tf from '@tensorflow/tfjs-core';
import { TransformerNet, type CheckpointMeta, type NetConfig } from '@hokusai/model';

export function testMeta(name: string): CheckpointMeta {
  return {
    formatVersion: 1,
    name,
    styleImages: [],
    lossNetwork: null,
    training: null,
    step: 0,
    losses: {},
    createdAt: new Date().toISOString(),
    toolVersion: 'web-demo-test',
  };
}

/** Random-init `config` network whose output on `probe` has mean ≈128 and std ≈60 per channel. */
export function makeVisibleNet(config: NetConfig, seed: number, probe: tf.Tensor3D): TransformerNet {
  const raw = TransformerNet.create(config, seed);
  try {
    const named = raw.namedWeights();
    const last = Object.keys(named).filter((n) => n.endsWith('.weight') && named[n]?.shape.length === 4 && named[n]?.shape[3] === 3).pop();
    if (!last) throw new Error('test net: no output conv with 3 channels');
    const lastBias = last.replace(/\.weight$/, '.bias');
    const { mean, std } = tf.tidy(() => {
      const y = raw.apply(tf.expandDims(probe, 0) as tf.Tensor4D);
      const m = tf.moments(y, [0, 1, 2]);
      return { mean: m.mean.arraySync() as number[], std: tf.sqrt(m.variance).arraySync() as number[] };
    });
    // y' = s·(W h) + b' with s = 60/std and b' = s·b + 128 − s·mean  (the output conv is affine in W and b)
    const scale = std.map((s) => 60 / Math.max(s, 1e-6));
    const weights: Record<string, tf.Tensor> = {};
    for (const [name, t] of Object.entries(named)) {
      if (name === last) weights[name] = tf.mul(t, tf.tensor1d(scale));
      else if (name === lastBias) {
        weights[name] = tf.tidy(() =>
          tf.add(tf.mul(t, tf.tensor1d(scale)), tf.sub(128, tf.mul(tf.tensor1d(mean), tf.tensor1d(scale)))),
        );
      } else weights[name] = t;
    }
    const net = TransformerNet.fromWeights(config, weights);
    tf.dispose([weights[last] as tf.Tensor, weights[lastBias] as tf.Tensor]);
    return net;
  } finally {
    raw.dispose();
  }
}

/** A smooth synthetic RGB probe image (HWC 0–255). */
export function probeImage(height = 64, width = 96): tf.Tensor3D {
  return tf.tidy(() => {
    const y = tf.reshape(tf.linspace(0, 1, height), [height, 1, 1]);
    const x = tf.reshape(tf.linspace(0, 1, width), [1, width, 1]);
    const r = tf.mul(tf.add(y, tf.zeros([1, width, 1])), 255);
    const g = tf.mul(tf.add(x, tf.zeros([height, 1, 1])), 255);
    const b = tf.mul(tf.abs(tf.sin(tf.mul(tf.add(x, y), 6))), 255);
    return tf.concat([r, g, b], 2) as tf.Tensor3D;
  });
}
