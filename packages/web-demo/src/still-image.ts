/**
 * Styling a dropped or chosen image file at its full size: decode in the browser (EXIF orientation applied),
 * run the same network as the live view, draw to a canvas, offer the result as a PNG download.
 */
import * as tf from '@tensorflow/tfjs-core';
import { stylizeTensor, type TransformerNet } from '@hokusai/model';

export async function decodeImageFile(file: Blob): Promise<ImageBitmap> {
  if (file.type && !file.type.startsWith('image/')) {
    throw new Error(`Expected an image file (JPEG, PNG, WebP…), got "${file.type}"`);
  }
  try {
    return await createImageBitmap(file, { imageOrientation: 'from-image' });
  } catch (error) {
    throw new Error(`This file could not be decoded as an image (${error instanceof Error ? error.message : String(error)})`);
  }
}

/** Styles `bitmap` at full size into `canvas`; returns the elapsed milliseconds. */
export async function stylizeBitmap(
  net: TransformerNet,
  bitmap: ImageBitmap,
  canvas: HTMLCanvasElement,
  opts: { strength: number; preserveColors: boolean },
): Promise<number> {
  const t0 = performance.now();
  const { width, height } = bitmap;
  const scratch = document.createElement('canvas');
  scratch.width = width;
  scratch.height = height;
  const ctx = scratch.getContext('2d');
  if (!ctx) throw new Error('This browser could not create a 2D canvas');
  ctx.drawImage(bitmap, 0, 0);
  const result = tf.tidy(() => {
    const image = tf.cast(tf.browser.fromPixels(scratch), 'float32');
    return tf.cast(tf.round(stylizeTensor(net, image, opts)), 'int32');
  });
  try {
    canvas.width = width;
    canvas.height = height;
    await tf.browser.toPixels(result, canvas);
  } catch (error) {
    throw new Error(
      `Styling the ${width}×${height} image failed (${error instanceof Error ? error.message : String(error)}); ` +
        'large images may not fit in this device’s GPU memory: try a smaller image.',
    );
  } finally {
    result.dispose();
  }
  return performance.now() - t0;
}

export function canvasToPngBlob(canvas: HTMLCanvasElement): Promise<Blob> {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('The canvas could not be encoded as PNG'))), 'image/png');
  });
}
