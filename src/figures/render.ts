// Headless rendering: Vega-Lite → Vega → SVG (vega View, no canvas) → PNG (resvg with explicit DejaVu Sans files).
import { join } from 'node:path';
import { writeFileAtomic } from '../io/files.js';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { type FontMetrics, loadFontMetrics, textWidth } from './fontMetrics.js';
import { fitToSize } from './fit.js';
import { defaultFontFiles, FONT_FAMILY, RenderError } from './fonts.js';
import { renderPdf, svgSize } from './pdf.js';
import type { FigureSize, Format } from './size.js';
import { svgSubscripts } from './svgText.js';
import { applyTheme, stackPanels, type ThemeOptions } from './theme.js';

export { defaultFontFiles, FONT_DIRS, FONT_FAMILY, RenderError } from './fonts.js';

export interface CompiledFigure {
  vega: any;
  warnings: string[];
}

/** Compile a Vega-Lite spec, capturing every warning vega-lite logs (a figure must compile without any). */
export function compileVegaLite(vl: TopLevelSpec): CompiledFigure {
  const warnings: string[] = [];
  let lvl = 0;
  const logger: any = {
    level(l?: number) {
      if (l === undefined) return lvl;
      lvl = l;
      return logger;
    },
    error(...a: unknown[]) {
      throw new RenderError(`vega-lite: ${a.map(String).join(' ')}`);
    },
    warn(...a: unknown[]) {
      warnings.push(a.map(String).join(' '));
      return logger;
    },
    info() {
      return logger;
    },
    debug() {
      return logger;
    },
  };
  const out = compile(vl, { logger });
  return { vega: out.spec, warnings };
}

let metricsInstalled = false;

/**
 * Give vega exact text widths from the DejaVu Sans files (regular and bold), so that layout and label truncation
 * match what resvg draws. Without it vega guesses 0.8 em per character. Falls back to vega's estimate if the
 * fonts are absent (renderPng then reports them missing).
 */
export function installTextMetrics(): boolean {
  if (metricsInstalled) return true;
  let regular: FontMetrics;
  let bold: FontMetrics;
  try {
    const files = defaultFontFiles();
    regular = loadFontMetrics(files.find((f) => f.endsWith('/DejaVuSans.ttf'))!);
    const b = files.find((f) => f.endsWith('/DejaVuSans-Bold.ttf'));
    bold = b ? loadFontMetrics(b) : regular;
  } catch {
    return false;
  }
  const tm = (vega as any).textMetrics;
  tm.width = (item: any, text: unknown) => {
    const s = text == null ? '' : String(text).trim();
    const size = item.fontSize != null ? +item.fontSize || 0 : 11;
    const w = item.fontWeight;
    const m = w === 'bold' || (typeof w === 'number' && w >= 600) || (typeof w === 'string' && +w >= 600) ? bold : regular;
    const width = textWidth(m, s, size);
    return item.limit > 0 && width > item.limit ? +item.limit : width;
  };
  metricsInstalled = true;
  return true;
}

/** Vega-Lite → SVG string (vega's headless renderer, with text widths measured from DejaVu Sans; `x_y` as subscripts). */
export async function renderSvg(vl: TopLevelSpec): Promise<string> {
  return svgSubscripts(await rawSvg(vl));
}

async function rawSvg(vl: TopLevelSpec): Promise<string> {
  const { vega: spec } = compileVegaLite(vl);
  installTextMetrics();
  const view = new vega.View(vega.parse(spec), { renderer: 'none', logLevel: 0 });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface PngOptions {
  /** Pixel scale relative to the SVG size (default 2). */
  scale?: number;
  /** Font files; default DejaVu Sans (regular, bold, oblique) from the system font directory. */
  fontFiles?: string[];
  background?: string;
}

/** SVG → PNG bytes through resvg, with the system fonts off and DejaVu Sans given explicitly. */
export function renderPng(svg: string, opts: PngOptions = {}): Uint8Array {
  const scale = opts.scale ?? 2;
  if (!(scale > 0 && scale <= 8)) throw new RenderError(`scale: ${scale} is not allowed; expected a number in (0, 8]`);
  const fontFiles = opts.fontFiles ?? defaultFontFiles();
  if (fontFiles.length === 0)
    throw new RenderError('fontFiles: [] is not allowed; expected at least one font file (without fonts resvg silently draws no text)');
  const resvg = new Resvg(svg, {
    background: opts.background ?? 'white',
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: false, fontFiles, defaultFontFamily: FONT_FAMILY, sansSerifFamily: FONT_FAMILY },
  });
  return resvg.render().asPng();
}

export { writeFileAtomic as writeAtomic } from '../io/files.js';

export interface FigureRenderOptions extends PngOptions, ThemeOptions {
  /** Files to write besides `<name>.vl.json` (default svg and png). */
  formats?: Format[];
  /** Paper size; the theme defaults to `paper` when a size is given. */
  size?: FigureSize;
}

export interface PreparedFigure {
  /** The spec as drawn: themed, panels fitted to the size. */
  spec: TopLevelSpec;
  svg: string;
  /** Page size of the PDF (and physical size of the SVG) in points. */
  widthPt: number;
  heightPt: number;
  /** What the figure left out and why (`usermeta.notes`). */
  notes: string[];
}

/**
 * Theme a figure and fit it to a paper size. At a paper size one SVG unit is one point (so `--font-size 8` is 8 pt
 * on the page) and the SVG says its size in inches; without one the report layout is kept (px at 96 per inch).
 */
export async function prepareFigure(vl: TopLevelSpec, opts: FigureRenderOptions = {}): Promise<PreparedFigure> {
  const theme = opts.theme ?? (opts.size ? 'paper' : 'report');
  if (opts.fontSize !== undefined && !(opts.fontSize >= 4 && opts.fontSize <= 40))
    throw new RenderError(`fontSize: ${opts.fontSize} is not allowed; expected a size in points from 4 to 40`);
  const legendColumns = opts.legendColumns ?? (opts.size && opts.size.widthIn >= 5 ? 2 : 1);
  // notes wrap to the page: DejaVu Sans averages about 0.58 em per character
  const noteChars = opts.size ? Math.floor((opts.size.widthIn * 72) / (0.58 * (opts.fontSize ?? 8))) : undefined;
  const applied = applyTheme(vl, { theme, fontSize: opts.fontSize, legendColumns, noteChars });
  // a single column has no room for panels side by side
  const themed = opts.size && opts.size.widthIn < 4.5 ? stackPanels(applied) : applied;
  const notes = ((vl as any).usermeta?.notes as string[] | undefined) ?? [];
  if (!opts.size) {
    const svg = await renderSvg(themed);
    const { width, height } = svgSize(svg);
    return { spec: themed, svg, widthPt: (width * 72) / 96, heightPt: (height * 72) / 96, notes };
  }
  const target = { width: opts.size.widthIn * 72, height: opts.size.heightIn === undefined ? undefined : opts.size.heightIn * 72 };
  const measure = async (spec: TopLevelSpec) => {
    const svg = await rawSvg(spec);
    return { svg, ...svgSize(svg) };
  };
  // panels side by side that cannot fit the width go under each other
  const fit = await fitToSize(themed, target, measure).catch((e: unknown) => {
    if (!(e instanceof RenderError) || !JSON.stringify(themed).includes('"hconcat"')) throw e;
    return fitToSize(stackPanels(themed), target, measure);
  });
  const widthPt = target.width;
  const heightPt = target.height ?? (fit.height * target.width) / fit.width;
  const svg = svgSubscripts(withPhysicalSize(fit.svg, widthPt / 72, heightPt / 72));
  return { spec: fit.spec, svg, widthPt, heightPt, notes };
}

/** Give the SVG root a physical size (its viewBox keeps the drawing's units). */
function withPhysicalSize(svg: string, widthIn: number, heightIn: number): string {
  const r = (x: number) => String(Math.round(x * 1e4) / 1e4);
  return svg.replace(/<svg\b[^>]*>/, (root) =>
    root.replace(/\swidth="[^"]*"/, ` width="${r(widthIn)}in"`).replace(/\sheight="[^"]*"/, ` height="${r(heightIn)}in"`),
  );
}

export interface RenderedFiles {
  vl: string;
  svg?: string;
  png?: string;
  pdf?: string;
  /** What the figure left out and why (also in the figure). */
  notes: string[];
}

/**
 * Write `<basename>.vl.json` (data inline, as drawn) and the asked formats (default svg and png) into outDir,
 * each to a temporary name and then renamed; returns their paths.
 */
export async function renderFigure(
  vl: TopLevelSpec,
  outDir: string,
  basename: string,
  opts: FigureRenderOptions = {},
): Promise<RenderedFiles> {
  const formats = opts.formats ?? ['svg', 'png'];
  const fig = await prepareFigure(vl, opts);
  // at a paper size, PNG pixels default to 300 per inch (the SVG says its size in inches; resvg reads 96 px per inch)
  const scale = opts.scale ?? (opts.size ? 300 / 96 : 2);
  const path = (ext: string) => join(outDir, `${basename}.${ext}`);
  const out: RenderedFiles = { vl: path('vl.json'), notes: fig.notes };
  const bytes: [string, string | Uint8Array][] = [[out.vl, `${JSON.stringify(fig.spec, null, 1)}\n`]];
  if (formats.includes('svg')) bytes.push([(out.svg = path('svg')), fig.svg]);
  if (formats.includes('png')) bytes.push([(out.png = path('png')), renderPng(fig.svg, { ...opts, scale })]);
  if (formats.includes('pdf'))
    bytes.push([
      (out.pdf = path('pdf')),
      await renderPdf(fig.svg, { widthPt: fig.widthPt, heightPt: fig.heightPt, fontFiles: opts.fontFiles, title: basename }),
    ]);
  for (const [p, b] of bytes) writeFileAtomic(p, b);
  return out;
}
