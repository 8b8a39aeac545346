/**
 * Contact sheet for `hokusai optimize --sweep`: the results of a settings grid side by side, each under a label
 * saying its settings, so a user picks settings by looking. Composited with sharp; labels are SVG text rendered by
 * sharp (librsvg + fontconfig; DejaVu Sans is installed here; test/optimize-parts.test.ts checks text pixels
 * appear). Cells keep their aspect ratio inside a box cellSize wide and as tall as the tallest cell needs; the
 * grid has `columns` columns (the command uses the last sweep's number of values).
 */
import sharp from 'sharp';

export interface SheetCell {
  data: ArrayLike<number>;
  width: number;
  height: number;
  label: string;
}

export interface SheetOptions {
  columns: number;
  /** Long edge of each cell's image box (px). */
  cellSize?: number;
  title?: string;
}

const escapeXml = (s: string): string => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** A label strip (white text on dark grey) of the given size. */
async function labelStrip(text: string, width: number, height: number, fontSize: number): Promise<Buffer> {
  // Long labels wrap at spaces into as many lines as fit.
  const maxChars = Math.max(8, Math.floor(width / (fontSize * 0.6)));
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    const lastLine = lines[lines.length - 1];
    if (lastLine !== undefined && (lastLine + ' ' + word).length <= maxChars) lines[lines.length - 1] = `${lastLine} ${word}`;
    else lines.push(word);
  }
  const tspans = lines
    .map((l, i) => `<text x="${width / 2}" y="${(i + 1) * fontSize * 1.2}" text-anchor="middle">${escapeXml(l)}</text>`)
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#222"/><g font-family="DejaVu Sans, sans-serif" font-size="${fontSize}" fill="#fff">${tspans}</g></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** PNG bytes of the sheet. */
export async function renderContactSheet(cells: SheetCell[], opts: SheetOptions): Promise<Uint8Array> {
  const cellSize = opts.cellSize ?? 256;
  const columns = Math.max(1, Math.min(opts.columns, cells.length));
  const rows = Math.ceil(cells.length / columns);
  const fontSize = Math.max(10, Math.round(cellSize / 18));
  const labelH = Math.round(fontSize * 1.2 * 2 + fontSize * 0.5);
  const gap = 4;
  const titleH = opts.title ? Math.round(fontSize * 2) : 0;
  // Image box: cellSize wide; as tall as the tallest cell needs (landscape grids get no empty bands).
  const boxH = Math.max(...cells.map((c) => Math.round((c.height * cellSize) / Math.max(c.width, c.height))), 1);
  const sheetW = columns * (cellSize + gap) + gap;
  const sheetH = titleH + rows * (boxH + labelH + gap) + gap;
  const layers: sharp.OverlayOptions[] = [];
  if (opts.title) layers.push({ input: await labelStrip(opts.title, sheetW, titleH, fontSize), left: 0, top: 0 });
  for (const [i, cell] of cells.entries()) {
    const col = i % columns;
    const row = Math.floor(i / columns);
    const left = gap + col * (cellSize + gap);
    const top = titleH + gap + row * (boxH + labelH + gap);
    const k = cellSize / Math.max(cell.width, cell.height);
    const w = Math.max(1, Math.round(cell.width * k));
    const h = Math.max(1, Math.round(cell.height * k));
    const img = await sharp(Buffer.from(Uint8Array.from(cell.data, (v) => Math.round(v))), { raw: { width: cell.width, height: cell.height, channels: 3 } })
      .resize(w, h, { kernel: 'lanczos3' })
      .png()
      .toBuffer();
    layers.push({ input: img, left: left + Math.floor((cellSize - w) / 2), top: top + Math.floor((boxH - h) / 2) });
    layers.push({ input: await labelStrip(cell.label, cellSize, labelH, fontSize), left, top: top + boxH });
  }
  const png = await sharp({ create: { width: sheetW, height: sheetH, channels: 3, background: { r: 16, g: 16, b: 16 } } })
    .composite(layers)
    .png()
    .toBuffer();
  return new Uint8Array(png);
}
