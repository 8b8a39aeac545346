/**
 * Divergence guard: watches the training loss and decides when a step went wrong (a non-finite loss, or one
 * that explodes far above the recent level). The trainer then rolls back to the last good state (the latest
 * checkpoint or an in-memory snapshot), lowers the learning rate and goes on; after `maxRetries` rollbacks
 * without recovery it stops with a DIVERGED error.
 */
import { HokusaiError } from '@hokusai/errors';

export interface DivergenceOptions {
  /** A loss above `explodeFactor` × the median of the recent window counts as an explosion. */
  explodeFactor: number;
  /** Number of recent losses the median is taken over. */
  window: number;
  /** Losses needed in the window before explosions are judged. */
  warmup: number;
  /** Learning-rate multiplier applied at each rollback. */
  lrFactor: number;
  /** Rollbacks allowed in a row (without `recoverSteps` good steps in between) before giving up. */
  maxRetries: number;
  /** Good steps after which the retry count resets. */
  recoverSteps: number;
}

export const DIVERGENCE_DEFAULTS: DivergenceOptions = {
  explodeFactor: 20,
  window: 50,
  warmup: 10,
  lrFactor: 0.5,
  maxRetries: 3,
  recoverSteps: 200,
};

export type Verdict = { ok: true } | { ok: false; reason: string };

export interface DivergenceState {
  recent: number[];
  retries: number;
  goodSince: number;
  lrScale: number;
  rollbacks: number;
}

export class DivergenceGuard {
  readonly options: DivergenceOptions;
  state: DivergenceState = { recent: [], retries: 0, goodSince: 0, lrScale: 1, rollbacks: 0 };

  constructor(options: Partial<DivergenceOptions> = {}) {
    this.options = { ...DIVERGENCE_DEFAULTS, ...options };
  }

  /** Judge one step's total loss; a good loss is added to the recent window. */
  check(step: number, loss: number): Verdict {
    if (!Number.isFinite(loss)) return { ok: false, reason: `loss is ${loss} at step ${step}` };
    const { recent } = this.state;
    if (recent.length >= this.options.warmup) {
      const med = median(recent);
      if (loss > this.options.explodeFactor * med) {
        return { ok: false, reason: `loss exploded at step ${step}: ${loss.toPrecision(4)} > ${this.options.explodeFactor} × recent median ${med.toPrecision(4)}` };
      }
    }
    recent.push(loss);
    if (recent.length > this.options.window) recent.shift();
    this.state.goodSince += 1;
    if (this.state.goodSince >= this.options.recoverSteps) this.state.retries = 0;
    return { ok: true };
  }

  /** Record a rollback; returns the new learning-rate scale, or throws DIVERGED when retries are exhausted. */
  rollback(reason: string): number {
    this.state.retries += 1;
    this.state.rollbacks += 1;
    this.state.goodSince = 0;
    this.state.recent = [];
    if (this.state.retries > this.options.maxRetries) {
      throw new HokusaiError(
        'DIVERGED',
        `DIVERGED: training failed ${this.state.retries} times in a row (last: ${reason}) even after lowering the learning rate to ` +
          `${this.state.lrScale} × the initial one. Try a lower --lr, smaller --style-weight/--tv-weight, or check the data.`,
      );
    }
    this.state.lrScale *= this.options.lrFactor;
    return this.state.lrScale;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
