/**
 * Colour preservation for neural style transfer (Gatys, Bethge, Hertzmann & Shechtman 2016, "Preserving Color in
 * Neural Artistic Style Transfer", arXiv 1606.05897):
 * - `luminance`: luminance-only transfer. Before optimising, the style image's luminance is matched to the
 *   content's (mean and standard deviation, eq. 1 of the paper); afterwards the result keeps its own luminance (Y of
 *   YIQ) and takes the content image's colour channels (I, Q), as jcjohnson/neural-style's `-original_colors 1`.
 * - `histogram`: colour histogram matching. Before optimising, the style image's colours are mapped by the affine
 *   transform x' = A(x − μs) + μc with A = Σc^½ Σs^−½ (the "Image Analogies" variant of section 2.1), so its mean
 *   and covariance equal the content's.
 * Images are interleaved RGB float arrays, 0–255, length 3·pixels.
 */

const RGB_TO_YIQ = [
  [0.299, 0.587, 0.114],
  [0.595716, -0.274453, -0.321263],
  [0.211456, -0.522591, 0.311135],
] as const;

/** Inverse of RGB_TO_YIQ (computed, so the round trip is exact to float precision). */
const YIQ_TO_RGB = invert3(RGB_TO_YIQ.map((r) => [...r]));

type Mat3 = number[][];

function invert3(m: Mat3): Mat3 {
  const [a, b, c] = m[0] as number[];
  const [d, e, f] = m[1] as number[];
  const [g, h, i] = m[2] as number[];
  const [A, B, C, D, E, F, G, H, I] = [a, b, c, d, e, f, g, h, i] as number[] as [number, number, number, number, number, number, number, number, number];
  const det = A * (E * I - F * H) - B * (D * I - F * G) + C * (D * H - E * G);
  return [
    [(E * I - F * H) / det, (C * H - B * I) / det, (B * F - C * E) / det],
    [(F * G - D * I) / det, (A * I - C * G) / det, (C * D - A * F) / det],
    [(D * H - E * G) / det, (B * G - A * H) / det, (A * E - B * D) / det],
  ];
}

function applyMat(m: Mat3 | readonly (readonly number[])[], src: ArrayLike<number>, offset: readonly number[] = [0, 0, 0], pre: readonly number[] = [0, 0, 0]): Float32Array {
  const out = new Float32Array(src.length);
  const r0 = m[0] as number[];
  const r1 = m[1] as number[];
  const r2 = m[2] as number[];
  const [p0, p1, p2] = pre as [number, number, number];
  const [o0, o1, o2] = offset as [number, number, number];
  for (let i = 0; i < src.length; i += 3) {
    const x = (src[i] as number) - p0;
    const y = (src[i + 1] as number) - p1;
    const z = (src[i + 2] as number) - p2;
    out[i] = (r0[0] as number) * x + (r0[1] as number) * y + (r0[2] as number) * z + o0;
    out[i + 1] = (r1[0] as number) * x + (r1[1] as number) * y + (r1[2] as number) * z + o1;
    out[i + 2] = (r2[0] as number) * x + (r2[1] as number) * y + (r2[2] as number) * z + o2;
  }
  return out;
}

export function rgbToYiq(rgb: ArrayLike<number>): Float32Array {
  return applyMat(RGB_TO_YIQ, rgb);
}

export function yiqToRgb(yiq: ArrayLike<number>): Float32Array {
  return applyMat(YIQ_TO_RGB, yiq);
}

function clamp255(a: Float32Array): Float32Array {
  for (let i = 0; i < a.length; i++) a[i] = Math.min(255, Math.max(0, a[i] as number));
  return a;
}

/** Resample interleaved RGB (bilinear) so two images of different sizes can be combined. */
export function resizeRgb(src: ArrayLike<number>, w: number, h: number, W: number, H: number): Float32Array {
  const out = new Float32Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(h - 1, Math.max(0, ((y + 0.5) * h) / H - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(h - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < W; x++) {
      const sx = Math.min(w - 1, Math.max(0, ((x + 0.5) * w) / W - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(w - 1, x0 + 1);
      const fx = sx - x0;
      for (let c = 0; c < 3; c++) {
        const v00 = src[(y0 * w + x0) * 3 + c] as number;
        const v01 = src[(y0 * w + x1) * 3 + c] as number;
        const v10 = src[(y1 * w + x0) * 3 + c] as number;
        const v11 = src[(y1 * w + x1) * 3 + c] as number;
        out[(y * W + x) * 3 + c] = (v00 * (1 - fx) + v01 * fx) * (1 - fy) + (v10 * (1 - fx) + v11 * fx) * fy;
      }
    }
  }
  return out;
}

/** Result's luminance with the content's chroma (content resampled to the result's size when they differ). */
export function keepContentColors(
  result: { data: ArrayLike<number>; width: number; height: number },
  content: { data: ArrayLike<number>; width: number; height: number },
): Float32Array {
  const c =
    content.width === result.width && content.height === result.height
      ? content.data
      : resizeRgb(content.data, content.width, content.height, result.width, result.height);
  const ry = rgbToYiq(result.data);
  const cy = rgbToYiq(c);
  for (let i = 0; i < ry.length; i += 3) {
    ry[i + 1] = cy[i + 1] as number;
    ry[i + 2] = cy[i + 2] as number;
  }
  return clamp255(yiqToRgb(ry));
}

function meanStdOfLuma(yiq: Float32Array): { mean: number; std: number } {
  let s = 0;
  let s2 = 0;
  const n = yiq.length / 3;
  for (let i = 0; i < yiq.length; i += 3) {
    const v = yiq[i] as number;
    s += v;
    s2 += v * v;
  }
  const mean = s / n;
  return { mean, std: Math.sqrt(Math.max(0, s2 / n - mean * mean)) };
}

/** Style with its luminance's mean and standard deviation matched to the content's (eq. 1), chroma kept. */
export function matchLuminance(style: ArrayLike<number>, content: ArrayLike<number>): Float32Array {
  const sy = rgbToYiq(style);
  const cy = rgbToYiq(content);
  const s = meanStdOfLuma(sy);
  const c = meanStdOfLuma(cy);
  const k = s.std > 1e-6 ? c.std / s.std : 1;
  for (let i = 0; i < sy.length; i += 3) sy[i] = ((sy[i] as number) - s.mean) * k + c.mean;
  return clamp255(yiqToRgb(sy));
}

function meanCov(rgb: ArrayLike<number>): { mean: number[]; cov: Mat3 } {
  const n = rgb.length / 3;
  const mean = [0, 0, 0];
  for (let i = 0; i < rgb.length; i += 3) for (let c = 0; c < 3; c++) mean[c] = (mean[c] as number) + (rgb[i + c] as number) / n;
  const cov: Mat3 = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  for (let i = 0; i < rgb.length; i += 3) {
    for (let a = 0; a < 3; a++) {
      const da = (rgb[i + a] as number) - (mean[a] as number);
      for (let b = a; b < 3; b++) (cov[a] as number[])[b] = ((cov[a] as number[])[b] as number) + (da * ((rgb[i + b] as number) - (mean[b] as number))) / n;
    }
  }
  for (let a = 0; a < 3; a++) for (let b = 0; b < a; b++) (cov[a] as number[])[b] = (cov[b] as number[])[a] as number;
  return { mean, cov };
}

/** Symmetric 3×3 eigen-decomposition by Jacobi rotations: m = V diag(values) Vᵀ (columns of V are vectors). */
export function eigSym3(m: Mat3): { values: number[]; vectors: Mat3 } {
  const a = m.map((r) => [...r]);
  const v: Mat3 = [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ];
  const g = (M: Mat3, i: number, j: number): number => (M[i] as number[])[j] as number;
  const s = (M: Mat3, i: number, j: number, x: number): void => void ((M[i] as number[])[j] = x);
  for (let sweep = 0; sweep < 50; sweep++) {
    const off = g(a, 0, 1) ** 2 + g(a, 0, 2) ** 2 + g(a, 1, 2) ** 2;
    if (off < 1e-30) break;
    for (const [p, q] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ] as const) {
      const apq = g(a, p, q);
      if (Math.abs(apq) < 1e-300) continue;
      const theta = (g(a, q, q) - g(a, p, p)) / (2 * apq);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1);
      const sn = t * c;
      for (let k = 0; k < 3; k++) {
        const akp = g(a, k, p);
        const akq = g(a, k, q);
        s(a, k, p, c * akp - sn * akq);
        s(a, k, q, sn * akp + c * akq);
      }
      for (let k = 0; k < 3; k++) {
        const apk = g(a, p, k);
        const aqk = g(a, q, k);
        s(a, p, k, c * apk - sn * aqk);
        s(a, q, k, sn * apk + c * aqk);
      }
      for (let k = 0; k < 3; k++) {
        const vkp = g(v, k, p);
        const vkq = g(v, k, q);
        s(v, k, p, c * vkp - sn * vkq);
        s(v, k, q, sn * vkp + c * vkq);
      }
    }
  }
  return { values: [g(a, 0, 0), g(a, 1, 1), g(a, 2, 2)], vectors: v };
}

function symPow(m: Mat3, p: number): Mat3 {
  const { values, vectors } = eigSym3(m);
  const d = values.map((x) => Math.max(x, 1e-8) ** p);
  const out: Mat3 = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) {
      let acc = 0;
      for (let k = 0; k < 3; k++) acc += ((vectors[i] as number[])[k] as number) * (d[k] as number) * ((vectors[j] as number[])[k] as number);
      (out[i] as number[])[j] = acc;
    }
  return out;
}

function matMul(a: Mat3, b: Mat3): Mat3 {
  return a.map((row) => [0, 1, 2].map((j) => row.reduce((acc, x, k) => acc + x * ((b[k] as number[])[j] as number), 0)));
}

/** Style recoloured so its colour mean and covariance equal the content's (Image Analogies transform). */
export function matchColorHistogram(style: ArrayLike<number>, content: ArrayLike<number>): Float32Array {
  const s = meanCov(style);
  const c = meanCov(content);
  const A = matMul(symPow(c.cov, 0.5), symPow(s.cov, -0.5));
  return clamp255(applyMat(A, style, c.mean, s.mean));
}

/** Statistics for tests and the sidecar: per-channel means and covariance. */
export function colorStats(rgb: ArrayLike<number>): { mean: number[]; cov: number[][] } {
  return meanCov(rgb);
}
