/**
 * The one intake of an uploaded image, cheapest and strictest checks first: format by magic bytes and the stored
 * size from the header, parsed in JS before any library sees the bytes (@hokusai/node's sniffer: 415, 422), the
 * pixel limit (TOO_MANY_PIXELS), the EXIF-oriented size (read once, by sharp), the long-edge policy
 * (`--oversize reject`), then the decode with that header passed down: EXIF orientation applied, downscaled to the
 * inference size. Never trusts the declared Content-Type or file name.
 */
import { checkPixelLimit, probeImage, readImage, sniffImageSize, type ImageHeader, type RgbImage } from '@hokusai/node';
import { HokusaiError } from '@hokusai/errors';
import type { ServeOptions } from './options.ts';

const LABEL = 'uploaded image';

export interface IntakeLimits {
  maxPixels: number;
  /** Longest edge the network runs at (the server's limit, or less when the request asks for less). */
  maxSize: number;
  oversize: ServeOptions['oversize'];
}

export interface Intake {
  /** Format and EXIF-oriented size of the upload: the size the answer is encoded back to. */
  header: ImageHeader;
  /** Decoded RGB pixels, oriented, at most `maxSize` on the long edge. */
  image: RgbImage;
}

/** Checks and decodes one upload; throws the API's error (415, 422) for anything it will not stylise. */
export async function intakeImage(bytes: Uint8Array, limits: IntakeLimits): Promise<Intake> {
  checkPixelLimit(sniffImageSize(bytes, LABEL), limits.maxPixels, LABEL);
  const header = await probeImage(bytes, { label: LABEL });
  if (limits.oversize === 'reject' && Math.max(header.width, header.height) > limits.maxSize) {
    throw new HokusaiError(
      'TOO_MANY_PIXELS',
      `Expected an image whose long edge is at most ${limits.maxSize} px (this server rejects larger inputs), got ${header.width}×${header.height}`,
    );
  }
  const image = await readImage(bytes, { header, maxPixels: limits.maxPixels, maxSize: limits.maxSize, label: LABEL });
  return { header, image };
}
