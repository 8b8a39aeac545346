/**
 * Pixel preparation for the ONNX and GPU engines, on plain arrays: float input, edge padding of images smaller than
 * the network's minimum and the crop back. (The clip, colour transfer and blend after the network are
 * @hokusai/model's `finishPixels`, shared with the browser.)
 */

/** RGB 8-bit → float32 0–255. */
export function toFloat(pixels: Uint8Array): Float32Array {
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i]!;
  return out;
}

/** Edge-replicates an RGB image to at least `min`×`min` (top-left anchored); returns the padded pixels and size. */
export function padToMin(pixels: Uint8Array, width: number, height: number, min: number): { pixels: Uint8Array; width: number; height: number } {
  if (width >= min && height >= min) return { pixels, width, height };
  const w = Math.max(width, min);
  const h = Math.max(height, min);
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(y, height - 1);
    for (let x = 0; x < w; x++) {
      const sx = Math.min(x, width - 1);
      const s = (sy * width + sx) * 3;
      const d = (y * w + x) * 3;
      out[d] = pixels[s]!;
      out[d + 1] = pixels[s + 1]!;
      out[d + 2] = pixels[s + 2]!;
    }
  }
  return { pixels: out, width: w, height: h };
}

/** Crops the top-left `width`×`height` of an RGB float image of row length `fullWidth`. */
export function cropTopLeft(data: Float32Array, fullWidth: number, width: number, height: number): Float32Array {
  if (fullWidth === width && data.length === width * height * 3) return data;
  const out = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) out.set(data.subarray(y * fullWidth * 3, (y * fullWidth + width) * 3), y * width * 3);
  return out;
}
