/**
 * Conv2DBackpropInput (the input gradient of a 2-D convolution, also the forward pass of a transposed
 * convolution) for the wasm backend, expressed as an ordinary stride-1 VALID convolution so that it runs on
 * XNNPACK: dx = conv2d(pad(dilate(dy, stride)), rot180(W)ᵀ) (Dumoulin & Visin 2016, "A guide to convolution
 * arithmetic for deep learning", §4: a transposed convolution is a direct convolution of the zero-inserted,
 * zero-padded input with the spatially flipped kernel).
 *
 * Why: tfjs-backend-wasm 4.22's Conv2DBackpropInput is a scalar C++ loop, many times slower than its Conv2D.
 * The zero-inserted, padded dy is written directly in the backend's memory (so negative "padding" from
 * unusual explicit pads is just cropping), the flipped filter likewise.
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
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: Ci, outChannels: Co } = info;
  const { outHeight: OH, outWidth: OW, filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  if (dy.shape[1] !== OH || dy.shape[2] !== OW || dy.shape[3] !== Co) {
    throw new Error(`Conv2DBackpropInput: expected dy of shape [${N},${OH},${OW},${Co}], got [${dy.shape.join(',')}]`);
  }
  // Row ih of dx sums dy row oh with filter row kh where ih = oh·sh + kh − pt. In the padded, dilated
  // map Z (height H + KH − 1), dy row oh sits at row oh·sh + (KH − 1 − pt); a VALID conv with the flipped
  // filter then yields exactly H rows.
  const top = KH - 1 - info.padInfo.top;
  const left = KW - 1 - info.padInfo.left;
  const ZH = H + KH - 1;
  const ZW = W + KW - 1;
  const calls = new KernelCalls(args.backend, backendName);
  try {
    const z = allocFloat32(args.backend, backendName, [N, ZH, ZW, Co]);
    calls.own(z.info);
    const flipped = allocFloat32(args.backend, backendName, [KH, KW, Co, Ci]);
    calls.own(flipped.info);
    const Z = z.view();
    const D = float32View(args.backend, backendName, dy);
    Z.fill(0);
    const owLo = Math.max(0, Math.ceil(-left / sw));
    const owHi = Math.min(OW, Math.floor((ZW - 1 - left) / sw) + 1);
    for (let n = 0; n < N; n++) {
      for (let oh = 0; oh < OH; oh++) {
        const zr = oh * sh + top;
        if (zr < 0 || zr >= ZH) continue;
        const zRow = (n * ZH + zr) * ZW;
        const dRow = (n * OH + oh) * OW;
        if (sw === 1) {
          if (owHi > owLo) Z.set(D.subarray((dRow + owLo) * Co, (dRow + owHi) * Co), (zRow + owLo + left) * Co);
        } else {
          for (let ow = owLo; ow < owHi; ow++) {
            const dst = (zRow + ow * sw + left) * Co;
            const src = (dRow + ow) * Co;
            for (let c = 0; c < Co; c++) Z[dst + c] = D[src + c] as number;
          }
        }
      }
    }
    const F = float32View(args.backend, backendName, filter);
    const R = flipped.view();
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const src = ((KH - 1 - kh) * KW + (KW - 1 - kw)) * Ci * Co;
        const dst = (kh * KW + kw) * Co * Ci;
        for (let ci = 0; ci < Ci; ci++) {
          for (let co = 0; co < Co; co++) R[dst + co * Ci + ci] = F[src + ci * Co + co] as number;
        }
      }
    }
    const dx = calls.run(
      'Conv2D',
      { x: z.info, filter: flipped.info },
      { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] },
    );
    return calls.finish(dx);
  } catch (error) {
    calls.abort();
    throw error;
  }
}
