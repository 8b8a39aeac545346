/**
 * Reads an uploaded image from a hostile request, bounded in bytes: either the raw body (Content-Type
 * image/jpeg|png|webp) or one file field `image` of a multipart/form-data body (busboy with strict limits).
 * The declared Content-Type only chooses how to read; the format itself is decided later by magic bytes.
 */
import type { Request } from 'express';
import busboy from 'busboy';
import { HokusaiError } from '@hokusai/errors';

const RAW_TYPES = new Set(['image/jpeg', 'image/jpg', 'image/pjpeg', 'image/png', 'image/webp']);

export type BodyKind = 'raw' | 'multipart';

/** Which reader a Content-Type needs; throws UNSUPPORTED_MEDIA_TYPE (415) for anything else. */
export function bodyKind(contentType: string | undefined): BodyKind {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (RAW_TYPES.has(type)) return 'raw';
  if (type === 'multipart/form-data') return 'multipart';
  throw new HokusaiError(
    'UNSUPPORTED_MEDIA_TYPE',
    `Expected Content-Type image/jpeg, image/png, image/webp or multipart/form-data, got ${type ? JSON.stringify(type.slice(0, 100)) : 'none'}`,
  );
}

export const tooLarge = (max: number, got?: number) =>
  new HokusaiError('PAYLOAD_TOO_LARGE', `Expected a body of at most ${max} bytes, got ${got === undefined ? 'more' : got}`);

/** Throws PAYLOAD_TOO_LARGE at once when Content-Length already says too much. */
export function checkDeclaredLength(req: Request, maxBytes: number): void {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(maxBytes, Number(declared));
}

function readRaw(req: Request, maxBytes: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const onData = (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > maxBytes) {
        failed = true;
        chunks.length = 0;
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (!failed) resolve(new Uint8Array(Buffer.concat(chunks, size)));
    });
    req.once('error', (e) => {
      if (!failed) reject(new HokusaiError('INVALID_ARGUMENT', `The request body could not be read (${e.message})`));
      failed = true;
    });
    req.once('aborted', () => {
      if (!failed) reject(new HokusaiError('INVALID_ARGUMENT', 'The client aborted the upload'));
      failed = true;
    });
  });
}

const invalid = (message: string) => new HokusaiError('INVALID_ARGUMENT', message);

/** A busboy parser with strict limits (one file of at most maxBytes, few small fields); a malformed header is a 400. */
function multipartParser(req: Request, maxBytes: number): busboy.Busboy {
  try {
    return busboy({
      headers: req.headers,
      limits: { fileSize: maxBytes, files: 1, fields: 8, fieldSize: 1024, parts: 10, headerPairs: 32, fieldNameSize: 64 },
    });
  } catch (e) {
    throw invalid(`Expected a well-formed multipart/form-data request, got: ${(e as Error).message}`);
  }
}

/** One file part's bytes, once its stream closes; `onLimit` when it exceeds busboy's fileSize limit. */
function collectPart(stream: NodeJS.ReadableStream, onLimit: () => void): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  return new Promise((done) => {
    stream.on('data', (c: Buffer) => {
      size += c.length;
      chunks.push(c);
    });
    stream.on('limit', onLimit);
    stream.on('close', () => done(new Uint8Array(Buffer.concat(chunks, size))));
  });
}

/** Fails on busboy's count limits and parse errors, each with what was expected. */
function failOnLimits(bb: busboy.Busboy, fail: (e: HokusaiError) => void): void {
  bb.on('filesLimit', () => fail(invalid('Expected exactly one file in the multipart body, got more')));
  bb.on('partsLimit', () => fail(invalid('Expected at most 10 parts in the multipart body, got more')));
  bb.on('fieldsLimit', () => fail(invalid('Expected at most 8 fields in the multipart body, got more')));
  bb.on('error', (e: Error) => fail(invalid(`Expected a well-formed multipart/form-data body, got: ${e.message}`)));
}

function readMultipart(req: Request, maxBytes: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = multipartParser(req, maxBytes);
    } catch (e) {
      reject(e);
      return;
    }
    let settled = false;
    const fail = (e: HokusaiError) => {
      if (settled) return;
      settled = true;
      req.unpipe(bb);
      req.resume(); // discard the rest
      reject(e);
    };
    let file: Promise<Uint8Array> | undefined;
    bb.on('file', (name, stream) => {
      if (name !== 'image') {
        stream.resume();
        fail(invalid(`Expected the image in a multipart field named "image", got a file field ${JSON.stringify(name.slice(0, 64))}`));
        return;
      }
      file = collectPart(stream, () => fail(tooLarge(maxBytes)));
    });
    failOnLimits(bb, fail);
    bb.on('close', () => {
      void (file ?? Promise.resolve(undefined)).then((bytes) => {
        if (settled) return;
        settled = true;
        if (bytes === undefined) reject(invalid('Expected a file field "image" in the multipart body, got none'));
        else resolve(bytes);
      });
    });
    // Count raw bytes too (chunked bodies have no Content-Length): the whole body may not exceed the limit + 64 KiB.
    let total = 0;
    req.on('data', (c: Buffer) => {
      total += c.length;
      if (total > maxBytes + 65536) fail(tooLarge(maxBytes));
    });
    req.pipe(bb);
  });
}

/** The uploaded image's bytes (not yet validated). */
export function readImageBody(req: Request, kind: BodyKind, maxBytes: number): Promise<Uint8Array> {
  return kind === 'raw' ? readRaw(req, maxBytes) : readMultipart(req, maxBytes);
}
