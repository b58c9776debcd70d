// Headless rendering: Vega-Lite → Vega → SVG (vega View, no canvas) → PNG (resvg with explicit DejaVu Sans files).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/files.js';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { type FontMetrics, loadFontMetrics, textWidth } from './fontMetrics.js';

/** Directories searched for DejaVu Sans (Debian/Ubuntu, Fedora/Arch, Alpine). */
export const FONT_DIRS = [
  '/usr/share/fonts/truetype/dejavu',
  '/usr/share/fonts/dejavu',
  '/usr/share/fonts/TTF',
  '/usr/share/fonts/dejavu-sans-fonts',
];
export const FONT_FAMILY = 'DejaVu Sans';
const FONT_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSans-Oblique.ttf', 'DejaVuSans-BoldOblique.ttf'];

export class RenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RenderError';
  }
}

/** The DejaVu Sans files resvg is given. Without them resvg falls back to a serif, or (no system fonts) draws no text at all. */
export function defaultFontFiles(): string[] {
  for (const dir of FONT_DIRS) {
    const files = FONT_FILES.map((f) => join(dir, f)).filter((p) => existsSync(p));
    if (files.some((f) => f.endsWith('/DejaVuSans.ttf'))) return files;
  }
  throw new RenderError(
    `fonts: DejaVuSans.ttf not found in ${FONT_DIRS.join(', ')}; install fonts-dejavu-core (Debian/Ubuntu) or pass fontFiles`,
  );
}

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

/** Vega-Lite → SVG string (vega's headless renderer, with text widths measured from DejaVu Sans). */
export async function renderSvg(vl: TopLevelSpec): Promise<string> {
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

export interface RenderedFiles {
  vl: string;
  svg: string;
  png: string;
}

/** Write `<basename>.vl.json` (data inline), `.svg` and `.png` into outDir; returns their paths. */
export async function renderFigure(vl: TopLevelSpec, outDir: string, basename: string, opts: PngOptions = {}): Promise<RenderedFiles> {
  const svg = await renderSvg(vl);
  const png = renderPng(svg, opts);
  const paths = { vl: join(outDir, `${basename}.vl.json`), svg: join(outDir, `${basename}.svg`), png: join(outDir, `${basename}.png`) };
  writeFileAtomic(paths.vl, `${JSON.stringify(vl, null, 1)}\n`);
  writeFileAtomic(paths.svg, svg);
  writeFileAtomic(paths.png, png);
  return paths;
}
