// Paper output: every figure kind as PDF, SVG and PNG at both paper sizes; the PDF read back by our own reader
// (page size, embedded subset fonts, the axis titles as text); no text box overlaps another at column width.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultFontFiles, FIGURE_NAMES, renderFigure, renderPdf, renderSvg } from '../../src/figures/index.js';
import { loadFontMetrics } from '../../src/figures/fontMetrics.js';
import { buildFigure } from '../../src/figures/registry.js';
import { NAMED_SIZES, parseFormats, parseSize } from '../../src/figures/size.js';
import { svgTextBoxes, textOverlaps } from '../../src/figures/svgText.js';
import { applyTheme, stackPanels } from '../../src/figures/theme.js';
import { FIXTURES } from './fixtures.js';
import { pdfFonts, pdfPageSizes, pdfText } from './pdfReader.js';

const dir = mkdtempSync(join(tmpdir(), 'sp-paper-'));
const fonts = defaultFontFiles();
const metrics = {
  regular: loadFontMetrics(fonts.find((f) => f.endsWith('/DejaVuSans.ttf'))!),
  bold: loadFontMetrics(fonts.find((f) => f.endsWith('/DejaVuSans-Bold.ttf')) ?? fonts[0]),
};

/** PNG width and height from its IHDR chunk (PNG spec §11.2.2). */
function pngSize(buf: Buffer): { width: number; height: number } {
  expect(buf.subarray(1, 4).toString('latin1')).toBe('PNG');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

/** Every axis title string in a spec's encodings (x and y, through layers, facets and concatenations). */
function axisTitles(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const x of node) axisTitles(x, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'data') continue;
      if (k === 'encoding' && v && typeof v === 'object')
        for (const ch of ['x', 'y'] as const) {
          const t = (v as any)[ch]?.title;
          if (typeof t === 'string' && t) out.add(t);
        }
      axisTitles(v, out);
    }
  }
  return out;
}

// what the reader sees: subscripts lose their underscore; spacing is not part of the comparison
const norm = (s: string) => s.replace(/_/g, '').replace(/\s+/g, '');

describe.each(['column', 'full'] as const)('every figure kind at the %s size', (sizeName) => {
  const size = parseSize('--size', sizeName);
  it.each(FIGURE_NAMES)('%s: PDF, SVG and PNG; the page is what was asked; the PDF has the axis titles as text', async (name) => {
    const vl = buildFigure(name, FIXTURES[name]());
    const files = await renderFigure(vl, join(dir, sizeName), name, { formats: parseFormats('--format', 'svg,png,pdf'), size });
    const svg = readFileSync(files.svg!, 'utf8');
    const pdf = readFileSync(files.pdf!);
    const png = readFileSync(files.png!);
    // the page: exactly the width asked (1/72 in units), the height the SVG's aspect ratio gives
    const pages = pdfPageSizes(pdf);
    expect(pages).toHaveLength(1);
    expect(pages[0].width).toBeCloseTo(NAMED_SIZES[sizeName] * 72, 2);
    const root = /<svg\b[^>]*>/.exec(svg)![0];
    expect(root).toContain(` width="${NAMED_SIZES[sizeName]}in"`);
    const hIn = Number(/ height="([\d.]+)in"/.exec(root)![1]);
    expect(pages[0].height).toBeCloseTo(hIn * 72, 1);
    const vb = /viewBox="0 0 ([\d.]+) ([\d.]+)"/.exec(root)!;
    expect(hIn / NAMED_SIZES[sizeName]).toBeCloseTo(Number(vb[2]) / Number(vb[1]), 2);
    // PNG at 300 per inch (resvg reads the SVG's inches at 96 px)
    const p = pngSize(png);
    expect(Math.abs(p.width - NAMED_SIZES[sizeName] * 300)).toBeLessThanOrEqual(2);
    // fonts: embedded, subset (a six-letter tag before the name, ISO 32000-1 §9.6.4), DejaVu Sans
    const fs = [...pdfFonts(pdf).values()];
    expect(fs.length).toBeGreaterThan(0);
    for (const f of fs) {
      expect(f.embedded, f.baseFont).toBe(true);
      expect(f.baseFont).toMatch(/^[A-Z]{6}\+DejaVuSans/);
    }
    // text: every axis title of the spec is in the PDF as text
    const text = norm(pdfText(pdf).join('\n'));
    const titles = [...axisTitles(files.vl ? JSON.parse(readFileSync(files.vl, 'utf8')) : vl)];
    expect(titles.length).toBeGreaterThan(0);
    for (const t of titles) expect(text, t).toContain(norm(t));
    // the paper theme has no title block: the figure's own title is not on the page
    const title = (vl as any).title.text as string;
    expect(text).not.toContain(norm(title));
  });
});

describe('no text overlaps other text', () => {
  it.each(FIGURE_NAMES)('%s at column width (text boxes from the SVG, DejaVu advance widths)', async (name) => {
    const vl = buildFigure(name, FIXTURES[name]());
    const files = await renderFigure(vl, join(dir, 'overlap'), name, { formats: ['svg'], size: parseSize('--size', 'column') });
    const boxes = svgTextBoxes(readFileSync(files.svg!, 'utf8'), metrics);
    expect(boxes.length).toBeGreaterThan(5);
    const bad = textOverlaps(boxes).map(([a, b]) => `"${a.text}" × "${b.text}"`);
    expect(bad).toEqual([]);
  });

  it('the overlap check finds text drawn on top of text', () => {
    const t = (x: number, s: string) => `<text transform="translate(${x},20)" font-size="10px">${s}</text>`;
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"><g transform="translate(5,0)">${t(0, 'abcdef')}${t(20, 'ghij')}${t(120, 'far')}</g></svg>`;
    const boxes = svgTextBoxes(svg, metrics);
    // the first box is as wide as the font says "abcdef" is at 10 px, offset by the group's translate
    const w = [...'abcdef'].reduce((s, c) => s + metrics.regular.advance(c.codePointAt(0)!), 0) * (10 / metrics.regular.unitsPerEm);
    expect(boxes[0].x0).toBeCloseTo(5, 6);
    expect(boxes[0].x1).toBeCloseTo(5 + w, 6);
    expect(w).toBeGreaterThan(20);
    const pairs = textOverlaps(boxes).map(([a, b]) => [a.text, b.text]);
    expect(pairs).toEqual([['abcdef', 'ghij']]);
  });
});

describe('sizes, font size and themes', () => {
  it('a <w>x<h> size gives that page exactly', async () => {
    const vl = buildFigure('lambda-vs-batch', FIXTURES['lambda-vs-batch']());
    const files = await renderFigure(vl, join(dir, 'custom'), 'lam', { formats: ['pdf', 'svg'], size: parseSize('--size', '3x2.5') });
    const [page] = pdfPageSizes(readFileSync(files.pdf!));
    expect(page.width).toBeCloseTo(216, 3);
    expect(page.height).toBeCloseTo(180, 3);
    const root = /<svg\b[^>]*>/.exec(readFileSync(files.svg!, 'utf8'))![0];
    expect(root).toContain('width="3in"');
    expect(root).toContain('height="2.5in"');
  });

  it.each([undefined, 10])('paper theme text is the asked size in points (font size %s; titles one point larger)', async (fontSize) => {
    const vl = buildFigure('gradient-vs-depth', FIXTURES['gradient-vs-depth']());
    const files = await renderFigure(vl, join(dir, `fs-${fontSize}`), 'g', {
      formats: ['svg'],
      size: parseSize('--size', 'full'),
      fontSize,
    });
    const svg = readFileSync(files.svg!, 'utf8');
    const base = fontSize ?? 8;
    const sizes = new Set([...svg.matchAll(/<text[^>]*font-size="([\d.]+)px"/g)].map((m) => Number(m[1])));
    expect([...sizes].sort()).toEqual([base, base + 1]);
  });

  it('the same figure gives the same PDF bytes (fixed creation date, so a fixed file ID)', async () => {
    const svg = await renderSvg(buildFigure('lambda-vs-batch', FIXTURES['lambda-vs-batch']()));
    const a = Buffer.from(await renderPdf(svg));
    const b = Buffer.from(await renderPdf(svg));
    expect(a.length).toBeGreaterThan(1000);
    expect(a.equals(b)).toBe(true);
  });

  it('at column width, side-by-side panels and wrapped facets are stacked; the paper theme sets band labels upright', () => {
    const spec: any = {
      hconcat: [
        { width: 100, mark: 'point' },
        { facet: { field: 'p' }, columns: 2, spec: { width: 50, mark: 'point' } },
      ],
      encoding: { x: { field: 'a', type: 'nominal', axis: { labelAngle: 0 } } },
    };
    const st: any = stackPanels(spec);
    expect(st.hconcat).toBeUndefined();
    expect(st.vconcat).toHaveLength(2);
    expect(st.vconcat[1].columns).toBe(1);
    expect(spec.hconcat).toHaveLength(2); // the input is not changed
    const paper: any = applyTheme(spec, { theme: 'paper' });
    expect(paper.encoding.x.axis.labelAngle).toBeUndefined();
    expect(paper.config.axisBand.labelAngle).toBe(-90);
    expect(applyTheme(spec, { theme: 'report' }) as any).toMatchObject({ encoding: { x: { axis: { labelAngle: 0 } } } });
  });

  it('bad sizes and formats are refused naming the flag, the value and what is allowed', () => {
    expect(() => parseSize('--size', '3x')).toThrow(
      /^--size: "3x" is not allowed; expected column \(3\.25 in\), full \(6\.75 in\) or <width>x<height>/,
    );
    expect(() => parseSize('--size', '0x2')).toThrow(/--size: "0x2" is not allowed/);
    expect(() => parseFormats('--format', 'svg,jpg')).toThrow(
      '--format: "jpg" is not allowed; expected a comma-separated list of svg, png, pdf',
    );
  });
});
