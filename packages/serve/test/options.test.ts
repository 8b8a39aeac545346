// Serve options: one zod schema whose defaults come from HOKUSAI_* environment variables (PORT too), with flags
// (explicit values) winning, and malformed environment values reported by variable name.
import { describe, expect, it } from 'vitest';
import { envName, resolveServeOptions } from '../src/options.ts';

describe('serve options', () => {
  it('takes defaults from the environment, explicit values win', () => {
    const env = { PORT: '9000', HOKUSAI_MAX_BODY_BYTES: '123456', HOKUSAI_CORS: 'https://a.example, https://b.example', HOKUSAI_ENGINE: 'tfjs' };
    const o = resolveServeOptions({}, env);
    expect(o).toMatchObject({ port: 9000, maxBodyBytes: 123456, cors: ['https://a.example', 'https://b.example'], engine: 'tfjs', host: '127.0.0.1' });
    expect(resolveServeOptions({ port: 1234 }, env).port).toBe(1234);
    expect(resolveServeOptions({}, { PORT: '9000', HOKUSAI_PORT: '9100' }).port).toBe(9100);
    expect(resolveServeOptions({}, {})).toMatchObject({ port: 8080, maxBodyBytes: 10 * 1024 * 1024, maxPixels: 24_000_000, maxSize: 1024, idleReleaseMs: 5_000, checkpoints: 'checkpoints', engine: 'auto' });
    expect(resolveServeOptions({}, { HOKUSAI_ENGINE: 'gpu' }).engine).toBe('gpu');
  });

  it('names a malformed environment variable and rejects bad values', () => {
    expect(envName('maxBodyBytes')).toBe('HOKUSAI_MAX_BODY_BYTES');
    expect(() => resolveServeOptions({}, { HOKUSAI_MAX_SIZE: 'big' })).toThrow(/HOKUSAI_MAX_SIZE.*"big"/);
    expect(() => resolveServeOptions({}, { HOKUSAI_ENGINE: 'cuda' })).toThrow(/HOKUSAI_ENGINE/);
    expect(() => resolveServeOptions({ workers: 0 }, {})).toThrow(/workers/);
  });
});
