// Test helpers: tiny random checkpoints written into temp directories, synthetic images, and pixel differences.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { TransformerNet, defaultCheckpointMeta, serializeCheckpoint, type CheckpointMeta, type NetConfig } from '@hokusai/model';
import { saveCheckpointDir, type RgbImage } from '@hokusai/node';
import sharp from 'sharp';

export const TINY_NET: NetConfig = { arch: 'johnson', channels: [4, 8, 8], residualBlocks: 1 };

/** A random net whose output spans 0–255 (random init alone gives outputs near 0). */
export function imageRangeNet(config: NetConfig, seed: number): TransformerNet {
  const fresh = TransformerNet.create(config, seed);
  if (config.arch !== 'johnson') return fresh;
  const weights = tf.tidy(() => {
    const w = { ...fresh.namedWeights() };
    w['deconv3.conv2d.weight'] = tf.mul(w['deconv3.conv2d.weight']!, 300);
    w['deconv3.conv2d.bias'] = tf.add(w['deconv3.conv2d.bias']!, 128);
    return w;
  });
  const net = TransformerNet.fromWeights(config, weights);
  tf.dispose([weights['deconv3.conv2d.weight']!, weights['deconv3.conv2d.bias']!]);
  fresh.dispose();
  return net;
}

/** Writes a tiny random checkpoint as `<root>/<id>` (optionally with a thumbnail). */
export async function writeTinyCheckpoint(
  root: string,
  id: string,
  seed = 1,
  config: NetConfig = TINY_NET,
  meta: Partial<CheckpointMeta> = {},
): Promise<void> {
  const net = imageRangeNet(config, seed);
  try {
    const files = serializeCheckpoint(net, defaultCheckpointMeta({ name: `Test style ${id}`, toolVersion: 'test', step: seed, ...meta }));
    const thumb = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 50, b: 10 } } }).jpeg().toBuffer();
    await saveCheckpointDir(join(root, id), files, { 'thumbnail.jpg': new Uint8Array(thumb) });
  } finally {
    net.dispose();
  }
}

export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `hokusai-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A smooth colourful test image. */
export async function testImage(width: number, height: number, format: 'jpeg' | 'png' | 'webp' = 'png'): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = (x * 255) / width;
      data[i + 1] = (y * 255) / height;
      data[i + 2] = 128 + 100 * Math.sin((x + y) / 7);
    }
  return sharp(data, { raw: { width, height, channels: 3 } }).toFormat(format).toBuffer();
}

/** A smooth colourful RGB image with some noise, as raw pixels (deterministic for a seed). */
export function noisyRgb(width: number, height: number, seed = 7): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let s = seed;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        s = (s * 1103515245 + 12345) >>> 0;
        const v = 128 + 90 * Math.sin(x / (6 + c) + y / 9) + ((s >>> 16) % 40) - 20;
        data[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return { data, width, height };
}

/** Mean and largest |a − b| of two pixel arrays of the same length (images compared with tolerances). */
export function pixelDiffs(a: Uint8Array, b: Uint8Array): { mean: number; max: number } {
  if (a.length !== b.length) throw new Error(`pixelDiffs: expected arrays of the same length, got ${a.length} and ${b.length}`);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    sum += d;
    max = Math.max(max, d);
  }
  return { mean: sum / a.length, max };
}
