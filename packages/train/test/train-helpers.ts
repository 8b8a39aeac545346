// Test helpers for the trainer: a tiny generated image folder, a stand-in perceptual loss (pixel content,
// mean-colour "style", TV) and in-test checkpoint IO, so the training loop is tested at tiny sizes on cpu.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@hokusai/node';
import sharp from 'sharp';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LossFunction, TrainerIO } from '../src/trainer.ts';
import { writeDirAtomic } from '../src/run-dir.ts';
import { scanImages } from '../src/dataset.ts';

/** The cpu backend with our kernel fixes (im2col Conv2DBackpropFilter), as the CLI would set it up. */
export async function useCpu(): Promise<void> {
  await initBackend('cpu');
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `hokusai-${prefix}-`));
}

/** `n` small RGB images with smooth random-ish content, written as PNG/JPEG into `dir` (some in a subfolder). */
export async function makeImages(dir: string, n: number, size = 40): Promise<string[]> {
  await mkdir(join(dir, 'sub'), { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const w = size + (i % 3) * 7;
    const h = size + ((i + 1) % 2) * 5;
    const data = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const o = (y * w + x) * 3;
        data[o] = (x * 5 + i * 31) & 255;
        data[o + 1] = (y * 7 + i * 17) & 255;
        data[o + 2] = ((x + y) * 3 + i * 53) & 255;
      }
    }
    const file = join(dir, i % 2 ? 'sub' : '', `img${String(i).padStart(3, '0')}.${i % 3 === 0 ? 'jpg' : 'png'}`);
    const img = sharp(data, { raw: { width: w, height: h, channels: 3 } });
    await (i % 3 === 0 ? img.jpeg({ quality: 90 }) : img.png()).toFile(file);
    files.push(file);
  }
  return files;
}

/** `n` generated images (makeImages) in a new temporary folder, as the trainer's scan lists them. */
export async function generatedImageFiles(prefix: string, n: number): Promise<string[]> {
  const dir = await tempDir(prefix);
  await makeImages(dir, n);
  return scanImages(dir);
}

/** A cheap differentiable stand-in for PerceptualLoss: pixel MSE to the input, mean colour to a target, TV. */
export function standInLoss(target: [number, number, number] = [200, 80, 40]): LossFunction & { dispose(): void } {
  const t = tf.tensor1d(target);
  return {
    compute(y, content) {
      return tf.tidy(() => {
        const c = tf.div(tf.mean(tf.squaredDifference(y, content)), 1000) as tf.Scalar;
        const s = tf.div(tf.mean(tf.squaredDifference(tf.mean(y, [1, 2]), t)), 100) as tf.Scalar;
        const dx = tf.sub(tf.slice(y, [0, 0, 1, 0], [-1, -1, -1, -1]), tf.slice(y, [0, 0, 0, 0], [-1, -1, y.shape[2] - 1, -1]));
        const tv = tf.mean(tf.abs(dx)) as tf.Scalar;
        const weighted = { content: c, style: s, tv: tf.mul(tv, 0.01) as tf.Scalar };
        return { total: tf.addN([weighted.content, weighted.style, weighted.tv]) as tf.Scalar, weighted };
      });
    },
    dispose() {
      t.dispose();
    },
  };
}

/** Checkpoint IO for tests: the trainer's extra files plus a meta.json, written atomically. */
export const testIO: TrainerIO = {
  async saveCheckpoint(dir, meta, extra) {
    await writeDirAtomic(dir, { 'meta.json': JSON.stringify(meta), ...extra });
  },
  async writeImage(path, image) {
    await sharp(Buffer.from(image.data), { raw: { width: image.width, height: image.height, channels: 3 } }).jpeg().toFile(path);
  },
};

export async function weightsOf(vars: tf.Variable[]): Promise<Float32Array[]> {
  return Promise.all(vars.map(async (v) => (await v.data()) as Float32Array));
}
