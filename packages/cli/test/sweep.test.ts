// `--sweep key=v1,v2,...` of `hokusai optimize` (src/sweep.ts): parsing, validation with the option's own schema,
// expansion into runs.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { HokusaiError } from '@hokusai/errors';
import { expandSweeps, parseSweeps } from '../src/sweep.ts';

describe('sweep', () => {
  const schema = z.object({
    styleWeight: z.number().positive().default(1),
    iterations: z.number().int().positive().default(100),
    init: z.enum(['content', 'noise']).default('content'),
    out: z.string().default('x.png'),
  });
  const sweepable = ['styleWeight', 'iterations', 'init'] as const;

  it('parses comma-split tokens and expands the grid (last key fastest)', () => {
    const sweeps = parseSweeps(['style-weight=1e2', '1e3', '1e4', 'iterations=100,300'], schema, sweepable);
    expect(sweeps).toEqual([
      { key: 'styleWeight', values: [100, 1000, 10000] },
      { key: 'iterations', values: [100, 300] },
    ]);
    const runs = expandSweeps(sweeps);
    expect(runs).toHaveLength(6);
    expect(runs[1]).toEqual({ overrides: { styleWeight: 100, iterations: 300 }, label: 'style-weight=100 iterations=300' });
    expect(runs[5]?.label).toBe('style-weight=1e4 iterations=300');
    expect(expandSweeps(parseSweeps(['init=content,noise'], schema, sweepable)).map((r) => r.overrides.init)).toEqual(['content', 'noise']);
  });

  it.each([
    [['colour=1,2'], /unknown or unsweepable key "colour"/],
    [['out=a,b'], /unknown or unsweepable key "out"/],
    [['style-weight=1e2,abc'], /expected numbers, got "abc"/],
    [['iterations=1.5'], /bad value "1.5"/],
    [['style-weight=-1'], /bad value "-1"/],
    [['1e3'], /expected key=v1,v2/],
    [['style-weight='], /at least one value/],
    [['init=bogus'], /bad value "bogus"/],
    [['iterations=1', 'iterations=2'], /given twice/],
  ])('rejects %j with a clear message', (tokens, message) => {
    expect(() => parseSweeps(tokens, schema, sweepable)).toThrow(message);
    try {
      parseSweeps(tokens, schema, sweepable);
    } catch (e) {
      expect(e).toBeInstanceOf(HokusaiError);
      expect((e as HokusaiError).code).toBe('INVALID_ARGUMENT');
    }
  });
});
