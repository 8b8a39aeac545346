// `hokusai export` checks the graph it is about to write in onnxruntime against tfjs: a faithful export passes
// (under one grey level), a graph of another network is caught, and the check leaves no tensors behind.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@hokusai/node';
import { exportOnnx } from '@hokusai/export';
import { checkOnnx, EXPORT_TOLERANCE } from '../src/commands/export.ts';
import { imageRangeNet, TINY_NET } from '../../serve/test/helpers.ts';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('export check', () => {
  it('passes the graph of the same network and catches the graph of another one', async () => {
    const net = imageRangeNet(TINY_NET, 1);
    const other = imageRangeNet(TINY_NET, 2);
    try {
      const before = tf.memory().numTensors;
      const log: string[] = [];
      const same = await checkOnnx(exportOnnx(net), net, (l) => log.push(l));
      const wrong = await checkOnnx(exportOnnx(other), net, (l) => log.push(l));
      expect(log).toEqual([]);
      expect(same).not.toBeNull();
      expect(same!).toBeLessThanOrEqual(EXPORT_TOLERANCE);
      expect(wrong!).toBeGreaterThan(5 * EXPORT_TOLERANCE);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      net.dispose();
      other.dispose();
    }
  }, 60_000);
});
