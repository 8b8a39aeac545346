/**
 * Training metrics: one JSON line per logged step in `<out>/metrics.jsonl` (step, time, lr, total/content/
 * style/tv losses, lattice penalty, images per second, validation losses when computed), appended so a resumed run continues
 * the same file; plus TensorBoard scalars when the tensorflow backend (tfjs-node) is loaded.
 */
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface MetricRecord {
  step: number;
  time: string;
  elapsedS: number;
  lr: number;
  total: number;
  content: number;
  style: number;
  tv: number;
  /** Unweighted lattice penalty of the outputs (null in the file when the loss does not report one). */
  lattice?: number;
  /** Weighted stability loss (Gupta et al. 2017), when --stability-weight > 0. */
  stability?: number;
  imgPerS: number;
  dataWaitMs?: number;
  validation?: number;
  event?: string;
}

interface SummaryWriter {
  scalar(name: string, value: number, step: number): void;
  flush(): void;
}

export class MetricsLog {
  readonly path: string;
  private writer: SummaryWriter | null = null;

  private constructor(path: string) {
    this.path = path;
  }

  /**
   * Open `<dir>/metrics.jsonl`; when resuming at `fromStep`, drop lines from steps > fromStep (they were written
   * after the checkpoint being resumed and will be logged again).
   */
  static async open(dir: string, fromStep: number, backend: string, log: (line: string) => void): Promise<MetricsLog> {
    const m = new MetricsLog(join(dir, 'metrics.jsonl'));
    const old = await readFile(m.path, 'utf8').catch(() => '');
    const kept = old
      .split('\n')
      .filter((line) => {
        if (!line.trim()) return false;
        try {
          return (JSON.parse(line) as { step: number }).step <= fromStep;
        } catch {
          return false;
        }
      })
      .map((line) => line + '\n')
      .join('');
    await writeFile(m.path, kept);
    if (backend === 'tensorflow') m.writer = await openTensorBoard(join(dir, 'tensorboard'), log);
    else log(`TensorBoard scalars: skipped (only with the tensorflow backend; this run uses ${backend}); metrics.jsonl has every logged step`);
    return m;
  }

  async write(record: MetricRecord): Promise<void> {
    await appendFile(this.path, JSON.stringify(record) + '\n');
    if (this.writer) {
      for (const key of ['total', 'content', 'style', 'tv', 'lattice', 'lr', 'imgPerS', 'validation'] as const) {
        const v = record[key];
        if (typeof v === 'number' && Number.isFinite(v)) this.writer.scalar(key === 'total' ? 'loss/total' : `train/${key}`, v, record.step);
      }
      this.writer.flush();
    }
  }
}

/** tfjs-node's summary writer when the tensorflow backend is installed; otherwise null (said once). */
async function openTensorBoard(dir: string, log: (line: string) => void): Promise<SummaryWriter | null> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      const mod = (await import(pkg)) as { node?: { summaryFileWriter(dir: string): SummaryWriter } };
      if (mod.node?.summaryFileWriter) return mod.node.summaryFileWriter(dir);
    } catch {
      // not installed: try the next one
    }
  }
  log('TensorBoard scalars: skipped (the tensorflow backend, tfjs-node, is not installed); metrics.jsonl has every logged step');
  return null;
}
