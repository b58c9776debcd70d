// Text widths from the font files themselves, for vega's layout without a canvas. Vega's fallback estimate
// (0.8 em per character) overstates DejaVu Sans by about a third, which leaves wide gaps and pushes long axis
// titles out of the plot. We read each glyph's advance width from the TrueType tables (cmap format 4 + hmtx).
import { readFileSync } from 'node:fs';

export interface FontMetrics {
  unitsPerEm: number;
  /** Advance width in font units of the glyph for a code point (the .notdef width when unmapped). */
  advance: (codePoint: number) => number;
}

function table(buf: Buffer, tag: string): number {
  const n = buf.readUInt16BE(4);
  for (let i = 0; i < n; i++) {
    const rec = 12 + 16 * i;
    if (buf.toString('latin1', rec, rec + 4) === tag) return buf.readUInt32BE(rec + 8);
  }
  throw new Error(`font: no ${tag} table`);
}

/** Parse the advance widths of a TrueType font (BMP characters through a format-4 cmap). */
export function parseFontMetrics(buf: Buffer): FontMetrics {
  const head = table(buf, 'head');
  const hhea = table(buf, 'hhea');
  const hmtx = table(buf, 'hmtx');
  const cmap = table(buf, 'cmap');
  const unitsPerEm = buf.readUInt16BE(head + 18);
  const nHMetrics = buf.readUInt16BE(hhea + 34);
  const nSub = buf.readUInt16BE(cmap + 2);
  let sub = -1;
  for (let i = 0; i < nSub; i++) {
    const platform = buf.readUInt16BE(cmap + 4 + 8 * i);
    const encoding = buf.readUInt16BE(cmap + 6 + 8 * i);
    const off = cmap + buf.readUInt32BE(cmap + 8 + 8 * i);
    if (buf.readUInt16BE(off) === 4 && ((platform === 3 && encoding === 1) || platform === 0)) {
      sub = off;
      if (platform === 3) break;
    }
  }
  if (sub < 0) throw new Error('font: no format-4 Unicode cmap');
  const segX2 = buf.readUInt16BE(sub + 6);
  const ends = sub + 14;
  const starts = ends + segX2 + 2;
  const deltas = starts + segX2;
  const ranges = deltas + segX2;
  const glyphOf = (c: number): number => {
    for (let s = 0; s < segX2 / 2; s++) {
      const end = buf.readUInt16BE(ends + 2 * s);
      if (c > end) continue;
      const start = buf.readUInt16BE(starts + 2 * s);
      if (c < start) return 0;
      const delta = buf.readInt16BE(deltas + 2 * s);
      const ro = buf.readUInt16BE(ranges + 2 * s);
      if (ro === 0) return (c + delta) & 0xffff;
      const g = buf.readUInt16BE(ranges + 2 * s + ro + 2 * (c - start));
      return g === 0 ? 0 : (g + delta) & 0xffff;
    }
    return 0;
  };
  const cache = new Map<number, number>();
  const advance = (c: number) => {
    let w = cache.get(c);
    if (w === undefined) {
      const g = c > 0xffff ? 0 : glyphOf(c);
      w = buf.readUInt16BE(hmtx + 4 * Math.min(g, nHMetrics - 1));
      cache.set(c, w);
    }
    return w;
  };
  return { unitsPerEm, advance };
}

/** Width in px of a string at a font size. */
export function textWidth(m: FontMetrics, text: string, fontSize: number): number {
  let u = 0;
  for (const ch of text) u += m.advance(ch.codePointAt(0)!);
  return (u * fontSize) / m.unitsPerEm;
}

const loaded = new Map<string, FontMetrics>();
export function loadFontMetrics(path: string): FontMetrics {
  let m = loaded.get(path);
  if (!m) loaded.set(path, (m = parseFontMetrics(readFileSync(path))));
  return m;
}
