// Tests for the progress reporter (progress.ts): plain lines off a terminal, a cli-progress bar on one.
import { describe, expect, it, vi } from 'vitest';
import { Writable } from 'node:stream';
import { createProgress, formatDuration } from '../src/progress.ts';

describe('createProgress', () => {
  it('prints plain lines with counts, percentages and fields, then a final line', () => {
    const lines: string[] = [];
    const p = createProgress({ total: 4, label: 'train', unit: 'steps', fields: { loss: 0 }, tty: false, intervalSeconds: 0, log: (l) => lines.push(l) });
    p.update(1, { loss: 12.5 });
    p.increment(1, { loss: 0.000123 });
    p.increment();
    p.increment();
    p.stop();
    p.stop();
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^train: 1\/4 steps \(25%\) ETA \S+ \| loss 12\.50$/);
    expect(lines[1]).toMatch(/^train: 2\/4 steps \(50%\) .*\| loss 1\.230e-4$/);
    expect(lines[4]).toMatch(/^train: 4\/4 steps \(100%\) in \S+ \| loss 1\.230e-4$/);
  });

  it('rate-limits plain lines', () => {
    const lines: string[] = [];
    const p = createProgress({ total: 1000, label: 'x', tty: false, intervalSeconds: 3600, log: (l) => lines.push(l) });
    for (let i = 1; i <= 1000; i++) p.update(i);
    p.stop();
    expect(lines).toEqual([expect.stringMatching(/^x: 1\/1000 /), expect.stringMatching(/^x: 1000\/1000 \(100%\) in /)]);
  });

  it('estimates the ETA of a resumed run from the steps done since it started', () => {
    vi.useFakeTimers({ now: 0 });
    try {
      const lines: string[] = [];
      const p = createProgress({ total: 1000, initial: 900, label: 'train', tty: false, intervalSeconds: 0, log: (l) => lines.push(l) });
      vi.setSystemTime(10_000);
      p.update(910); // 10 steps in 10 s: 90 steps left take 90 s (not 1 s, as 910 steps in 10 s would say)
      p.stop();
      expect(lines[0]).toBe('train: 910/1000 (91%) ETA 1m30s');
    } finally {
      vi.useRealTimers();
    }
  });

  it('handles an unknown total', () => {
    const lines: string[] = [];
    const p = createProgress({ label: 'download', unit: 'bytes', tty: false, intervalSeconds: 0, log: (l) => lines.push(l) });
    p.update(512);
    p.stop();
    expect(lines[0]).toBe('download: 512 bytes');
  });

  it('draws a bar with ETA and fields on a terminal', () => {
    let text = '';
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        text += chunk.toString();
        cb();
      },
    }) as unknown as NodeJS.WriteStream;
    Object.assign(stream, { isTTY: true, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
    const p = createProgress({ total: 10, label: 'stylize', fields: { img: 'a.jpg' }, tty: true, stream });
    p.update(5, { img: 'b.jpg' });
    p.stop();
    expect(text).toContain('stylize');
    expect(text).toMatch(/5\/10|10\/10/);
    expect(text).toContain('img b.jpg');
  });
});

describe('formatDuration', () => {
  it('formats seconds, minutes and hours', () => {
    expect(formatDuration(42)).toBe('42s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(3720)).toBe('1h02m');
    expect(formatDuration(Number.NaN)).toBe('?');
  });
});
