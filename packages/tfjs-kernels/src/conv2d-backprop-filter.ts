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

/** Adds a chunk's partial dW into the running sum (releasing both inputs); the first chunk becomes the sum. */
function accumulate(calls: KernelCalls, acc: TensorInfo | undefined, part: TensorInfo): TensorInfo {
  if (acc === undefined) return part;
  const sum = calls.run('Add', { a: acc, b: part });
  calls.release(acc);
  calls.release(part);
  return sum;
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
  if (sh === 1 && sw === 1) {
    try {
      return calls.finish(stride1(args.backend, backendName, calls, x, dy, info));
    } catch (error) {
      calls.abort();
      throw error;
    }
  }
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
          const step = sw * Ci;
          const k0 = (kh * KW + kw) * Ci;
          // Row-major over output rows so the x row being gathered stays in cache across the Ci channels.
          for (let r = r0; r < r1; r++) {
            const n = Math.floor(r / OH);
            const ih = (r - n * OH) * sh + kh - pt;
            const col = (r - r0) * OW;
            if (ih < 0 || ih >= H) {
              for (let ci = 0; ci < Ci; ci++) {
                const dst = (k0 + ci) * Mb + col;
                P.fill(0, dst, dst + OW);
              }
              continue;
            }
            const rowSrc = ((n * H + ih) * W + owLo * sw + kw - pl) * Ci;
            for (let ci = 0; ci < Ci; ci++) {
              const dst = (k0 + ci) * Mb + col;
              if (owLo > 0) P.fill(0, dst, dst + owLo);
              let src = rowSrc + ci;
              for (let ow = owLo; ow < owHi; ow++, src += step) P[dst + ow] = X[src] as number;
              if (owHi < OW) P.fill(0, dst + owHi, dst + OW);
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
      acc = accumulate(calls, acc, part);
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

/**
 * Stride-1 path without a gather: x of one image is laid out once, channel-planar and zero-padded to
 * [Ci, Hp·Wp] with Wp = OW + KW − 1. Computing the output on the padded-width grid (OW..Wp−1 are extra
 * columns whose dy is 0), the patch-matrix row for tap (kh, kw) and channel ci is then one *contiguous* run
 * of that plane, starting at kh·Wp + kw: im2col becomes K memcpys per chunk instead of K·M scalar moves.
 */
function stride1(
  backend: tf.KernelBackend,
  backendName: string,
  calls: KernelCalls,
  x: TensorInfo,
  dy: TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: Ci, outChannels: Co } = info;
  const { outHeight: OH, outWidth: OW, filterHeight: KH, filterWidth: KW } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const K = KH * KW * Ci;
  const Wp = OW + KW - 1;
  const Hp = OH + KH - 1;
  const plane = Hp * Wp + KW; // + KW: the last tap's run of the last row reaches KW − 1 past Hp·Wp
  const rowsPerChunk = Math.max(1, Math.min(OH, Math.floor(im2colChunkFloats / Math.max(1, K * Wp))));
  let acc: TensorInfo | undefined;
  for (let n = 0; n < N; n++) {
    const planar = allocFloat32(backend, backendName, [Ci, plane]);
    calls.own(planar.info);
    {
      const XP = planar.view();
      const X = float32View(backend, backendName, x);
      XP.fill(0);
      for (let i = 0; i < Hp; i++) {
        const ih = i - pt;
        if (ih < 0 || ih >= H) continue;
        const jLo = Math.max(0, pl);
        const jHi = Math.min(Wp, W + pl);
        for (let j = jLo; j < jHi; j++) {
          const src = ((n * H + ih) * W + (j - pl)) * Ci;
          const dst = i * Wp + j;
          for (let ci = 0; ci < Ci; ci++) XP[ci * plane + dst] = X[src + ci] as number;
        }
      }
    }
    for (let oh0 = 0; oh0 < OH; oh0 += rowsPerChunk) {
      const oh1 = Math.min(OH, oh0 + rowsPerChunk);
      const L = (oh1 - oh0) * Wp;
      const patches = allocFloat32(backend, backendName, [1, K, L]);
      calls.own(patches.info);
      const dyChunk = allocFloat32(backend, backendName, [1, L, Co]);
      calls.own(dyChunk.info);
      const P = patches.view();
      const XP = float32View(backend, backendName, planar.info);
      for (let kh = 0; kh < KH; kh++) {
        for (let kw = 0; kw < KW; kw++) {
          const start = (oh0 + kh) * Wp + kw;
          const k0 = (kh * KW + kw) * Ci;
          for (let ci = 0; ci < Ci; ci++) {
            const from = ci * plane + start;
            P.set(XP.subarray(from, from + L), (k0 + ci) * L);
          }
        }
      }
      const Dc = dyChunk.view();
      const D = float32View(backend, backendName, dy);
      Dc.fill(0);
      for (let oh = oh0; oh < oh1; oh++) {
        const src = (n * OH + oh) * OW * Co;
        Dc.set(D.subarray(src, src + OW * Co), (oh - oh0) * Wp * Co);
      }
      const part = calls.run('BatchMatMul', { a: patches.info, b: dyChunk.info }, { transposeA: false, transposeB: false });
      calls.release(patches.info);
      calls.release(dyChunk.info);
      acc = accumulate(calls, acc, part);
    }
    calls.release(planar.info);
  }
  if (acc === undefined) {
    const zero = allocFloat32(backend, backendName, [KH, KW, Ci, Co]);
    zero.view().fill(0);
    return zero.info;
  }
  return calls.run('Reshape', { x: acc }, { shape: [KH, KW, Ci, Co] });
}
