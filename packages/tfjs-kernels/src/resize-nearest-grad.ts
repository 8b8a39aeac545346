/**
 * ResizeNearestNeighborGrad for the cpu backend: scatters each dy pixel back onto the source pixel that the
 * forward ResizeNearestNeighbor (cpu kernel) read, using exactly the forward's index formula.
 *
 * Why: tfjs-backend-cpu 4.22's version offsets dy rows by the *input* image's batch stride (wrong for
 * batch > 1) and ignores halfPixelCenters. Scattering with the forward formula is exact by construction.
 */
import * as tf from '@tensorflow/tfjs-core';
import { allocFloat32, float32View, type TensorInfo } from './kernel-call.ts';

function sourceIndex(i: number, ratio: number, oldSize: number, alignCorners: boolean, halfPixelCenters: boolean): number {
  const frac = halfPixelCenters ? ratio * (i + 0.5) : ratio * i;
  const nearest = Math.min(oldSize - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
  return halfPixelCenters ? Math.max(0, nearest) : nearest;
}

export function resizeNearestNeighborGradScatter(
  args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap },
  backendName: string,
): TensorInfo {
  const { images, dy } = args.inputs as { images?: TensorInfo; dy?: TensorInfo };
  if (images === undefined || dy === undefined) throw new Error('ResizeNearestNeighborGrad: expected inputs images and dy');
  const alignCorners = Boolean(args.attrs?.['alignCorners']);
  const halfPixelCenters = Boolean(args.attrs?.['halfPixelCenters']);
  const [batch = 0, oldH = 0, oldW = 0, depth = 0] = images.shape;
  const [dyBatch, newH = 0, newW = 0, dyDepth] = dy.shape;
  if (dyBatch !== batch || dyDepth !== depth) {
    throw new Error(
      `ResizeNearestNeighborGrad: expected dy of shape [${batch},h,w,${depth}], got [${dy.shape.join(',')}]`,
    );
  }
  const effIn = [alignCorners && newH > 1 ? oldH - 1 : oldH, alignCorners && newW > 1 ? oldW - 1 : oldW];
  const effOut = [alignCorners && newH > 1 ? newH - 1 : newH, alignCorners && newW > 1 ? newW - 1 : newW];
  const rowRatio = (effIn[0] as number) / (effOut[0] as number);
  const colRatio = (effIn[1] as number) / (effOut[1] as number);
  const srcRow = Int32Array.from({ length: newH }, (_, r) => sourceIndex(r, rowRatio, oldH, alignCorners, halfPixelCenters));
  const srcCol = Int32Array.from({ length: newW }, (_, c) => sourceIndex(c, colRatio, oldW, alignCorners, halfPixelCenters));
  const out = allocFloat32(args.backend, backendName, [batch, oldH, oldW, depth]);
  const dx = out.view();
  const g = float32View(args.backend, backendName, dy);
  dx.fill(0);
  let src = 0;
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < newH; r++) {
      const rowBase = (b * oldH + (srcRow[r] as number)) * oldW;
      for (let c = 0; c < newW; c++) {
        const dst = (rowBase + (srcCol[c] as number)) * depth;
        for (let d = 0; d < depth; d++) dx[dst + d] = (dx[dst + d] as number) + (g[src++] as number);
      }
    }
  }
  return out.info;
}
