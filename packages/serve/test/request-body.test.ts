// The bounded body readers (request-body.ts) on in-memory requests: raw bodies and multipart/form-data with one
// `image` file, and each refusal (too large, no or several files, a wrong field, a malformed request) with its code.
import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import type { Request } from 'express';
import { readImageBody, type BodyKind } from '../src/request-body.ts';

const BOUNDARY = 'hokusaitestboundary';

function request(body: Buffer, contentType: string): Request {
  const req = new PassThrough() as unknown as Request & PassThrough;
  Object.assign(req, { headers: { 'content-type': contentType } });
  setImmediate(() => req.end(body));
  return req;
}

function multipart(parts: { name: string; file?: Buffer; value?: string }[]): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = p.file ? `form-data; name="${p.name}"; filename="x.png"` : `form-data; name="${p.name}"`;
    const type = p.file ? 'Content-Type: image/png\r\n' : '';
    chunks.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\n${type}\r\n`), p.file ?? Buffer.from(p.value ?? ''), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(chunks);
}

const read = (body: Buffer, kind: BodyKind, max = 1000, type = `multipart/form-data; boundary=${BOUNDARY}`) =>
  readImageBody(request(body, kind === 'raw' ? 'image/png' : type), kind, max);
const codeOf = (p: Promise<unknown>) => p.then(() => 'read', (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`);

describe('readImageBody', () => {
  it('reads a raw body and the `image` file of a multipart body, byte for byte', async () => {
    const bytes = Buffer.from(Array.from({ length: 700 }, (_, i) => (i * 7) % 256));
    expect(Buffer.from(await read(bytes, 'raw'))).toEqual(bytes);
    const body = multipart([{ name: 'note', value: 'hi' }, { name: 'image', file: bytes }]);
    expect(Buffer.from(await read(body, 'multipart'))).toEqual(bytes);
  });

  it('refuses bodies over the limit with PAYLOAD_TOO_LARGE', async () => {
    expect(await codeOf(read(Buffer.alloc(1001), 'raw'))).toMatch(/^PAYLOAD_TOO_LARGE/);
    expect(await codeOf(read(multipart([{ name: 'image', file: Buffer.alloc(1001) }]), 'multipart'))).toMatch(/^PAYLOAD_TOO_LARGE/);
  });

  it('refuses malformed or unexpected multipart bodies with INVALID_ARGUMENT, saying what was expected', async () => {
    const img = Buffer.alloc(10, 1);
    expect(await codeOf(read(multipart([{ name: 'note', value: 'hi' }]), 'multipart'))).toMatch(/^INVALID_ARGUMENT: .*file field "image".*got none/);
    expect(await codeOf(read(multipart([{ name: 'photo', file: img }]), 'multipart'))).toMatch(/^INVALID_ARGUMENT: .*named "image", got a file field "photo"/);
    const two = multipart([{ name: 'image', file: img }, { name: 'image', file: img }]);
    expect(await codeOf(read(two, 'multipart'))).toMatch(/^INVALID_ARGUMENT: Expected exactly one file/);
    expect(await codeOf(read(img, 'multipart', 1000, 'multipart/form-data'))).toMatch(/^INVALID_ARGUMENT: Expected a well-formed multipart\/form-data request/);
  });
});
