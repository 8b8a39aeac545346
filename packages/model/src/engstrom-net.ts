/**
 * Logan Engstrom's fast-style-transfer network (github.com/lengstrom/fast-style-transfer, src/transform.py), a
 * variant of Johnson et al. 2016: zero "SAME" padding, bias-free convolutions, instance norm with eps 1e-3 on the
 * variance, two stride-2 transposed convolutions for upsampling, and output `tanh(y)·150 + 127.5`.
 * Layer table: reference-models/engstrom-wave/SOURCE.md of the shared data ($HOKUSAI_SHARED, default ../shared).
 * Input is RGB 0–255 fed as is.
 * Weight names follow the Johnson net's (conv1.weight, in1.weight = IN scale, in1.bias = IN shift, …);
 * `ml5-import.ts` maps the ml5 `Variable_i` names onto them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { instanceNorm } from './instance-norm.ts';
import { convSpecs, normSpecs as normSpecsScaleFirst, type WeightSpec } from './weight-spec.ts';

export const ENGSTROM_IN_EPS = 1e-3;
export const ENGSTROM_RESIDUAL_BLOCKS = 5;

/** Weight specs in ml5 variable order (Variable, Variable_1, … Variable_47). */
export function engstromWeightSpecs(): WeightSpec[] {
  // The ml5 order puts each IN's shift (our `.bias`) before its scale (our `.weight`).
  const normSpecs = (prefix: string, c: number): WeightSpec[] => normSpecsScaleFirst(prefix, c).reverse();
  const specs: WeightSpec[] = [
    ...convSpecs('conv1', 9, 3, 32, false),
    ...normSpecs('in1', 32),
    ...convSpecs('conv2', 3, 32, 64, false),
    ...normSpecs('in2', 64),
    ...convSpecs('conv3', 3, 64, 128, false),
    ...normSpecs('in3', 128),
  ];
  for (let r = 1; r <= ENGSTROM_RESIDUAL_BLOCKS; r++) {
    specs.push(...convSpecs(`res${r}.conv1`, 3, 128, 128, false), ...normSpecs(`res${r}.in1`, 128));
    specs.push(...convSpecs(`res${r}.conv2`, 3, 128, 128, false), ...normSpecs(`res${r}.in2`, 128));
  }
  // Transposed convs: kernel [kh, kw, out, in].
  specs.push({ name: 'deconv1.weight', shape: [3, 3, 64, 128], init: 'uniform', fanIn: 9 * 128 });
  specs.push(...normSpecs('in4', 64));
  specs.push({ name: 'deconv2.weight', shape: [3, 3, 32, 64], init: 'uniform', fanIn: 9 * 64 });
  specs.push(...normSpecs('in5', 32));
  specs.push(...convSpecs('deconv3', 9, 32, 3, false), ...normSpecs('in6', 3));
  return specs;
}

type Get = (name: string) => tf.Tensor;

function convIn(x: tf.Tensor4D, w: Get, conv: string, norm: string, stride: number, relu: boolean): tf.Tensor4D {
  const y = tf.conv2d(x, w(`${conv}.weight`) as tf.Tensor4D, stride, 'same');
  const n = instanceNorm(y, w(`${norm}.weight`) as tf.Tensor1D, w(`${norm}.bias`) as tf.Tensor1D, ENGSTROM_IN_EPS);
  return relu ? tf.relu(n) : n;
}

/**
 * TF's `conv2d_transpose(x, W, [N,2H,2W,out], stride 2, 'SAME')` for a 3×3 kernel W [3,3,out,in]:
 * out[2i+ky, 2j+kx] += x[i,j] · W[ky,kx]ᵀ, the row/column at 2H/2W dropped. Computed as zero insertion
 * (z[2i] = x[i], z[2i+1] = 0), 2 zero rows/columns before, and a valid 3×3 conv with the spatially flipped,
 * in/out-swapped kernel. Same result as tf.conv2dTranspose, but only plain conv2d/pad/reshape kernels, which are
 * fast and have gradients on every backend (wasm's Conv2DBackpropInput is a slow scalar loop upstream).
 */
export function convTranspose3x3Stride2(x: tf.Tensor4D, kernel: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    if (kernel.shape[0] !== 3 || kernel.shape[1] !== 3 || kernel.shape[3] !== c) {
      throw new Error(`convTranspose3x3Stride2: expected kernel [3,3,out,${c}], got [${kernel.shape.join(',')}]`);
    }
    const gap = (t: tf.Tensor): tf.Tensor => tf.pad(t, [[0, 0], [0, 0], [0, 1], [0, 0]]);
    const wide = tf.reshape(gap(tf.reshape(x, [n * h, w, 1, c])), [n, h, 1, 2 * w * c]);
    const z = tf.reshape(gap(wide), [n, 2 * h, 2 * w, c]);
    const zp = tf.pad(z, [[0, 0], [2, 0], [2, 0], [0, 0]]) as tf.Tensor4D;
    const k = tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    return tf.conv2d(zp, k, 1, 'valid');
  });
}

function deconvIn(x: tf.Tensor4D, w: Get, conv: string, norm: string): tf.Tensor4D {
  const y = convTranspose3x3Stride2(x, w(`${conv}.weight`) as tf.Tensor4D);
  return tf.relu(instanceNorm(y, w(`${norm}.weight`) as tf.Tensor1D, w(`${norm}.bias`) as tf.Tensor1D, ENGSTROM_IN_EPS));
}

/**
 * Forward pass on [N,H,W,3] 0–255. The network's own output is 4·⌈H/4⌉ × 4·⌈W/4⌉; it is cropped back to H×W
 * keeping the last rows/columns, which reproduces lengstrom's published samples (they equal our output with the
 * first 2 rows removed for H = 474, see SOURCE.md). Output is unclamped (tanh bounds it to [−22.5, 277.5]).
 */
export function engstromForward(x: tf.Tensor4D, w: Get): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, wd] = x.shape;
    let y = convIn(x, w, 'conv1', 'in1', 1, true);
    y = convIn(y, w, 'conv2', 'in2', 2, true);
    y = convIn(y, w, 'conv3', 'in3', 2, true);
    for (let r = 1; r <= ENGSTROM_RESIDUAL_BLOCKS; r++) {
      const t = convIn(y, w, `res${r}.conv1`, `res${r}.in1`, 1, true);
      y = tf.add(y, convIn(t, w, `res${r}.conv2`, `res${r}.in2`, 1, false));
    }
    y = deconvIn(y, w, 'deconv1', 'in4');
    y = deconvIn(y, w, 'deconv2', 'in5');
    y = convIn(y, w, 'deconv3', 'in6', 1, false);
    const out = tf.add(tf.mul(tf.tanh(y), 150), 127.5) as tf.Tensor4D;
    const [, oh, ow] = out.shape;
    if (oh === h && ow === wd) return out;
    return tf.slice(out, [0, oh - h, ow - wd, 0], [-1, h, wd, -1]);
  });
}
