// Looks for a figure: the report theme (a page of its own, title and caption) and the paper theme (a figure in a
// paper: 8–9 pt text, thin lines, no title block, legends below the plot). A theme rewrites a built spec's config
// and its per-mark line widths; it never touches the data.
import type { TopLevelSpec } from 'vega-lite';

export const THEMES = ['report', 'paper'] as const;
export type ThemeName = (typeof THEMES)[number];

/** Font names written into the SVG: DejaVu Sans first (what the layout was measured with), then look-alikes. */
export const FONT_STACK = 'DejaVu Sans, Bitstream Vera Sans, Verdana, Geneva, Arial, Helvetica, sans-serif';

export interface ThemeOptions {
  theme?: ThemeName;
  /** Tick-label size in points (paper) or px (report); titles scale with it. Default 8 (paper), 11 (report). */
  fontSize?: number;
  /** Legend entries per row below the plot (paper theme; default 1). */
  legendColumns?: number;
  /** Characters per line of the notes (paper theme; default 60). */
  noteChars?: number;
}

/** Break text into lines of at most `max` characters at spaces. */
export function wrapWords(text: string, max = 110): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const w of text.split(' ')) {
    if (cur && cur.length + 1 + w.length > max) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  return lines;
}

const DEFAULT_FONT = { report: 11, paper: 8 } as const;

/** The config block of a theme at a base font size. */
export function themeConfig(theme: ThemeName, fontSize?: number, legendColumns = 1): Record<string, unknown> {
  const fs = fontSize ?? DEFAULT_FONT[theme];
  if (theme === 'report')
    return {
      font: FONT_STACK,
      background: 'white',
      view: { stroke: '#cccccc' },
      title: {
        fontSize: round((fs * 15) / 11),
        subtitleFontSize: fs,
        subtitleColor: '#555555',
        anchor: 'start',
        offset: 10,
        subtitlePadding: 4,
      },
      axis: {
        labelFontSize: fs,
        titleFontSize: round((fs * 12) / 11),
        labelLimit: 400,
        titleLimit: 1000,
        grid: true,
        gridColor: '#eeeeee',
      },
      legend: { labelFontSize: fs, titleFontSize: round((fs * 12) / 11), labelLimit: 600, titleLimit: 600, symbolStrokeWidth: 2 },
      header: { labelFontSize: round((fs * 12) / 11), titleFontSize: round((fs * 12) / 11), labelLimit: 600 },
    };
  const t = fs + 1;
  return {
    font: FONT_STACK,
    background: 'white',
    padding: 2,
    view: { stroke: '#bbbbbb', strokeWidth: 0.5 },
    // only the notes (what a figure left out) stay as a title in the paper theme
    title: { fontSize: fs, fontWeight: 'normal', color: '#444444', anchor: 'start', offset: 4 },
    axis: {
      labelFontSize: fs,
      titleFontSize: t,
      titleFontWeight: 'normal',
      labelLimit: 200,
      titleLimit: 1000,
      grid: true,
      gridColor: '#eeeeee',
      gridWidth: 0.5,
      domainWidth: 0.5,
      tickWidth: 0.5,
      tickSize: 3,
      labelPadding: 1,
      titlePadding: 3,
    },
    // category labels upright: narrow bars at column width keep their labels apart
    axisBand: { labelAngle: -90 },
    legend: {
      orient: 'bottom',
      direction: 'vertical',
      columns: legendColumns,
      labelFontSize: fs,
      titleFontSize: t,
      titleFontWeight: 'normal',
      labelLimit: 400,
      titleLimit: 400,
      symbolSize: 40,
      symbolStrokeWidth: 1.2,
      rowPadding: 1,
      columnPadding: 6,
      padding: 0,
      offset: 4,
      gradientLength: 100,
      gradientThickness: 8,
      // several legends below one plot go under each other, not side by side
      layout: { bottom: { anchor: 'start', direction: 'vertical', margin: 3 } },
    },
    header: { labelFontSize: t, titleFontSize: t, labelLimit: 400, labelPadding: 2 },
    concat: { spacing: 8 },
    facet: { spacing: 8 },
  };
}

const round = (x: number) => Math.round(x * 10) / 10;

const isObj = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Visit every mark definition and every legend definition of a spec (through layers, facets and concatenations). */
function walk(node: unknown, visit: (o: Record<string, any>, key: string) => void, key = ''): void {
  if (Array.isArray(node)) {
    for (const x of node) walk(x, visit, key);
    return;
  }
  if (!isObj(node)) return;
  visit(node, key);
  for (const [k, v] of Object.entries(node)) if (k !== 'data' && k !== 'usermeta' && k !== 'config') walk(v, visit, k);
}

/**
 * Apply a theme to a built figure: a new spec (the input is not changed). The paper theme drops the title and
 * caption (they belong in the paper) but keeps the notes that say what a figure left out; it halves line widths,
 * shrinks point marks and moves every legend below its plot.
 */
export function applyTheme(vl: TopLevelSpec, opts: ThemeOptions = {}): TopLevelSpec {
  const theme = opts.theme ?? 'report';
  const out = structuredClone(vl) as Record<string, any>;
  out.config = themeConfig(theme, opts.fontSize, opts.legendColumns);
  if (theme === 'report') {
    if (opts.fontSize !== undefined) scaleText(out, opts.fontSize / DEFAULT_FONT.report);
    return out as TopLevelSpec;
  }
  const notes: string[] = out.usermeta?.notes ?? [];
  if (notes.length) out.title = { text: notes.flatMap((n) => wrapWords(`note: ${n}`, opts.noteChars ?? 60)) };
  else delete out.title;
  scaleText(out, (opts.fontSize ?? DEFAULT_FONT.paper) / DEFAULT_FONT.report);
  walk(out, (o, key) => {
    if (key === 'mark' || key === 'point') {
      if (typeof o.strokeWidth === 'number') o.strokeWidth = Math.max(0.5, round(o.strokeWidth * 0.45));
      if (typeof o.size === 'number' && o.type !== 'text') o.size = Math.max(4, Math.round(o.size * 0.35));
    }
    if (key === 'legend') {
      delete o.orient;
      delete o.gradientLength;
      if (typeof o.symbolStrokeWidth === 'number') o.symbolStrokeWidth = Math.min(o.symbolStrokeWidth, 1.5);
      if (typeof o.symbolSize === 'number') o.symbolSize = Math.min(o.symbolSize, 150);
    }
    if (key === 'header' && typeof o.labelPadding === 'number') o.labelPadding = Math.min(o.labelPadding, 10);
    // category labels follow the theme's band axis (upright), even where a spec pinned them level
    if (key === 'x' && o.type === 'nominal' && o.axis?.labelAngle === 0) delete o.axis.labelAngle;
  });
  return out as TopLevelSpec;
}

/** Side-by-side panels (hconcat, wrapped facets) stacked instead, at every level: for a page too narrow for them. */
export function stackPanels(vl: TopLevelSpec): TopLevelSpec {
  const out = structuredClone(vl) as Record<string, any>;
  walk(out, (o) => {
    if (Array.isArray(o.hconcat)) {
      o.vconcat = o.hconcat;
      delete o.hconcat;
    }
    // wrapped small multiples: one panel to a row
    if (typeof o.columns === 'number' && o.columns > 1 && o.facet) o.columns = 1;
  });
  return out as TopLevelSpec;
}

/** Scale explicit font sizes inside marks and sub-titles (config sizes are set by the theme). */
function scaleText(spec: Record<string, any>, k: number): void {
  walk(spec, (o, key) => {
    if ((key === 'mark' || key === 'title') && typeof o.fontSize === 'number') o.fontSize = round(o.fontSize * k);
  });
}
