// Plain-TypeScript reference implementations (direct loops from the definitions) that our kernel tests compare
// against, plus a deterministic PRNG. Independent of every tfjs kernel.

/** mulberry32: small deterministic PRNG, values in [-1, 1). */
export function randomValues(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

export interface ConvGeometry {
  N: number;
  H: number;
  W: number;
  Ci: number;
  Co: number;
  KH: number;
  KW: number;
  sh: number;
  sw: number;
  /** Zero padding before the first row / column (from the SAME/VALID/explicit rule). */
  top: number;
  left: number;
  OH: number;
  OW: number;
}

/** y[n,oh,ow,co] = Σ x[n, oh·sh+kh−top, ow·sw+kw−left, ci] · w[kh,kw,ci,co] (out-of-range x = 0). */
export function conv2dRef(g: ConvGeometry, x: Float32Array, w: Float32Array): Float32Array {
  const y = new Float32Array(g.N * g.OH * g.OW * g.Co);
  for (let n = 0; n < g.N; n++)
    for (let oh = 0; oh < g.OH; oh++)
      for (let ow = 0; ow < g.OW; ow++)
        for (let kh = 0; kh < g.KH; kh++) {
          const ih = oh * g.sh + kh - g.top;
          if (ih < 0 || ih >= g.H) continue;
          for (let kw = 0; kw < g.KW; kw++) {
            const iw = ow * g.sw + kw - g.left;
            if (iw < 0 || iw >= g.W) continue;
            for (let ci = 0; ci < g.Ci; ci++) {
              const xv = x[((n * g.H + ih) * g.W + iw) * g.Ci + ci] as number;
              for (let co = 0; co < g.Co; co++) {
                const yi = ((n * g.OH + oh) * g.OW + ow) * g.Co + co;
                y[yi] = (y[yi] as number) + xv * (w[((kh * g.KW + kw) * g.Ci + ci) * g.Co + co] as number);
              }
            }
          }
        }
  return y;
}

/** dW[kh,kw,ci,co] = Σ_{n,oh,ow} x[n, oh·sh+kh−top, ow·sw+kw−left, ci] · dy[n,oh,ow,co]. */
export function conv2dBackpropFilterRef(g: ConvGeometry, x: Float32Array, dy: Float32Array): Float32Array {
  const dw = new Float64Array(g.KH * g.KW * g.Ci * g.Co);
  for (let n = 0; n < g.N; n++)
    for (let oh = 0; oh < g.OH; oh++)
      for (let ow = 0; ow < g.OW; ow++)
        for (let kh = 0; kh < g.KH; kh++) {
          const ih = oh * g.sh + kh - g.top;
          if (ih < 0 || ih >= g.H) continue;
          for (let kw = 0; kw < g.KW; kw++) {
            const iw = ow * g.sw + kw - g.left;
            if (iw < 0 || iw >= g.W) continue;
            for (let ci = 0; ci < g.Ci; ci++) {
              const xv = x[((n * g.H + ih) * g.W + iw) * g.Ci + ci] as number;
              for (let co = 0; co < g.Co; co++) {
                const wi = ((kh * g.KW + kw) * g.Ci + ci) * g.Co + co;
                dw[wi] = (dw[wi] as number) + xv * (dy[((n * g.OH + oh) * g.OW + ow) * g.Co + co] as number);
              }
            }
          }
        }
  return Float32Array.from(dw);
}

/** dx[n,ih,iw,ci] = Σ dy[n,oh,ow,co] · w[kh,kw,ci,co] over ih = oh·sh+kh−top, iw = ow·sw+kw−left. */
export function conv2dBackpropInputRef(g: ConvGeometry, dy: Float32Array, w: Float32Array): Float32Array {
  const dx = new Float64Array(g.N * g.H * g.W * g.Ci);
  for (let n = 0; n < g.N; n++)
    for (let oh = 0; oh < g.OH; oh++)
      for (let ow = 0; ow < g.OW; ow++)
        for (let kh = 0; kh < g.KH; kh++) {
          const ih = oh * g.sh + kh - g.top;
          if (ih < 0 || ih >= g.H) continue;
          for (let kw = 0; kw < g.KW; kw++) {
            const iw = ow * g.sw + kw - g.left;
            if (iw < 0 || iw >= g.W) continue;
            for (let ci = 0; ci < g.Ci; ci++) {
              let s = 0;
              for (let co = 0; co < g.Co; co++) {
                s += (dy[((n * g.OH + oh) * g.OW + ow) * g.Co + co] as number) * (w[((kh * g.KW + kw) * g.Ci + ci) * g.Co + co] as number);
              }
              const xi = ((n * g.H + ih) * g.W + iw) * g.Ci + ci;
              dx[xi] = (dx[xi] as number) + s;
            }
          }
        }
  return Float32Array.from(dx);
}

/**
 * Nearest-neighbour resize gradient by brute force: for every output pixel, find its source with the textbook
 * rule (TF's legacy and half-pixel conventions) and add dy there.
 */
export function resizeNearestGradRef(
  dy: Float32Array,
  dyShape: [number, number, number, number],
  inH: number,
  inW: number,
  alignCorners: boolean,
  halfPixelCenters: boolean,
): Float32Array {
  const [N, OH, OW, C] = dyShape;
  const src = (i: number, inSize: number, outSize: number): number => {
    const scale = alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
    const f = halfPixelCenters ? (i + 0.5) * scale : i * scale;
    const j = alignCorners ? Math.round(f) : Math.floor(f);
    return Math.max(0, Math.min(inSize - 1, j));
  };
  const dx = new Float32Array(N * inH * inW * C);
  for (let n = 0; n < N; n++)
    for (let r = 0; r < OH; r++)
      for (let c = 0; c < OW; c++)
        for (let d = 0; d < C; d++) {
          const i = ((n * inH + src(r, inH, OH)) * inW + src(c, inW, OW)) * C + d;
          dx[i] = (dx[i] as number) + (dy[((n * OH + r) * OW + c) * C + d] as number);
        }
  return dx;
}

/** max |a − b| / max(max |b|, 1e-6): the relative error measure the kernel tests bound by 1e-4. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 1e-6;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return diff / scale;
}

/** out[i_0..i_k] = x[i_0 mod s_0, …, i_k mod s_k], by explicit multi-index arithmetic. */
export function tileRef(x: number[], shape: readonly number[], reps: readonly number[]): number[] {
  const outShape = shape.map((d, i) => d * (reps[i] as number));
  const total = outShape.reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let flat = 0; flat < total; flat++) {
    let rem = flat;
    let src = 0;
    let stride = 1;
    const idx: number[] = [];
    for (let i = outShape.length - 1; i >= 0; i--) {
      idx[i] = rem % (outShape[i] as number);
      rem = Math.floor(rem / (outShape[i] as number));
    }
    for (let i = shape.length - 1; i >= 0; i--) {
      src += ((idx[i] as number) % (shape[i] as number)) * stride;
      stride *= shape[i] as number;
    }
    out.push(x[src] as number);
  }
  return out;
}
