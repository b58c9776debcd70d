// Output formats and paper sizes: what `--format` and `--size` accept, checked with one line naming what is allowed.
import { RenderError } from './fonts.js';

export const FORMATS = ['svg', 'png', 'pdf'] as const;
export type Format = (typeof FORMATS)[number];

/**
 * Named widths in inches, from the two-column templates: ICML (icml20xx.sty: \textwidth 6.75 in, \columnsep 0.25 in,
 * so 3.25 in columns). IEEEtran (21 pc = 3.5 in columns, 43 pc ≈ 7.16 in text) and ACM sigconf (3.33 in / 7 in) are
 * within 8% of these; NeurIPS is one column of 5.5 in (use `5.5x3`).
 */
export const NAMED_SIZES = { column: 3.25, full: 6.75 } as const;
export type SizeName = keyof typeof NAMED_SIZES;

export interface FigureSize {
  /** What was asked: `column`, `full` or `<w>x<h>`. */
  name: string;
  widthIn: number;
  /** Total height; absent for a named width (the figure's own aspect ratio sets it). */
  heightIn?: number;
}

const LIMIT_IN = 40;

/** `column` | `full` | `<w>x<h>` in inches (e.g. `3.25x2.4`). */
export function parseSize(flag: string, value: string): FigureSize {
  const v = value.trim();
  if (Object.hasOwn(NAMED_SIZES, v)) return { name: v, widthIn: NAMED_SIZES[v as SizeName] };
  const m = /^(\d+(?:\.\d+)?)x(\d+(?:\.\d+)?)$/.exec(v);
  const w = m ? Number(m[1]) : Number.NaN;
  const h = m ? Number(m[2]) : Number.NaN;
  if (!(w >= 1 && w <= LIMIT_IN && h >= 0.75 && h <= LIMIT_IN))
    throw new RenderError(
      `${flag}: "${value}" is not allowed; expected column (${NAMED_SIZES.column} in), full (${NAMED_SIZES.full} in) or <width>x<height> in inches (width 1–${LIMIT_IN}, height 0.75–${LIMIT_IN}, e.g. 3.25x2.4)`,
    );
  return { name: v, widthIn: w, heightIn: h };
}

/** A comma-separated list of formats, each once. */
export function parseFormats(flag: string, value: string): Format[] {
  const parts = value
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const p of parts)
    if (!(FORMATS as readonly string[]).includes(p))
      throw new RenderError(`${flag}: "${p}" is not allowed; expected a comma-separated list of ${FORMATS.join(', ')}`);
  if (parts.length === 0)
    throw new RenderError(`${flag}: "${value}" is not allowed; expected a comma-separated list of ${FORMATS.join(', ')}`);
  return [...new Set(parts)] as Format[];
}
