// Fit a figure to a page width (and height): scale every panel's width and height until the whole view, axes and
// legends included, is as wide as asked. Vega-Lite's autosize "fit" does not work for facets and concatenations,
// so we measure the rendered view and solve for the panel scale (secant steps; the total is nearly linear in it).
import type { TopLevelSpec } from 'vega-lite';
import { RenderError } from './fonts.js';

const isObj = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The view-level objects that carry a panel size: the top level, a facet's `spec`, the members of a concatenation. */
function sizedViews(node: Record<string, any>, out: Record<string, any>[] = []): Record<string, any>[] {
  if (typeof node.width === 'number' || typeof node.height === 'number') out.push(node);
  if (isObj(node.spec)) sizedViews(node.spec, out);
  for (const k of ['hconcat', 'vconcat', 'concat']) if (Array.isArray(node[k])) for (const c of node[k]) if (isObj(c)) sizedViews(c, out);
  return out;
}

/** A copy of the spec with every panel's width scaled by sx and height by sy (at least `min` units each). */
export function scalePanels(vl: TopLevelSpec, sx: number, sy: number, min = 24): TopLevelSpec {
  const out = structuredClone(vl) as Record<string, any>;
  for (const v of sizedViews(out)) {
    if (typeof v.width === 'number') v.width = Math.max(min, Math.round(v.width * sx));
    if (typeof v.height === 'number') v.height = Math.max(min, Math.round(v.height * sy));
  }
  return out as TopLevelSpec;
}

export interface FitResult {
  spec: TopLevelSpec;
  svg: string;
  width: number;
  height: number;
  /** Panel scales used. */
  sx: number;
  sy: number;
}

/**
 * Scale the panels until the rendered view is `width` units wide (and `height` high when given; else heights
 * scale with widths, keeping each panel's aspect ratio). `render` gives the SVG and its size for a spec.
 */
export async function fitToSize(
  vl: TopLevelSpec,
  target: { width: number; height?: number },
  render: (spec: TopLevelSpec) => Promise<{ svg: string; width: number; height: number }>,
  opts: { tolerance?: number; maxIter?: number; minHeightScale?: number } = {},
): Promise<FitResult> {
  const tol = opts.tolerance ?? 1;
  const maxIter = opts.maxIter ?? 6;
  const fixH = target.height !== undefined;
  const at = async (sx: number, sy: number) => {
    // with the height free, panels keep their aspect ratio down to a floor (a tiny facet grid stays readable)
    const y = fixH ? sy : Math.max(sx, opts.minHeightScale ?? 0.45);
    const spec = scalePanels(vl, sx, y);
    return { spec, sx, sy: y, ...(await render(spec)) };
  };
  let a = await at(1, 1);
  let b = await at(target.width / a.width, fixH ? target.height! / a.height : 1);
  let best = b;
  const err = (r: typeof a) => Math.max(Math.abs(r.width - target.width), fixH ? Math.abs(r.height - target.height!) : 0);
  for (let i = 0; i < maxIter && err(best) > tol; i++) {
    const step = (t: number, x0: number, x1: number, y0: number, y1: number) =>
      Math.abs(y1 - y0) < 1e-9 ? x1 * (t / y1) : x1 + ((t - y1) * (x1 - x0)) / (y1 - y0);
    const sx = Math.max(0.01, step(target.width, a.sx, b.sx, a.width, b.width));
    const sy = fixH ? Math.max(0.01, step(target.height!, a.sy, b.sy, a.height, b.height)) : sx;
    const c = await at(sx, sy);
    a = b;
    b = c;
    if (err(c) < err(best)) best = c;
  }
  // a figure whose axes, labels and legends alone are wider than the page cannot be fitted by its panels
  if (best.width > target.width * 1.02 + tol || (fixH && best.height > target.height! * 1.02 + tol))
    throw new RenderError(
      `size: the figure needs ${Math.ceil(best.width)} × ${Math.ceil(best.height)} units for its labels and legends alone; asked ${target.width} × ${target.height ?? 'any'} (try full, a larger <w>x<h> or a smaller --font-size)`,
    );
  return best;
}
