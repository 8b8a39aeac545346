/**
 * Conv2DBackpropFilter (the weight gradient of a 2-D convolution) for the cpu and wasm backends, as
 * im2col + one matrix product per chunk: dW[K, Co] = Pᵀ[K, M] · dy[M, Co], with K = KH·KW·Ci and
 * M = N·OH·OW (Chellapilla et al. 2006, "High performance convolutional neural networks for document
 * processing", the im2col/GEMM formulation).
 *
 * Why: tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter at all (tfjs#8474), and tfjs-backend-cpu's is a
 * 7-deep loop through TensorBuffer.get (minutes per training step). Pᵀ is built directly in the backend's
 * memory in the layout whose product runs on the fast path (wasm: XNNPACK fully-connected, no transposeA,
 * which is ~8× slower there), in chunks of whole output rows so the patch matrix stays under ~32 MiB.
 */
import * as tf from '@tensorflow/tfjs-core';
import { KernelCalls, allocFloat32, float32View, type TensorInfo } from './kernel-call.ts';

/** Upper bound on the floats of one patch-matrix chunk (K × rows·OW); 2^23 floats = 32 MiB. */
let im2colChunkFloats = 1 << 23;

/** Changes the chunk bound (tests use a tiny one to exercise chunking); returns the previous value. */
export function setIm2colChunkFloats(floats: number): number {
  const previous = im2colChunkFloats;
  im2colChunkFloats = Math.max(1, Math.floor(floats));
  return previous;
}

interface BackpropFilterAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

export function conv2DBackpropFilterIm2col(
  args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap },
  backendName: string,
): TensorInfo {
  const { x, dy } = args.inputs as { x?: TensorInfo; dy?: TensorInfo };
  if (x === undefined || dy === undefined) throw new Error('Conv2DBackpropFilter: expected inputs x and dy');
  const attrs = args.attrs as unknown as BackpropFilterAttrs;
  if (attrs.dataFormat === 'NCHW') {
    throw new Error(`Conv2DBackpropFilter on ${backendName}: expected dataFormat NHWC, got NCHW`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: Ci, outChannels: Co } = info;
  const { outHeight: OH, outWidth: OW, filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const K = KH * KW * Ci;
  const rows = N * OH;
  const rowsPerChunk = Math.max(1, Math.min(rows, Math.floor(im2colChunkFloats / Math.max(1, K * OW))));
  const calls = new KernelCalls(args.backend, backendName);
  try {
    let acc: TensorInfo | undefined;
    for (let r0 = 0; r0 < rows; r0 += rowsPerChunk) {
      const r1 = Math.min(rows, r0 + rowsPerChunk);
      const Mb = (r1 - r0) * OW;
      const patches = allocFloat32(args.backend, backendName, [1, K, Mb]);
      calls.own(patches.info);
      // Views are taken after the allocation (a growing wasm heap detaches older views).
      const P = patches.view();
      const X = float32View(args.backend, backendName, x);
      for (let kh = 0; kh < KH; kh++) {
        for (let kw = 0; kw < KW; kw++) {
          const owLo = Math.min(OW, Math.max(0, Math.ceil((pl - kw) / sw)));
          const owHi = Math.max(owLo, Math.min(OW, Math.floor((W - 1 + pl - kw) / sw) + 1));
          for (let ci = 0; ci < Ci; ci++) {
            let dst = ((kh * KW + kw) * Ci + ci) * Mb;
            for (let r = r0; r < r1; r++) {
              const n = Math.floor(r / OH);
              const ih = (r - n * OH) * sh + kh - pt;
              if (ih < 0 || ih >= H) {
                P.fill(0, dst, dst + OW);
              } else {
                if (owLo > 0) P.fill(0, dst, dst + owLo);
                let src = ((n * H + ih) * W + owLo * sw + kw - pl) * Ci + ci;
                const step = sw * Ci;
                for (let ow = owLo; ow < owHi; ow++, src += step) P[dst + ow] = X[src] as number;
                if (owHi < OW) P.fill(0, dst + owHi, dst + OW);
              }
              dst += OW;
            }
          }
        }
      }
      let dyChunk: TensorInfo;
      if (r0 === 0 && r1 === rows) {
        dyChunk = calls.run('Reshape', { x: dy }, { shape: [1, Mb, Co] });
      } else {
        const chunk = allocFloat32(args.backend, backendName, [1, Mb, Co]);
        calls.own(chunk.info);
        const D = float32View(args.backend, backendName, dy);
        chunk.view().set(D.subarray(r0 * OW * Co, r1 * OW * Co));
        dyChunk = chunk.info;
      }
      const part = calls.run('BatchMatMul', { a: patches.info, b: dyChunk }, { transposeA: false, transposeB: false });
      calls.release(patches.info);
      calls.release(dyChunk);
      if (acc === undefined) {
        acc = part;
      } else {
        const sum = calls.run('Add', { a: acc, b: part });
        calls.release(acc);
        calls.release(part);
        acc = sum;
      }
    }
    if (acc === undefined) {
      // Empty batch or empty output: the gradient is zero.
      const zero = allocFloat32(args.backend, backendName, [KH, KW, Ci, Co]);
      zero.view().fill(0);
      return calls.finish(zero.info);
    }
    return calls.finish(calls.run('Reshape', { x: acc }, { shape: [KH, KW, Ci, Co] }));
  } catch (error) {
    calls.abort();
    throw error;
  }
}
