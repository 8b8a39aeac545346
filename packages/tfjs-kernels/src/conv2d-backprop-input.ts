/**
 * Conv2DBackpropInput (the input gradient of a 2-D convolution, also the forward pass of a transposed
 * convolution) for the wasm backend, expressed as an ordinary stride-1 VALID convolution so that it runs on
 * XNNPACK: dx = conv2d(pad(dilate(dy, stride)), rot180(W)ᵀ) (Dumoulin & Visin 2016, "A guide to convolution
 * arithmetic for deep learning", §4: a transposed convolution is a direct convolution of the zero-inserted,
 * zero-padded input with the spatially flipped kernel).
 *
 * Why: tfjs-backend-wasm 4.22's Conv2DBackpropInput is a scalar C++ loop, many times slower than its Conv2D.
 * The padded dy is written directly in the backend's memory (so negative "padding" from unusual explicit pads is
 * just cropping), the flipped filter likewise; strided convs get no zero insertion but one stride-1 conv per output
 * phase with a flipped sub-filter (see `polyphase`; stride 1 is its single phase).
 */
import * as tf from '@tensorflow/tfjs-core';
import { KernelCalls, allocFloat32, float32View, type TensorInfo } from './kernel-call.ts';

interface BackpropInputAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

export function conv2DBackpropInputViaConv(
  args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap },
  backendName: string,
): TensorInfo {
  const { dy, filter } = args.inputs as { dy?: TensorInfo; filter?: TensorInfo };
  if (dy === undefined || filter === undefined) throw new Error('Conv2DBackpropInput: expected inputs dy and filter');
  const attrs = args.attrs as unknown as BackpropInputAttrs;
  if (attrs.dataFormat === 'NCHW') {
    throw new Error(`Conv2DBackpropInput on ${backendName}: expected dataFormat NHWC, got NCHW`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const { batchSize: N, outChannels: Co, outHeight: OH, outWidth: OW } = info;
  if (dy.shape[1] !== OH || dy.shape[2] !== OW || dy.shape[3] !== Co) {
    throw new Error(`Conv2DBackpropInput: expected dy of shape [${N},${OH},${OW},${Co}], got [${dy.shape.join(',')}]`);
  }
  return polyphase(args.backend, backendName, dy, filter, info);
}

/**
 * dx without inserted zeros: split dx by output phase (ρh, ρw) = ((ih + pt) mod sh, (iw + pl) mod sw).
 * The rows of one phase only meet filter rows kh ≡ ρh (mod sh), so each phase is a stride-1 VALID conv of the
 * (padded) dy with the flipped sub-filter W[ρh + sh·j, ρw + sw·i] — together exactly the FLOPs of a forward conv
 * (the zero-insertion form spends (sh·sw − 1)/(sh·sw) of its work on zeros). Stride 1 is the single phase
 * (the whole flipped filter over dy padded by KH − 1 − pt, KW − 1 − pl), whose conv output is dx itself.
 */
function polyphase(
  backend: tf.KernelBackend,
  backendName: string,
  dy: TensorInfo,
  filter: TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: Ci, outChannels: Co } = info;
  const { outHeight: OH, outWidth: OW, filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const calls = new KernelCalls(backend, backendName);
  // Stride 1 (non-empty dx): the one phase's conv output is dx, returned as is.
  const single = sh === 1 && sw === 1 && H > 0 && W > 0;
  try {
    const out = single ? undefined : allocFloat32(backend, backendName, [N, H, W, Ci]);
    if (out) {
      calls.own(out.info);
      out.view().fill(0);
    }
    // One phase along one axis: taps J, first/last q, count nq, leading pad P of dy, padded length Z.
    const phase = (rho: number, s: number, K: number, pad: number, size: number) => {
      const J = Math.ceil((K - rho) / s);
      const qmin = Math.ceil((pad - rho) / s);
      const nq = Math.floor((size - 1 + pad - rho) / s) - qmin + 1;
      return { J, qmin, nq, P: J - 1 - qmin, Z: nq + J - 1 };
    };
    for (let rh = 0; rh < sh; rh++) {
      const ph = phase(rh, sh, KH, pt, H);
      if (ph.J <= 0 || ph.nq <= 0) continue;
      for (let rw = 0; rw < sw; rw++) {
        const pw = phase(rw, sw, KW, pl, W);
        if (pw.J <= 0 || pw.nq <= 0) continue;
        const z = allocFloat32(backend, backendName, [N, ph.Z, pw.Z, Co]);
        calls.own(z.info);
        const sub = allocFloat32(backend, backendName, [ph.J, pw.J, Co, Ci]);
        calls.own(sub.info);
        {
          const Z = z.view();
          const D = float32View(backend, backendName, dy);
          Z.fill(0);
          const owLo = Math.max(0, -pw.P);
          const owHi = Math.min(OW, pw.Z - pw.P);
          for (let n = 0; n < N; n++) {
            for (let oh = 0; oh < OH; oh++) {
              const zr = oh + ph.P;
              if (zr < 0 || zr >= ph.Z || owHi <= owLo) continue;
              const src = ((n * OH + oh) * OW + owLo) * Co;
              Z.set(D.subarray(src, src + (owHi - owLo) * Co), ((n * ph.Z + zr) * pw.Z + owLo + pw.P) * Co);
            }
          }
          const F = float32View(backend, backendName, filter);
          const G = sub.view();
          for (let jh = 0; jh < ph.J; jh++) {
            for (let jw = 0; jw < pw.J; jw++) {
              const kh = rh + sh * (ph.J - 1 - jh);
              const kw = rw + sw * (pw.J - 1 - jw);
              const srcBase = (kh * KW + kw) * Ci * Co;
              const dstBase = (jh * pw.J + jw) * Co * Ci;
              for (let ci = 0; ci < Ci; ci++) {
                for (let co = 0; co < Co; co++) G[dstBase + co * Ci + ci] = F[srcBase + ci * Co + co] as number;
              }
            }
          }
        }
        const conv = calls.run('Conv2D', { x: z.info, filter: sub.info }, { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] });
        calls.release(z.info);
        calls.release(sub.info);
        if (!out) return calls.finish(conv); // stride 1: one phase, rows and columns already in dx order
        const C = float32View(backend, backendName, conv);
        const O = out.view();
        for (let n = 0; n < N; n++) {
          for (let u = 0; u < ph.nq; u++) {
            const ih = (ph.qmin + u) * sh + rh - pt;
            for (let v = 0; v < pw.nq; v++) {
              const iw = (pw.qmin + v) * sw + rw - pl;
              const src = ((n * ph.nq + u) * pw.nq + v) * Ci;
              O.set(C.subarray(src, src + Ci), ((n * H + ih) * W + iw) * Ci);
            }
          }
        }
        calls.release(conv);
      }
    }
    if (!out) throw new Error('Conv2DBackpropInput: stride 1 produced no phase'); // unreachable: J = K ≥ 1, nq = H, W ≥ 1
    return calls.finish(out.info);
  } catch (error) {
    calls.abort();
    throw error;
  }
}
