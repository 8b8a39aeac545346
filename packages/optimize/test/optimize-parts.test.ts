// Pure parts of `hokusai optimize`: colour transfer, level planning, memory estimate, GIF and
// contact sheet (images generated here; fonts checked by looking for label pixels).
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { colorStats, eigSym3, keepContentColors, matchColorHistogram, matchLuminance, rgbToYiq, yiqToRgb } from '../src/color-transfer.ts';
import { autoScales, planLevels } from '../src/multiscale.ts';
import { estimateMemory, largestFittingSize, GIB } from '../src/memory-estimate.ts';
import { GifRecorder } from '../src/gif.ts';
import { renderContactSheet } from '../src/contact-sheet.ts';

/** Deterministic pseudo-random image with correlated channels. */
function image(w: number, h: number, seed: number, tint: [number, number, number]): Float32Array {
  let s = seed >>> 0;
  const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const out = new Float32Array(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    const base = rnd() * 200;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.min(255, Math.max(0, base * (tint[c] as number) + rnd() * 30));
  }
  return out;
}

describe('color transfer', () => {
  it('YIQ round-trips', () => {
    const a = image(8, 8, 1, [1, 0.5, 0.2]);
    const b = yiqToRgb(rgbToYiq(a));
    for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i] as number, 3);
  });

  it('eigSym3 reconstructs a symmetric matrix', () => {
    const m = [
      [4, 1, 0.5],
      [1, 3, 0.2],
      [0.5, 0.2, 2],
    ];
    const { values, vectors } = eigSym3(m);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        let acc = 0;
        for (let k = 0; k < 3; k++) acc += (vectors[i]![k] as number) * (values[k] as number) * (vectors[j]![k] as number);
        expect(acc).toBeCloseTo(m[i]![j] as number, 8);
      }
  });

  it('histogram matching gives the style the content colour mean and covariance', () => {
    const style = image(32, 32, 2, [1, 0.3, 0.1]);
    const content = image(32, 32, 3, [0.2, 0.6, 1]);
    const before = colorStats(style);
    const after = colorStats(matchColorHistogram(style, content));
    const target = colorStats(content);
    for (let c = 0; c < 3; c++) {
      expect(Math.abs((after.mean[c] as number) - (target.mean[c] as number))).toBeLessThan(3);
      expect(Math.abs((before.mean[c] as number) - (target.mean[c] as number))).toBeGreaterThan(3);
      for (let d = 0; d < 3; d++) expect(Math.abs(after.cov[c]![d]! - target.cov[c]![d]!)).toBeLessThan(0.05 * target.cov[c]![c]!); // clipping
    }
  });

  it('luminance: style luma matched to content; result keeps its luma and takes content chroma', () => {
    const style = image(16, 16, 4, [1, 0.9, 0.8]);
    const content = image(16, 16, 5, [0.4, 0.5, 0.9]);
    const m = rgbToYiq(matchLuminance(style, content));
    const c = rgbToYiq(content);
    const meanY = (a: Float32Array) => a.filter((_, i) => i % 3 === 0).reduce((x, y) => x + y, 0) / (a.length / 3);
    expect(Math.abs(meanY(m) - meanY(c))).toBeLessThan(2);
    const result = image(16, 16, 6, [1, 0.2, 0.2]);
    const kept = rgbToYiq(keepContentColors({ data: result, width: 16, height: 16 }, { data: content, width: 16, height: 16 }));
    const r = rgbToYiq(result);
    let dy = 0;
    let dChroma = 0;
    for (let i = 0; i < kept.length; i += 3) {
      dy += Math.abs((kept[i] as number) - (r[i] as number));
      dChroma += Math.abs((kept[i + 1] as number) - (c[i + 1] as number)) + Math.abs((kept[i + 2] as number) - (c[i + 2] as number));
    }
    expect(dy / 256).toBeLessThan(6); // clipping to 0–255 moves a few pixels
    expect(dChroma / 256).toBeLessThan(8);
  });
});

describe('multiscale plan', () => {
  it('auto: one level up to 512 px, coarse-to-fine above, style relative to each level', () => {
    expect(autoScales(512)).toBe(1);
    expect(autoScales(1024)).toBe(2);
    expect(autoScales(1500)).toBe(3);
    const a = planLevels({ contentWidth: 768, contentHeight: 512, size: 1024, scales: 0, styleScale: 1, iterations: 300 });
    expect(a.map((l) => [l.width, l.height, l.styleLongEdge, l.iterations])).toEqual([
      [512, 341, 512, 300],
      [1024, 683, 1024, 150],
    ]);
    const b = planLevels({ contentWidth: 512, contentHeight: 768, size: 512, scales: 3, styleScale: 0.5, styleSize: 0, iterations: 100 });
    expect(b.map((l) => [l.width, l.height, l.styleLongEdge])).toEqual([
      [85, 128, 64],
      [171, 256, 128],
      [341, 512, 256],
    ]);
    expect(planLevels({ contentWidth: 10, contentHeight: 10, size: 1024, scales: 1, styleScale: 1, styleSize: 700, iterations: 5 })[0]?.styleLongEdge).toBe(700);
  });
});

describe('memory estimate', () => {
  it('grows with pixels and L-BFGS history; wasm (4 GiB) fits 512 with m = 100 but not 1024', () => {
    const base = { lossNet: 'vgg19' as const, deepestLayer: 'relu5_1', optimizer: 'lbfgs' as const, lbfgsHistory: 100 };
    const e512 = estimateMemory({ ...base, width: 512, height: 512 });
    const e1024 = estimateMemory({ ...base, width: 1024, height: 1024 });
    expect(e1024.totalBytes / e512.totalBytes).toBeGreaterThan(3.5);
    expect(e1024.totalBytes / e512.totalBytes).toBeLessThan(4);
    expect(estimateMemory({ ...base, lbfgsHistory: 5, width: 512, height: 512 }).totalBytes).toBeLessThan(e512.totalBytes);
    expect(e512.largestTensorBytes).toBe(64 * 512 * 512 * 4);
    const wasm = { backend: 'wasm', totalBytes: 4 * GIB };
    const largest = largestFittingSize({ ...base, aspect: 1 }, wasm);
    expect(largest).toBeGreaterThanOrEqual(512);
    expect(largest).toBeLessThan(1024);
    expect(largestFittingSize({ ...base, lbfgsHistory: 5, aspect: 1 }, wasm)).toBeGreaterThan(largest);
    const webgpu = { backend: 'webgpu', totalBytes: 64 * GIB, maxTensorBytes: 128 * 1024 ** 2 };
    expect(largestFittingSize({ ...base, aspect: 1 }, webgpu)).toBe(724); // 64·724²·4 ≤ 128 MiB < 64·725²·4
  });
});

describe('GIF and contact sheet', () => {
  it('encodes frames of different sizes into one animated GIF', async () => {
    const gif = GifRecorder.forOutput(64, 32, 48);
    gif.add({ data: image(32, 16, 7, [1, 1, 1]), width: 32, height: 16 });
    gif.add({ data: image(64, 32, 8, [1, 0, 0]), width: 64, height: 32 });
    const bytes = gif.encode();
    expect(new TextDecoder().decode(bytes.slice(0, 6))).toBe('GIF89a');
    const meta = await sharp(bytes, { animated: true }).metadata();
    expect(meta.pages).toBe(2);
    expect([meta.width, meta.pageHeight]).toEqual([48, 24]);
  });

  it('renders a labelled grid whose labels actually draw text', async () => {
    const cells = [0, 1, 2, 3].map((i) => ({ data: image(40, 30, 10 + i, [1, 0.5, 0.2]), width: 40, height: 30, label: `style-weight=1e${i + 2}` }));
    const png = await renderContactSheet(cells, { columns: 2, cellSize: 128 });
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect(info.width).toBe(2 * 132 + 4);
    expect(info.height).toBeLessThan(2 * (128 + 40)); // 96 px image boxes for 4:3 cells, not 128
    // Label strips are #222 with white text: count bright pixels in the first label strip.
    let bright = 0;
    for (let y = 4 + 96 + 2; y < 4 + 96 + 20; y++)
      for (let x = 4; x < 132; x++) if ((data[(y * info.width + x) * info.channels] as number) > 200) bright++;
    expect(bright).toBeGreaterThan(30);
  });
});
