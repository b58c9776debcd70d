import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { Resvg } from '@resvg/resvg-js';
import { describe, expect, it } from 'vitest';
import {
  buildFigure,
  buildReport,
  defaultFontFiles,
  FIGURE_NAMES,
  inlineSvg,
  renderFigure,
  renderPng,
  renderSvg,
  reportHtml,
  writeReport,
} from '../../src/figures/index.js';
import { loadFontMetrics, textWidth } from '../../src/figures/fontMetrics.js';
import { record } from '../../src/records/index.js';
import { allRecords, batchRecords, fields } from './fixtures.js';

/** A small PNG decoder (8-bit RGB/RGBA, all five filters), written from the PNG spec, to read back what we wrote. */
function decodePng(buf: Uint8Array): { width: number; height: number; rgba: Uint8Array } {
  const b = Buffer.from(buf);
  expect(b.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  let off = 8;
  let width = 0;
  let height = 0;
  let channels = 4;
  const idat: Buffer[] = [];
  while (off < b.length) {
    const len = b.readUInt32BE(off);
    const type = b.toString('latin1', off + 4, off + 8);
    const data = b.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect(data[8]).toBe(8);
      channels = data[9] === 6 ? 4 : data[9] === 2 ? 3 : data[9] === 4 ? 2 : 1;
    } else if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = new Uint8Array(width * height * 4);
  const prev = new Uint8Array(stride);
  const cur = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const ft = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x];
      const a = x >= channels ? cur[x - channels] : 0;
      const up = prev[x];
      const c = x >= channels ? prev[x - channels] : 0;
      let p = 0;
      if (ft === 1) p = a;
      else if (ft === 2) p = up;
      else if (ft === 3) p = (a + up) >> 1;
      else if (ft === 4) {
        const pa = Math.abs(up - c);
        const pb = Math.abs(a - c);
        const pc = Math.abs(a + up - 2 * c);
        p = pa <= pb && pa <= pc ? a : pb <= pc ? up : c;
      }
      cur[x] = (v + p) & 0xff;
    }
    for (let x = 0; x < width; x++) {
      const g = channels <= 2;
      out.set(
        [
          cur[x * channels],
          cur[x * channels + (g ? 0 : 1)],
          cur[x * channels + (g ? 0 : 2)],
          channels % 2 === 0 ? cur[x * channels + channels - 1] : 255,
        ],
        4 * (y * width + x),
      );
    }
    prev.set(cur);
  }
  return { width, height, rgba: out };
}

/** Dark pixels (luma < 110) in rows [y0, y1). */
function darkPixels(img: { width: number; rgba: Uint8Array }, y0: number, y1: number): number {
  let n = 0;
  for (let y = y0; y < y1; y++)
    for (let x = 0; x < img.width; x++) {
      const i = 4 * (y * img.width + x);
      if (0.299 * img.rgba[i] + 0.587 * img.rgba[i + 1] + 0.114 * img.rgba[i + 2] < 110) n++;
    }
  return n;
}

const stripText = (svg: string) => svg.replace(/<text[^>]*>[^<]*<\/text>/g, '');

describe('PNG through resvg with DejaVu Sans', () => {
  it('draws the text layer: the title band has ink, and none once the text is removed or the fonts are missing', async () => {
    const svg = await renderSvg(buildFigure('lambda-vs-batch', batchRecords()));
    const scale = 2;
    const titleBand: [number, number] = [0, 22 * scale]; // the title line (15 px bold) sits in the top 22 px
    const withText = decodePng(renderPng(svg, { scale }));
    const noText = decodePng(renderPng(stripText(svg), { scale }));
    const noFonts = new Resvg(svg, {
      fitTo: { mode: 'zoom', value: scale },
      background: 'white',
      font: { loadSystemFonts: false, fontFiles: [] },
    }).render();
    const noFontsImg = { width: noFonts.width, rgba: new Uint8Array(noFonts.pixels) };
    const ink = darkPixels(withText, ...titleBand);
    // "Per-layer gradient growth λ against batch size" in 15 px bold at 2×: thousands of dark pixels.
    expect(ink).toBeGreaterThan(2000);
    expect(darkPixels(noText, ...titleBand)).toBe(0);
    expect(darkPixels(noFontsImg, ...titleBand)).toBe(0); // what this test guards against
    expect(() => renderPng(svg, { fontFiles: [] })).toThrow(/fontFiles: \[\] is not allowed/);
  });

  it('generic sans-serif text renders in DejaVu Sans, not the serif fallback', () => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="360" height="60"><text x="8" y="40" font-family="sans-serif" font-size="28">signalprop ∂L/∂h ℓ λ</text></svg>`;
    const ours = renderPng(svg, { scale: 1 });
    const dir = defaultFontFiles()[0].replace(/\/[^/]+$/, '');
    const only = (file: string) =>
      new Resvg(svg, {
        background: 'white',
        font: {
          loadSystemFonts: false,
          fontFiles: [join(dir, file)],
          defaultFontFamily: file.startsWith('DejaVuSans') ? 'DejaVu Sans' : 'DejaVu Serif',
          sansSerifFamily: file.startsWith('DejaVuSans') ? 'DejaVu Sans' : 'DejaVu Serif',
        },
      })
        .render()
        .asPng();
    const a = decodePng(ours).rgba;
    expect(Buffer.from(a).equals(Buffer.from(decodePng(only('DejaVuSans.ttf')).rgba))).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(decodePng(only('DejaVuSerif.ttf')).rgba))).toBe(false);
  });

  it('text widths read from the font match the advance resvg draws (ten glyphs minus one = nine advances)', () => {
    const regular = defaultFontFiles().find((f) => f.endsWith('/DejaVuSans.ttf'))!;
    const m = loadFontMetrics(regular);
    for (const ch of ['0', 'M', 'ℓ', '∂']) {
      const ink = (s: string) => {
        const r = new Resvg(
          `<svg xmlns="http://www.w3.org/2000/svg" width="1400" height="140"><text x="10" y="100" font-family="DejaVu Sans" font-size="100">${s}</text></svg>`,
          { font: { loadSystemFonts: false, fontFiles: [regular] } },
        );
        const bb = r.getBBox()!;
        return bb.width;
      };
      const measured = ink(ch.repeat(10)) - ink(ch);
      expect(Math.abs(measured - 9 * textWidth(m, ch, 100)), ch).toBeLessThan(0.5);
    }
  });

  it('a depth-scale line wholly outside the heatmap is left out (resvg 2.6 aborts on a clipped path outside its clip)', () => {
    // One depth (12): a linear y axis with the one cell spanning [11.5, 12.5]; ξ = 2 lies below it, 6ξ = 12 inside.
    const recs = [8, 32, 128].flatMap((B) => [
      record(fields({ batch: B, depth: 12 }), 'sampled', 'growth', null, 1.5, { seed: 1 }),
      record(fields({ batch: B, depth: 12 }), 'theory', 'depth_scale', null, 2),
    ]);
    const vl: any = buildFigure('depth-batch-heatmap', recs, { depthScaleMultiples: [1, 6] });
    const lines = vl.data.values.filter((r: any) => r.kind === 'xi');
    expect([...new Set(lines.map((r: any) => r.k))]).toEqual([6]);
    return renderSvg(vl).then((svg) => expect(renderPng(svg, { scale: 1 }).length).toBeGreaterThan(1000));
  });

  it('renderFigure writes the spec (data inline), the SVG and a PNG', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sp-fig-'));
    const vl = buildFigure('lambda-vs-batch', batchRecords());
    const files = await renderFigure(vl, dir, 'lambda');
    expect(JSON.parse(readFileSync(files.vl, 'utf8'))).toEqual(JSON.parse(JSON.stringify(vl)));
    expect(readFileSync(files.svg!, 'utf8')).toMatch(/^<svg /);
    const png = decodePng(readFileSync(files.png!));
    expect(png.width).toBeGreaterThan(800);
  });
});

describe('HTML report', () => {
  it('holds every figure inline, the comparison and specs tables, versions, and no external reference', async () => {
    const input = await buildReport(allRecords(), { title: 'fixture report' });
    expect(input.skipped).toEqual([]);
    expect(input.figures.map((f) => f.name)).toEqual(FIGURE_NAMES);
    const html = reportHtml(input);
    expect(html.match(/<figure /g)).toHaveLength(FIGURE_NAMES.length);
    expect(html.match(/<svg /g)).toHaveLength(FIGURE_NAMES.length);
    for (const n of FIGURE_NAMES) expect(html).toContain(`id="fig-${n}"`);
    // Opens offline: no URL of any kind, no scripts, no external resources.
    expect(html).not.toMatch(/https?:/i);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\ssrc=|@import|url\((?!#)/i);
    // Ids unique across the inlined SVGs (clip paths of one figure never clip another).
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
    for (const ref of html.matchAll(/url\(#([^)]+)\)/g)) expect(ids).toContain(ref[1]);
    expect(html).toContain('Theory against measurement');
    expect(html).toContain('Specs used');
    expect(html).toMatch(/vega-lite \d+\.\d+\.\d+/);
    const dir = mkdtempSync(join(tmpdir(), 'sp-rep-'));
    writeReport(join(dir, 'r.html'), input);
    expect(readFileSync(join(dir, 'r.html'), 'utf8')).toBe(html);
  });

  it('inlineSvg prefixes ids and their references', () => {
    const s = inlineSvg(
      '<svg xmlns="http://www.w3.org/2000/svg"><clipPath id="clip1"/><g clip-path="url(#clip1)"/><use href="#clip1"/></svg>',
      'f3',
    );
    expect(s).toBe('<svg><clipPath id="f3-clip1"/><g clip-path="url(#f3-clip1)"/><use href="#f3-clip1"/></svg>');
  });
});
