/**
 * L-BFGS on tfjs tensors (Nocedal 1980; Liu & Nocedal 1989), used to optimise image pixels as in Gatys et al. 2015
 * (arXiv 1508.06576) and jcjohnson/neural-style. A faithful port of PyTorch's `torch.optim.LBFGS` (1.13): the same
 * two-loop recursion, history handling (pairs with yᵀs ≤ 1e-10 are skipped), first step t = min(1, 1/‖g‖₁)·lr,
 * tolerances, and its strong-Wolfe line search (cubic interpolation, c1 = 1e-4, c2 = 0.9, at most 25 evaluations),
 * so `tools/torch_optimize.py` runs the same algorithm. `lineSearch: 'none'` is torch's default and what
 * jcjohnson/neural-style uses (fixed step lr = 1).
 *
 * One deliberate difference, with strong Wolfe: the first iteration's trial step. Torch's 1/‖g‖₁ is so small on an
 * image (‖g‖₁ sums ~10⁵ components) that the loss changes by ~1e-5 of itself there, a few hundred float32 ulps,
 * and the line search's first cubic extrapolation (f values differenced over that step) is decided by rounding:
 * wasm and WebGPU, whose losses differ in the last bit, took steps 20% apart and were 6% apart after iteration 1.
 * We start at the step whose linear prediction removes a tenth of the loss, 0.1·f/‖g‖² (the Polyak step for a
 * loss ≥ 0, scaled down): the loss then changes by a resolvable amount, the backends stay together to 1e-6 for
 * the first iterations, and the search usually accepts it at once (torch: 5–9 evaluations to extrapolate).
 *
 * Vectors are flat 1-D float32 tensors; only scalars (dot products, losses) are read back to the CPU. The
 * two-loop recursion stays on the device. Memory: 2·history vectors of the image's size.
 */
import * as tf from '@tensorflow/tfjs-core';
import { yieldToEventLoop } from '@hokusai/node';

export interface LbfgsOptions {
  /** Number of (s, y) pairs kept (torch's history_size; jcjohnson's default 100). */
  history?: number;
  /** Step length: later iterations try lr first (then line search from there); the first, see firstStep. */
  lr?: number;
  lineSearch?: 'strong-wolfe' | 'none';
  /**
   * First iteration's trial step: 'loss-fraction' 0.1·f/‖g‖²·lr (default with strong Wolfe; see the header) or
   * 'torch' min(1, 1/‖g‖₁)·lr (torch.optim.LBFGS; always used without a line search, where that step is taken as is).
   */
  firstStep?: 'loss-fraction' | 'torch';
  /** Stop when max|g| falls below this. */
  toleranceGrad?: number;
  /** Stop when the step or the loss change falls below this. */
  toleranceChange?: number;
  /**
   * Most objective evaluations in one `run`. Default ⌊1.25·maxIter⌋ + 25: torch's max_iter·1.25 plus room for the
   * first iteration's line search, which with firstStep 'torch' starts from the tiny step 1/‖g‖₁ and may need
   * several expansions (tools/torch_optimize.py passes the same max_eval).
   */
  maxEvals?: number;
}

/** Objective: loss value and gradient (a new tensor the optimiser owns and disposes) at a flat point. */
export type Objective = (x: tf.Tensor1D) => Promise<{ loss: number; grad: tf.Tensor1D }>;

export interface LbfgsIteration {
  iteration: number;
  loss: number;
  evals: number;
  step: number;
}

export interface RunHooks {
  /** After each iteration, with the current point (borrowed: copy it to keep it); return false to stop. */
  onIteration?: (it: LbfgsIteration, x: tf.Tensor1D) => boolean | void | Promise<boolean | void>;
  /** Checked after each iteration. */
  signal?: AbortSignal;
}

export type StopReason = 'iterations' | 'evaluations' | 'gradient' | 'step' | 'loss-change' | 'direction' | 'aborted';

export interface LbfgsResult {
  x: tf.Tensor1D;
  loss: number;
  iterations: number;
  evals: number;
  stopReason: StopReason;
}

/** The first trial step's predicted loss decrease, as a fraction of the loss ('loss-fraction'). */
export const FIRST_STEP_LOSS_FRACTION = 0.1;

/** Read a scalar computed by `f` (intermediates freed). Async: WebGPU in Node has no dataSync. */
const scalar = async (f: () => tf.Tensor): Promise<number> => {
  const t = tf.tidy(f);
  try {
    return (await t.data())[0] ?? NaN;
  } finally {
    t.dispose();
  }
};
const dot = (a: tf.Tensor1D, b: tf.Tensor1D): Promise<number> => scalar(() => tf.dot(a, b));
const absMax = (a: tf.Tensor): Promise<number> => scalar(() => tf.max(tf.abs(a)));

/** Cubic interpolation of the minimiser of f on [x1, x2] from values and slopes (torch's _cubic_interpolate). */
export function cubicInterpolate(
  x1: number,
  f1: number,
  g1: number,
  x2: number,
  f2: number,
  g2: number,
  bounds?: [number, number],
): number {
  const [lo, hi] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = g1 + g2 - (3 * (f1 - f2)) / (x1 - x2);
  const d2sq = d1 * d1 - g1 * g2;
  if (d2sq >= 0) {
    const d2 = Math.sqrt(d2sq);
    const minPos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2)) : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return Math.min(Math.max(minPos, lo), hi);
  }
  return (lo + hi) / 2;
}

interface Point {
  t: number;
  f: number;
  g: tf.Tensor1D;
  gtd: number;
}

/**
 * Strong-Wolfe line search along d from x (torch's _strong_wolfe). Returns the accepted step, its loss and gradient
 * (owned by the caller), and the number of evaluations. Disposes every other gradient it computed.
 */
async function strongWolfe(
  evaluate: (t: number) => Promise<{ loss: number; grad: tf.Tensor1D }>,
  d: tf.Tensor1D,
  t0: number,
  f: number,
  g: tf.Tensor1D,
  gtd: number,
  toleranceChange: number,
  c1 = 1e-4,
  c2 = 0.9,
  maxLs = 25,
): Promise<{ t: number; loss: number; grad: tf.Tensor1D; evals: number }> {
  const owned = new Set<tf.Tensor>();
  const own = (x: tf.Tensor1D): tf.Tensor1D => (owned.add(x), x);
  const dNorm = await absMax(d);
  let t = t0;
  let evals = 0;
  const eval_ = async (step: number): Promise<{ f: number; g: tf.Tensor1D; gtd: number }> => {
    const r = await evaluate(step);
    evals++;
    return { f: r.loss, g: own(r.grad), gtd: await dot(r.grad, d) };
  };
  let cur = await eval_(t);
  let prev: Point = { t: 0, f, g, gtd };
  let done = false;
  let lsIter = 0;
  let bracket: Point[] = [];
  while (lsIter < maxLs) {
    if (cur.f > f + c1 * t * gtd || (lsIter > 1 && cur.f >= prev.f)) {
      bracket = [prev, { t, ...cur }];
      break;
    }
    if (Math.abs(cur.gtd) <= -c2 * gtd) {
      bracket = [{ t, ...cur }];
      done = true;
      break;
    }
    if (cur.gtd >= 0) {
      bracket = [prev, { t, ...cur }];
      break;
    }
    const minStep = t + 0.01 * (t - prev.t);
    const maxStep = t * 10;
    const tmp = t;
    t = cubicInterpolate(prev.t, prev.f, prev.gtd, t, cur.f, cur.gtd, [minStep, maxStep]);
    prev = { t: tmp, ...cur };
    cur = await eval_(t);
    lsIter++;
  }
  if (lsIter === maxLs) bracket = [{ t: 0, f, g, gtd }, { t, ...cur }];

  // Zoom phase.
  let insufProgress = false;
  const order = (): [number, number] => ((bracket[0]?.f ?? 0) <= (bracket[bracket.length - 1]?.f ?? 0) ? [0, 1] : [1, 0]);
  let [lowPos, highPos] = order();
  while (!done && lsIter < maxLs && bracket.length === 2) {
    const b0 = bracket[0] as Point;
    const b1 = bracket[1] as Point;
    if (Math.abs(b1.t - b0.t) * dNorm < toleranceChange) break;
    t = cubicInterpolate(b0.t, b0.f, b0.gtd, b1.t, b1.f, b1.gtd);
    const bMax = Math.max(b0.t, b1.t);
    const bMin = Math.min(b0.t, b1.t);
    const eps = 0.1 * (bMax - bMin);
    if (Math.min(bMax - t, t - bMin) < eps) {
      if (insufProgress || t >= bMax || t <= bMin) {
        t = Math.abs(t - bMax) < Math.abs(t - bMin) ? bMax - eps : bMin + eps;
        insufProgress = false;
      } else insufProgress = true;
    } else insufProgress = false;
    cur = await eval_(t);
    lsIter++;
    const low = bracket[lowPos] as Point;
    const high = bracket[highPos] as Point;
    if (cur.f > f + c1 * t * gtd || cur.f >= low.f) {
      bracket[highPos] = { t, ...cur };
      [lowPos, highPos] = order();
    } else {
      if (Math.abs(cur.gtd) <= -c2 * gtd) done = true;
      else if (cur.gtd * (high.t - low.t) >= 0) bracket[highPos] = low;
      bracket[lowPos] = { t, ...cur };
    }
  }
  const best = (bracket.length === 1 ? bracket[0] : bracket[lowPos]) as Point;
  for (const x of owned) if (x !== best.g) x.dispose();
  // best.g may be the caller's g (t = 0): hand back a copy so ownership stays simple.
  const grad = best.g === g ? tf.clone(g) : best.g;
  return { t: best.t, loss: best.f, grad, evals };
}

/** Per-run state of the optimiser (torch keeps it across `step` calls; one `run` here is one `step(max_iter)`). */
export class Lbfgs {
  readonly history: number;
  readonly lr: number;
  readonly lineSearch: 'strong-wolfe' | 'none';
  readonly firstStep: 'loss-fraction' | 'torch';
  readonly toleranceGrad: number;
  readonly toleranceChange: number;
  private readonly maxEvalsOpt: number | undefined;

  constructor(opts: LbfgsOptions = {}) {
    this.history = opts.history ?? 100;
    this.lr = opts.lr ?? 1;
    this.lineSearch = opts.lineSearch ?? 'strong-wolfe';
    this.firstStep = this.lineSearch === 'none' ? 'torch' : (opts.firstStep ?? 'loss-fraction');
    this.toleranceGrad = opts.toleranceGrad ?? 1e-7;
    this.toleranceChange = opts.toleranceChange ?? 1e-9;
    this.maxEvalsOpt = opts.maxEvals;
    if (!(Number.isInteger(this.history) && this.history >= 1)) throw new RangeError(`L-BFGS history: expected an integer ≥ 1, got ${opts.history}`);
    if (!(this.lr > 0)) throw new RangeError(`L-BFGS lr: expected > 0, got ${opts.lr}`);
  }

  /**
   * Minimise `objective` from x0 for at most `maxIter` iterations. The caller keeps x0; the result's x is new.
   * `onIteration` runs after each iteration (return false to stop); `signal` stops after the current iteration.
   * Yields to the event loop between iterations.
   */
  async run(
    objective: Objective,
    x0: tf.Tensor1D,
    maxIter: number,
    hooks: RunHooks = {},
  ): Promise<LbfgsResult> {
    const maxEvals = this.maxEvalsOpt ?? Math.floor(maxIter * 1.25) + 25;
    let x = tf.clone(x0);
    let { loss, grad: g } = await objective(x);
    let evals = 1;
    const dirs: tf.Tensor1D[] = []; // y
    const stps: tf.Tensor1D[] = []; // s
    const ro: number[] = [];
    let hDiag = 1;
    let d: tf.Tensor1D | null = null;
    let prevG: tf.Tensor1D | null = null;
    let t = 0;
    let iter = 0;
    let stopReason: StopReason = 'iterations';
    const free = (...ts: (tf.Tensor | null)[]): void => ts.forEach((v) => v?.dispose());

    try {
      if ((await absMax(g)) <= this.toleranceGrad) return { x: tf.clone(x), loss, iterations: 0, evals, stopReason: 'gradient' };
      while (iter < maxIter) {
        iter++;
        if (iter === 1 || d === null || prevG === null) {
          d = tf.neg(g);
          hDiag = 1;
        } else {
          const y = tf.sub(g, prevG) as tf.Tensor1D;
          const s = tf.mul(d, t) as tf.Tensor1D;
          const ys = await dot(y, s);
          if (ys > 1e-10) {
            if (dirs.length === this.history) {
              free(dirs.shift() ?? null, stps.shift() ?? null);
              ro.shift();
            }
            dirs.push(y);
            stps.push(s);
            ro.push(1 / ys);
            hDiag = ys / (await dot(y, y));
          } else free(y, s);
          const dNew = tf.tidy(() => {
            const al: tf.Scalar[] = new Array(dirs.length);
            let q: tf.Tensor1D = tf.neg(g);
            for (let i = dirs.length - 1; i >= 0; i--) {
              const a = tf.mul(tf.dot(stps[i] as tf.Tensor1D, q), ro[i] as number) as tf.Scalar;
              al[i] = a;
              q = tf.sub(q, tf.mul(dirs[i] as tf.Tensor1D, a));
            }
            let r: tf.Tensor1D = tf.mul(q, hDiag);
            for (let i = 0; i < dirs.length; i++) {
              const be = tf.mul(tf.dot(dirs[i] as tf.Tensor1D, r), ro[i] as number);
              r = tf.add(r, tf.mul(stps[i] as tf.Tensor1D, tf.sub(al[i] as tf.Scalar, be)));
            }
            return r;
          });
          free(d);
          d = dNew;
        }
        free(prevG);
        prevG = tf.clone(g);
        const prevLoss = loss;
        const gtd = await dot(g, d);
        if (gtd > -this.toleranceChange) {
          stopReason = 'direction';
          break;
        }
        if (iter > 1) t = this.lr;
        // d = −g here, so −gtd = ‖g‖².
        else if (this.firstStep === 'loss-fraction') t = ((FIRST_STEP_LOSS_FRACTION * Math.abs(loss)) / -gtd) * this.lr;
        else t = Math.min(1, 1 / (await scalar(() => tf.sum(tf.abs(g))))) * this.lr;
        let lsEvals = 0;
        const dir = d;
        if (this.lineSearch === 'strong-wolfe') {
          const xInit = x;
          const res = await strongWolfe(
            async (step) => {
              const xt = tf.tidy(() => tf.add(xInit, tf.mul(dir, step)) as tf.Tensor1D);
              try {
                return await objective(xt);
              } finally {
                xt.dispose();
              }
            },
            dir,
            t,
            loss,
            g,
            gtd,
            this.toleranceChange,
          );
          x = tf.tidy(() => tf.add(xInit, tf.mul(dir, res.t)) as tf.Tensor1D);
          free(xInit, g);
          g = res.grad;
          loss = res.loss;
          t = res.t;
          lsEvals = res.evals;
        } else {
          const xOld = x;
          x = tf.tidy(() => tf.add(xOld, tf.mul(dir, t)) as tf.Tensor1D);
          free(xOld);
          if (iter !== maxIter) {
            free(g);
            ({ loss, grad: g } = await objective(x));
            lsEvals = 1;
          }
        }
        evals += lsEvals;
        const goOn = await hooks.onIteration?.({ iteration: iter, loss, evals, step: t }, x);
        await yieldToEventLoop();
        if (!Number.isFinite(loss)) {
          stopReason = 'loss-change';
          break;
        }
        if (iter === maxIter) {
          stopReason = 'iterations';
          break;
        }
        if (goOn === false || hooks.signal?.aborted) {
          stopReason = 'aborted';
          break;
        }
        if (evals >= maxEvals) {
          stopReason = 'evaluations';
          break;
        }
        if ((await absMax(g)) <= this.toleranceGrad) {
          stopReason = 'gradient';
          break;
        }
        if (Math.abs(t) * (await absMax(d)) <= this.toleranceChange) {
          stopReason = 'step';
          break;
        }
        if (Math.abs(loss - prevLoss) < this.toleranceChange) {
          stopReason = 'loss-change';
          break;
        }
      }
      return { x: tf.clone(x), loss, iterations: iter, evals, stopReason };
    } finally {
      free(x, g, d, prevG, ...dirs, ...stps);
    }
  }
}
