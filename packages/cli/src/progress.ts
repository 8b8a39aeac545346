/**
 * Progress reporting for long-running commands (train, optimize, stylize, downloads): a cli-progress bar with
 * ETA and custom fields (e.g. losses) when stderr is a terminal, plain periodic lines otherwise (logs, CI).
 *
 *   const p = createProgress({ total: 1000, label: 'train', fields: { loss: 0 } });
 *   p.update(step, { loss }); ... p.stop();
 */
import cliProgress from 'cli-progress';

export type ProgressFields = Record<string, number | string>;

export interface ProgressOptions {
  /** Number of units of work; 0 or undefined when unknown (downloads without a length). */
  total?: number;
  /** Units already done when this run starts (a resumed run): the ETA counts only the rate of this run. */
  initial?: number;
  label: string;
  /** Custom fields shown after the bar, with their initial values. */
  fields?: ProgressFields;
  /** Unit name shown in plain lines, e.g. `steps`, `images`, `bytes`. */
  unit?: string;
  /** Force the bar (true) or plain lines (false); default: bar when stderr is a TTY. */
  tty?: boolean;
  /** Plain mode: minimum seconds between lines (default 5). */
  intervalSeconds?: number;
  /** Plain mode: where lines go (default stderr). */
  log?: (line: string) => void;
  /** Bar mode: the stream to draw on (default stderr). */
  stream?: NodeJS.WritableStream;
}

export interface Progress {
  update(value: number, fields?: ProgressFields): void;
  increment(by?: number, fields?: ProgressFields): void;
  /** Ends the bar (or prints the final plain line). Safe to call twice. */
  stop(): void;
}

function formatField(v: number | string): string {
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(3) : v.toPrecision(4);
}

/** Seconds as `1h02m`, `3m05s`, `42s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(r).padStart(2, '0')}s`;
  return `${r}s`;
}

function fieldText(fields: ProgressFields): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k} ${formatField(v)}`)
    .join(' | ');
}

export function createProgress(opts: ProgressOptions): Progress {
  const total = opts.total && opts.total > 0 ? opts.total : 0;
  const useBar = opts.tty ?? Boolean(process.stderr.isTTY);
  return useBar ? barProgress(opts, total) : lineProgress(opts, total);
}

/** The bar's line: label, bar and percentage, count, ETA and the fields. */
function barFormat(label: string, total: number): cliProgress.GenericFormatter {
  return (options, params, payload: { fieldsText?: string }) => {
    const size = options.barsize ?? 30;
    const done = total > 0 ? Math.round(params.progress * size) : 0;
    const barText = total > 0 ? `${'█'.repeat(done)}${'░'.repeat(size - done)} ${Math.floor(params.progress * 100)}%` : '';
    const eta = total > 0 && params.value > 0 ? ` | ETA ${formatDuration(params.eta)}` : '';
    const count = total > 0 ? `${params.value}/${params.total}` : `${params.value}`;
    const extra = payload.fieldsText ? ` | ${payload.fieldsText}` : '';
    return `${label} ${barText} ${count}${eta}${extra}`;
  };
}

/** The Progress contract over one way of showing it: `show` on each update (fields merged), `finish` once on stop. */
function tracker(opts: ProgressOptions, show: (value: number, fields: ProgressFields) => void, finish: (value: number, fields: ProgressFields) => void): Progress {
  let fields: ProgressFields = { ...(opts.fields ?? {}) };
  let value = opts.initial ?? 0;
  let stopped = false;
  return {
    update(v, f) {
      if (stopped) return;
      value = v;
      if (f) fields = { ...fields, ...f };
      show(value, fields);
    },
    increment(by = 1, f) {
      this.update(value + by, f);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      finish(value, fields);
    },
  };
}

/** A terminal: a cli-progress bar redrawn in place. */
function barProgress(opts: ProgressOptions, total: number): Progress {
  const bar = new cliProgress.SingleBar(
    { format: barFormat(opts.label, total), stream: opts.stream ?? process.stderr, hideCursor: true, clearOnComplete: false, etaBuffer: 50, fps: 5 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total || 1, opts.initial ?? 0, { fieldsText: fieldText(opts.fields ?? {}) });
  return tracker(opts, (v, f) => bar.update(v, { fieldsText: fieldText(f) }), () => bar.stop());
}

/** Logs and CI: a plain line at most every intervalSeconds, and a final one with the time taken. */
function lineProgress(opts: ProgressOptions, total: number): Progress {
  const initial = opts.initial ?? 0;
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const intervalMs = (opts.intervalSeconds ?? 5) * 1000;
  const start = Date.now();
  let lastLine = 0;
  const line = (value: number, fields: ProgressFields, final: boolean): string => {
    const elapsed = (Date.now() - start) / 1000;
    const unit = opts.unit ? ` ${opts.unit}` : '';
    let text = `${opts.label}: ${value}${total > 0 ? `/${total}` : ''}${unit}`;
    if (total > 0) text += ` (${Math.floor((100 * value) / total)}%)`;
    if (final) text += ` in ${formatDuration(elapsed)}`;
    else if (total > 0 && value > initial) text += ` ETA ${formatDuration((elapsed / (value - initial)) * (total - value))}`;
    const f = fieldText(fields);
    return f ? `${text} | ${f}` : text;
  };
  const show = (value: number, fields: ProgressFields): void => {
    const now = Date.now();
    if (now - lastLine < intervalMs) return;
    lastLine = now;
    log(line(value, fields, false));
  };
  return tracker(opts, show, (value, fields) => log(line(value, fields, true)));
}
