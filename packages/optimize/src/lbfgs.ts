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

/** The line search's constants: the start's loss f and slope gtd, the Wolfe constants and the evaluation budget. */
interface WolfeSpec {
  f: number;
  gtd: number;
  c1: number;
  c2: number;
  maxLs: number;
}

/** Evaluates the loss at step t along d (and counts the evaluation). */
type Probe = (t: number) => Promise<Point>;

/** The state the bracketing phase hands to the zoom phase. */
interface Bracketed {
  bracket: Point[];
  done: boolean;
  lsIter: number;
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
  const dNorm = await absMax(d);
  let evals = 0;
  const probe: Probe = async (step) => {
    const r = await evaluate(step);
    evals++;
    owned.add(r.grad);
    return { t: step, f: r.loss, g: r.grad, gtd: await dot(r.grad, d) };
  };
  const spec: WolfeSpec = { f, gtd, c1, c2, maxLs };
  const start: Point = { t: 0, f, g, gtd };
  const best = await zoom(probe, await bracketPhase(probe, start, t0, spec), spec, dNorm, toleranceChange);
  for (const x of owned) if (x !== best.g) x.dispose();
  // best.g may be the caller's g (t = 0): hand back a copy so ownership stays simple.
  const grad = best.g === g ? tf.clone(g) : best.g;
  return { t: best.t, loss: best.f, grad, evals };
}

/** Phase 1: extrapolate (cubic, within [t + 0.01·Δt, 10·t]) until a step brackets a minimum or satisfies strong Wolfe. */
async function bracketPhase(probe: Probe, start: Point, t0: number, spec: WolfeSpec): Promise<Bracketed> {
  const { f, gtd, c1, c2, maxLs } = spec;
  let cur = await probe(t0);
  let prev = start;
  let lsIter = 0;
  while (lsIter < maxLs) {
    if (cur.f > f + c1 * cur.t * gtd || (lsIter > 1 && cur.f >= prev.f)) return { bracket: [prev, cur], done: false, lsIter };
    if (Math.abs(cur.gtd) <= -c2 * gtd) return { bracket: [cur], done: true, lsIter };
    if (cur.gtd >= 0) return { bracket: [prev, cur], done: false, lsIter };
    const t = cur.t;
    const next = cubicInterpolate(prev.t, prev.f, prev.gtd, t, cur.f, cur.gtd, [t + 0.01 * (t - prev.t), t * 10]);
    prev = cur;
    cur = await probe(next);
    lsIter++;
  }
  return { bracket: [start, cur], done: false, lsIter };
}

/** The zoom phase's next trial inside the bracket: the cubic minimiser, kept 10% of the interval off its ends when progress stalls. */
function zoomStep(b0: Point, b1: Point, insufProgress: boolean): { t: number; insufProgress: boolean } {
  let t = cubicInterpolate(b0.t, b0.f, b0.gtd, b1.t, b1.f, b1.gtd);
  const bMax = Math.max(b0.t, b1.t);
  const bMin = Math.min(b0.t, b1.t);
  const eps = 0.1 * (bMax - bMin);
  // Written as torch's test (a NaN step keeps its value and clears the flag).
  if (!(Math.min(bMax - t, t - bMin) < eps)) return { t, insufProgress: false };
  if (insufProgress || t >= bMax || t <= bMin) {
    t = Math.abs(t - bMax) < Math.abs(t - bMin) ? bMax - eps : bMin + eps;
    return { t, insufProgress: false };
  }
  return { t, insufProgress: true };
}

/** Phase 2: shrink the bracket until a step satisfies strong Wolfe (or the budget or the bracket's width runs out); returns the best point. */
async function zoom(probe: Probe, found: Bracketed, spec: WolfeSpec, dNorm: number, toleranceChange: number): Promise<Point> {
  const { f, gtd, c1, c2, maxLs } = spec;
  const bracket = found.bracket;
  let { done, lsIter } = found;
  let insufProgress = false;
  const order = (): [number, number] => ((bracket[0]?.f ?? 0) <= (bracket[bracket.length - 1]?.f ?? 0) ? [0, 1] : [1, 0]);
  let [lowPos, highPos] = order();
  while (!done && lsIter < maxLs && bracket.length === 2) {
    const b0 = bracket[0] as Point;
    const b1 = bracket[1] as Point;
    if (Math.abs(b1.t - b0.t) * dNorm < toleranceChange) break;
    const step = zoomStep(b0, b1, insufProgress);
    insufProgress = step.insufProgress;
    const cur = await probe(step.t);
    lsIter++;
    const low = bracket[lowPos] as Point;
    const high = bracket[highPos] as Point;
    if (cur.f > f + c1 * cur.t * gtd || cur.f >= low.f) {
      bracket[highPos] = cur;
      [lowPos, highPos] = order();
    } else {
      if (Math.abs(cur.gtd) <= -c2 * gtd) done = true;
      else if (cur.gtd * (high.t - low.t) >= 0) bracket[highPos] = low;
      bracket[lowPos] = cur;
    }
  }
  return (bracket.length === 1 ? bracket[0] : bracket[lowPos]) as Point;
}

/** The (s, y) pairs of the last `size` steps and the initial Hessian scale: the L-BFGS memory. */
class History {
  private readonly dirs: tf.Tensor1D[] = []; // y
  private readonly stps: tf.Tensor1D[] = []; // s
  private readonly ro: number[] = [];
  hDiag = 1;

  constructor(private readonly size: number) {}

  /** Adds the pair (y, s) (taking ownership) unless yᵀs ≤ 1e-10, when both are dropped (torch's rule). */
  async add(y: tf.Tensor1D, s: tf.Tensor1D): Promise<void> {
    const ys = await dot(y, s);
    if (!(ys > 1e-10)) {
      tf.dispose([y, s]);
      return;
    }
    if (this.dirs.length === this.size) {
      this.dirs.shift()?.dispose();
      this.stps.shift()?.dispose();
      this.ro.shift();
    }
    this.dirs.push(y);
    this.stps.push(s);
    this.ro.push(1 / ys);
    this.hDiag = ys / (await dot(y, y));
  }

  /** The two-loop recursion: −H·g, H the L-BFGS inverse-Hessian approximation (a new tensor). */
  direction(g: tf.Tensor1D): tf.Tensor1D {
    const { dirs, stps, ro } = this;
    return tf.tidy(() => {
      const al: tf.Scalar[] = new Array(dirs.length);
      let q: tf.Tensor1D = tf.neg(g);
      for (let i = dirs.length - 1; i >= 0; i--) {
        const a = tf.mul(tf.dot(stps[i] as tf.Tensor1D, q), ro[i] as number) as tf.Scalar;
        al[i] = a;
        q = tf.sub(q, tf.mul(dirs[i] as tf.Tensor1D, a));
      }
      let r: tf.Tensor1D = tf.mul(q, this.hDiag);
      for (let i = 0; i < dirs.length; i++) {
        const be = tf.mul(tf.dot(dirs[i] as tf.Tensor1D, r), ro[i] as number);
        r = tf.add(r, tf.mul(stps[i] as tf.Tensor1D, tf.sub(al[i] as tf.Scalar, be)));
      }
      return r;
    });
  }

  dispose(): void {
    tf.dispose([...this.dirs, ...this.stps]);
  }
}

/** One run's moving parts; the tensors are owned by the run (replaced ones are disposed as they are replaced). */
interface RunState {
  x: tf.Tensor1D;
  g: tf.Tensor1D;
  loss: number;
  d: tf.Tensor1D | null;
  prevG: tf.Tensor1D | null;
  t: number;
  evals: number;
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
  async run(objective: Objective, x0: tf.Tensor1D, maxIter: number, hooks: RunHooks = {}): Promise<LbfgsResult> {
    const maxEvals = this.maxEvalsOpt ?? Math.floor(maxIter * 1.25) + 25;
    const x = tf.clone(x0);
    const first = await objective(x);
    const st: RunState = { x, g: first.grad, loss: first.loss, d: null, prevG: null, t: 0, evals: 1 };
    const memory = new History(this.history);
    let iter = 0;
    let stopReason: StopReason = 'iterations';
    try {
      if ((await absMax(st.g)) <= this.toleranceGrad) return { x: tf.clone(st.x), loss: st.loss, iterations: 0, evals: st.evals, stopReason: 'gradient' };
      while (iter < maxIter) {
        iter++;
        const d = await this.nextDirection(st, memory, iter);
        const prevLoss = st.loss;
        const gtd = await dot(st.g, d);
        if (gtd > -this.toleranceChange) {
          stopReason = 'direction';
          break;
        }
        st.t = await this.trialStep(iter, st, gtd);
        if (this.lineSearch === 'strong-wolfe') await this.searchStep(objective, st, d, gtd);
        else await this.fixedStep(objective, st, d, iter !== maxIter);
        const goOn = await hooks.onIteration?.({ iteration: iter, loss: st.loss, evals: st.evals, step: st.t }, st.x);
        await yieldToEventLoop();
        const stop = await this.stopAfter(st, { iter, maxIter, maxEvals, prevLoss, aborted: goOn === false || hooks.signal?.aborted === true });
        if (stop !== null) {
          stopReason = stop;
          break;
        }
      }
      return { x: tf.clone(st.x), loss: st.loss, iterations: iter, evals: st.evals, stopReason };
    } finally {
      tf.dispose([st.x, st.g, ...(st.d ? [st.d] : []), ...(st.prevG ? [st.prevG] : [])]);
      memory.dispose();
    }
  }

  /** The search direction: −g on the first iteration, else the two-loop recursion after adding the last step's pair. */
  private async nextDirection(st: RunState, memory: History, iter: number): Promise<tf.Tensor1D> {
    if (iter === 1 || st.d === null || st.prevG === null) {
      st.d = tf.neg(st.g);
      memory.hDiag = 1;
    } else {
      await memory.add(tf.sub(st.g, st.prevG) as tf.Tensor1D, tf.mul(st.d, st.t) as tf.Tensor1D);
      const dNew = memory.direction(st.g);
      st.d.dispose();
      st.d = dNew;
    }
    st.prevG?.dispose();
    st.prevG = tf.clone(st.g);
    return st.d;
  }

  /** The step to try: lr after the first iteration; on the first, see firstStep (d = −g there, so −gtd = ‖g‖²). */
  private async trialStep(iter: number, st: RunState, gtd: number): Promise<number> {
    if (iter > 1) return this.lr;
    if (this.firstStep === 'loss-fraction') return ((FIRST_STEP_LOSS_FRACTION * Math.abs(st.loss)) / -gtd) * this.lr;
    const g = st.g;
    return Math.min(1, 1 / (await scalar(() => tf.sum(tf.abs(g))))) * this.lr;
  }

  /** Moves x along d by the strong-Wolfe step from st.t; the accepted point's loss and gradient become current. */
  private async searchStep(objective: Objective, st: RunState, d: tf.Tensor1D, gtd: number): Promise<void> {
    const xInit = st.x;
    const res = await strongWolfe(
      async (step) => {
        const xt = tf.tidy(() => tf.add(xInit, tf.mul(d, step)) as tf.Tensor1D);
        try {
          return await objective(xt);
        } finally {
          xt.dispose();
        }
      },
      d,
      st.t,
      st.loss,
      st.g,
      gtd,
      this.toleranceChange,
    );
    st.x = tf.tidy(() => tf.add(xInit, tf.mul(d, res.t)) as tf.Tensor1D);
    tf.dispose([xInit, st.g]);
    st.g = res.grad;
    st.loss = res.loss;
    st.t = res.t;
    st.evals += res.evals;
  }

  /** Moves x along d by st.t as is (no line search); re-evaluates unless this is the last iteration (torch). */
  private async fixedStep(objective: Objective, st: RunState, d: tf.Tensor1D, evaluate: boolean): Promise<void> {
    const xOld = st.x;
    st.x = tf.tidy(() => tf.add(xOld, tf.mul(d, st.t)) as tf.Tensor1D);
    xOld.dispose();
    if (!evaluate) return;
    st.g.dispose();
    ({ loss: st.loss, grad: st.g } = await objective(st.x));
    st.evals += 1;
  }

  /** Why the run stops after this iteration (torch's order of tests), or null to go on. */
  private async stopAfter(
    st: RunState,
    at: { iter: number; maxIter: number; maxEvals: number; prevLoss: number; aborted: boolean },
  ): Promise<StopReason | null> {
    if (!Number.isFinite(st.loss)) return 'loss-change';
    if (at.iter === at.maxIter) return 'iterations';
    if (at.aborted) return 'aborted';
    if (st.evals >= at.maxEvals) return 'evaluations';
    if ((await absMax(st.g)) <= this.toleranceGrad) return 'gradient';
    if (Math.abs(st.t) * (await absMax(st.d as tf.Tensor1D)) <= this.toleranceChange) return 'step';
    if (Math.abs(st.loss - at.prevLoss) < this.toleranceChange) return 'loss-change';
    return null;
  }
}
