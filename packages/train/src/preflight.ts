/**
 * Preflight: every cheap check that can fail a training run, done before any heavy work (loading the loss
 * network, decoding data): style images readable, dataset non-empty, loss weights present and an HDF5 file,
 * output directory writable, enough free disk for the checkpoints. All problems are reported at once.
 */
import { access, mkdir, open, rm, stat, statfs, constants } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { HokusaiError, type ErrorCode } from '@hokusai/errors';
import { scanImages } from './dataset.ts';

export interface PreflightInput {
  styles: string[];
  dataset: string;
  /** Explicit loss weights file, if given. */
  weights?: string | undefined;
  out: string;
  /** Bytes the run will write (checkpoints kept + final + samples), checked against free space. */
  needBytes: number;
}

export interface Problem {
  code: ErrorCode;
  message: string;
}

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

export async function preflight(input: PreflightInput): Promise<{ files: string[] }> {
  const problems: Problem[] = [];
  if (input.styles.length === 0) problems.push({ code: 'INVALID_ARGUMENT', message: '--style: expected at least one style image (or a --preset), got none' });
  for (const s of input.styles) {
    try {
      const meta = await sharp(s).metadata();
      if (!meta.width || !meta.height) throw new Error('no image dimensions in the header');
    } catch (e) {
      problems.push({ code: 'IMAGE_DECODE', message: `--style ${s}: expected a readable JPEG/PNG/WebP image, got: ${(e as Error).message}` });
    }
  }
  let files: string[] = [];
  try {
    files = await scanImages(input.dataset);
    if (files.length === 0) problems.push({ code: 'DATASET_INVALID', message: `--dataset ${input.dataset}: expected JPEG/PNG/WebP images in the folder tree, found none (fetch one with \`hokusai dataset fetch coco2014\`)` });
  } catch (e) {
    problems.push({ code: 'DATASET_INVALID', message: `--dataset ${input.dataset}: ${(e as Error).message}` });
  }
  if (input.weights !== undefined) {
    try {
      const fh = await open(input.weights, 'r');
      try {
        const head = new Uint8Array(8);
        await fh.read(head, 0, 8, 0);
        if (!HDF5_SIGNATURE.every((b, i) => head[i] === b)) throw new Error('not an HDF5 (.h5) file (bad signature)');
        const size = (await fh.stat()).size;
        if (size < 1_000_000) throw new Error(`only ${size} bytes: too small for VGG weights (truncated download?)`);
      } finally {
        await fh.close();
      }
    } catch (e) {
      problems.push({ code: 'WEIGHTS_INVALID', message: `--weights ${input.weights}: expected a Keras VGG notop .h5 file, got: ${(e as Error).message}` });
    }
  }
  try {
    await mkdir(input.out, { recursive: true });
    await access(input.out, constants.W_OK);
    const probe = join(input.out, `.write-test-${process.pid}`);
    const fh = await open(probe, 'w');
    await fh.close();
    await rm(probe);
    const fs = await statfs(input.out);
    const free = fs.bavail * fs.bsize;
    if (free < input.needBytes) {
      problems.push({ code: 'IO', message: `--out ${input.out}: expected at least ${mb(input.needBytes)} free for checkpoints, got ${mb(free)}` });
    }
  } catch (e) {
    problems.push({ code: 'IO', message: `--out ${input.out}: expected a writable directory, got: ${(e as Error).message}` });
  }
  if (problems.length > 0) {
    throw new HokusaiError(problems[0]!.code, `Preflight failed (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n  ${problems.map((p) => p.message).join('\n  ')}`, {
      details: { problems },
    });
  }
  return { files };
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** True when the path exists. */
export async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}
