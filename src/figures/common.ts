// What every figure shares: one palette, the caption naming the spec, the log-axis rule, seed aggregation, config.
import type { TopLevelSpec } from 'vega-lite';
import { studentT975 } from '../network/index.js';
import { clipInterval, quantityRange, type SPRecord, summarize } from '../records/index.js';
import { themeConfig, wrapWords } from './theme.js';
import { maxOf, minOf } from '../io/arrays.js';

/**
 * One palette for every figure: theory, sampled and trained keep their colours everywhere. Colours are from the
 * Okabe–Ito set (distinguishable with the common colour-vision deficiencies); greyscale is served by the marks:
 * theory a solid line, sampled points with a band, trained thinner lines, references dashed or dotted.
 */
export const PALETTE = {
  theory: '#1a1a1a',
  sampled: '#0072B2',
  trained: '#D55E00',
  /** Closed-form references drawn for orientation (linear BN, B → ∞ limit, growth 1). */
  reference: '#8c8c8c',
  /** Trained steps, light to dark (shades of the trained colour: lightness orders them in greyscale too). */
  trainedSteps: ['#f6b38a', '#f08a4b', '#e5661a', '#D55E00', '#a84a00', '#7a3600', '#4d2200'],
  /** Optimizers in the optimizer comparison (all trained): Okabe–Ito, trained colour first. */
  optimizers: ['#D55E00', '#0072B2', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'],
  /** More series of one kind (factors, specs): Okabe–Ito without the trained and theory colours. */
  qualitative: ['#0072B2', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442', '#D55E00', '#000000'],
  /** Sequential scheme for heatmaps; diverging scheme for log-growth maps centred on 0 (both colour-blind safe). */
  sequential: 'viridis',
  diverging: 'blueorange',
} as const;

export const SOURCE_LABEL = { theory: 'theory', sampled: 'sampled (mean, 95% CI)', trained: 'trained' } as const;

export class FigureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FigureError';
  }
}

export interface FigureOptions {
  /** Override the quantity the figure plots. */
  quantity?: string;
  /** Restrict to one spec. */
  specId?: string;
  title?: string;
  /** Panel size in px. */
  width?: number;
  height?: number;
  [key: string]: unknown;
}

export const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** Log scale when the (positive) data span at least a decade; linear otherwise. */
export function axisScale(
  values: number[],
  opts: { zero?: boolean; base?: number } = {},
): { type: 'log'; base?: number } | { type: 'linear'; zero: boolean } {
  const v = values.filter(finite);
  if (v.length > 0 && v.every((x) => x > 0) && maxOf(v) / minOf(v) >= 10)
    return opts.base ? { type: 'log', base: opts.base } : { type: 'log' };
  return { type: 'linear', zero: opts.zero ?? false };
}

export function isLogScale(s: { type: string }): boolean {
  return s.type === 'log';
}

// a map over strings (not `satisfies Record<Order, …>`): an order added elsewhere falls back to its name
const ORDER_LABEL: Record<string, string> = {
  'linear-bn-act': 'Linear→BN→φ',
  'linear-act-bn': 'Linear→φ→BN',
  'linear-act': 'Linear→φ (no BN)',
  'linear-ln-act': 'Linear→LN→φ',
  'linear-act-ln': 'Linear→φ→LN',
  'linear-rms-act': 'Linear→RMSNorm→φ',
  'preln-residual': 'pre-LN residual',
  'postln-residual': 'post-LN residual',
  'conv-bn-act': 'Conv→BN→φ',
  vgg: 'VGG (conv)',
  resnet: 'ResNet (conv)',
  custom: 'custom layers',
};

function distinct<T>(xs: T[]): T[] {
  return [...new Set(xs.map((x) => JSON.stringify(x)))].map((s) => JSON.parse(s) as T);
}

function valuesText(name: string, vals: unknown[], fmt: (v: any) => string = String): string {
  const sorted = [...vals].sort((a: any, b: any) =>
    typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b)),
  );
  if (sorted.length === 1) return `${name} ${fmt(sorted[0])}`;
  if (sorted.length <= 5) return `${name} ∈ {${sorted.map(fmt).join(', ')}}`;
  return `${name} ∈ {${fmt(sorted[0])}, …, ${fmt(sorted[sorted.length - 1])}} (${sorted.length} values)`;
}

/** A caption line naming the spec(s) behind a figure: fixed fields as values, varying ones as sets. */
export function specCaption(records: SPRecord[]): string {
  if (records.length === 0) return '';
  const get = (f: string) => distinct(records.map((r) => (r as any)[f] ?? null).filter((v) => v !== undefined));
  const parts: string[] = [];
  const orders = get('order');
  const acts = get('activation');
  const orderTxt = orders.map((o) => (ORDER_LABEL as Record<string, string>)[o as string] ?? String(o)).join(' | ');
  parts.push(acts.length === 1 ? `${orderTxt}, φ = ${acts[0]}` : `${orderTxt}, ${valuesText('φ', acts)}`);
  for (const [f, label] of [
    ['depth', 'depth L'],
    ['width', 'width N'],
    ['batch', 'batch B'],
  ] as const) {
    const v = get(f);
    if (v.length) parts.push(valuesText(label, v, (x) => (x === null ? '∞' : String(x))));
  }
  const init = get('init');
  const w2 = get('sigmaW2');
  const b2 = get('sigmaB2');
  parts.push(`${init.join('/')} init, ${valuesText('σ_w²', w2)}, ${valuesText('σ_b²', b2)}`);
  const res = get('residual').filter((v) => v !== null);
  if (res.length) parts.push(valuesText('residual scale', res));
  const seeds = distinct(records.map((r) => r.seed).filter((s) => s !== null));
  // n of theory records counts Monte Carlo replicas (the Gram dynamics), not seeds of networks
  const ns = records
    .filter((r) => r.source !== 'theory')
    .map((r) => r.n)
    .filter(finite);
  const nSeeds = Math.max(seeds.length, ns.length ? maxOf(ns) : 0);
  if (nSeeds > 0) parts.push(`${nSeeds} seed${nSeeds > 1 ? 's' : ''}`);
  const ids = get('specId').filter((v) => v !== null) as string[];
  if (ids.length === 1) parts.push(`spec ${ids[0]}`);
  else if (ids.length > 1) parts.push(`${ids.length} specs`);
  return parts.join(' · ');
}

/** Break a caption into lines of at most `max` characters at ' · ' separators. */
export function wrapCaption(text: string, max = 110): string[] {
  const parts = text.split(' · ');
  const lines: string[] = [];
  let cur = '';
  for (const p of parts) {
    const next = cur ? `${cur} · ${p}` : p;
    if (cur && next.length > max) {
      lines.push(cur);
      cur = p;
    } else cur = next;
  }
  if (cur) lines.push(cur);
  return lines;
}

export interface Band {
  value: number;
  lo: number;
  hi: number;
  sd: number | null;
  n: number;
}

/**
 * Mean and 95% interval of one group: an aggregate record (seed null) if present, else a summary over the
 * seeds; Student-t half-widths (a few seeds give wide bands), clipped to the quantity's range (accuracy in [0, 1]).
 */
export function band(records: SPRecord[]): Band {
  const range = records.length ? quantityRange(String(records[0].quantity)) : undefined;
  const agg = records.filter((r) => r.seed === null);
  if (agg.length > 0) {
    const a = agg.reduce((best, r) => ((r.n ?? 1) > (best.n ?? 1) ? r : best), agg[0]);
    const n = a.n ?? 1;
    const half = a.sd !== undefined && n > 1 ? (studentT975(n - 1) * a.sd) / Math.sqrt(n) : 0;
    const [lo, hi] = clipInterval(a.lo ?? a.value - half, a.hi ?? a.value + half, range);
    return { value: a.value, lo, hi, sd: a.sd ?? null, n };
  }
  const s = summarize(
    records.map((r) => r.value),
    range,
  );
  return { value: s.mean, lo: s.lo, hi: s.hi, sd: s.n > 1 ? s.sd : null, n: s.n };
}

/** Group records by a key function (insertion order kept). */
export function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const l = m.get(k);
    if (l) l.push(x);
    else m.set(k, [x]);
  }
  return m;
}

/** Keep one spec when asked; otherwise all. */
export function selectSpec(records: SPRecord[], opts: FigureOptions): SPRecord[] {
  if (!opts.specId) return records;
  const out = records.filter((r) => r.specId === opts.specId);
  if (out.length === 0)
    throw new FigureError(
      `specId: "${opts.specId}" is not in the records; present: ${[...new Set(records.map((r) => r.specId))].slice(0, 10).join(', ')}`,
    );
  return out;
}

/** The first quantity of `prefs` present in the records (or opts.quantity). */
export function pickQuantity(records: SPRecord[], prefs: string[], opts: FigureOptions, figure: string, sources?: string[]): string {
  if (opts.quantity) return opts.quantity;
  const have = new Set<string>(records.filter((r) => !sources || sources.includes(r.source)).map((r) => r.quantity));
  const q = prefs.find((p) => have.has(p));
  if (!q) throw missing(figure, `quantity ${prefs.join(' or ')}${sources ? ` from ${sources.join(' or ')}` : ''}`, records);
  return q;
}

export function missing(figure: string, what: string, records: SPRecord[]): FigureError {
  const have = [...new Set(records.map((r) => `${r.source}:${r.quantity}`))].sort();
  return new FigureError(
    `figure ${figure}: needs records with ${what}; found ${have.length ? have.slice(0, 20).join(', ') : 'no records'}`,
  );
}

/** The shared look: the report theme (DejaVu Sans first in a fallback list, readable sizes, generous label limits). */
export function baseConfig(): Record<string, unknown> {
  return themeConfig('report');
}

/**
 * Wrap layers or a composition into a top-level spec with title, caption (as subtitle), data and config. `notes`
 * say what the figure left out of the records it was given and why: they are added to the caption as "note: …"
 * lines, kept in `usermeta.notes` (the CLI prints them on stderr; the paper theme keeps them as the only title).
 */
export function topLevel(
  title: string,
  captionRecords: SPRecord[],
  body: Record<string, unknown>,
  opts: FigureOptions,
  extraCaption?: string,
  notes: string[] = [],
): TopLevelSpec {
  const caption = [specCaption(captionRecords), extraCaption].filter(Boolean).join(' · ');
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: opts.title ?? title, subtitle: [...wrapCaption(caption), ...notes.flatMap((n) => wrapWords(`note: ${n}`, 120))] },
    config: baseConfig(),
    ...(notes.length ? { usermeta: { notes } } : {}),
    ...body,
  } as unknown as TopLevelSpec;
}

/** The notes a built figure carries (what it left out and why). */
export function figureNotes(vl: TopLevelSpec): string[] {
  return ((vl as { usermeta?: { notes?: string[] } }).usermeta?.notes ?? []).slice();
}

/** Integer axis (layers, depths, batch sizes, steps): no fractional ticks, no thousands separator. */
export const INT_AXIS = { tickMinStep: 1, format: 'd' } as const;

/** Colour scale for a set of series names, each from its palette entry. */
export function colorScale(series: { name: string; color: string }[]): { domain: string[]; range: string[] } {
  return { domain: series.map((s) => s.name), range: series.map((s) => s.color) };
}

/** Display a (possibly log-valued) quantity: exp() for log quantities unless that would overflow. */
export function displayTransform(quantity: string, values: number[]): { f: (v: number) => number; log10Axis: boolean } {
  const isLog = quantity.startsWith('log_') || quantity.startsWith('cum_log');
  if (!isLog) return { f: (v) => v, log10Axis: false };
  const big = values.filter(finite).some((v) => Math.abs(v) > 650);
  if (big) return { f: (v) => v / Math.LN10, log10Axis: true };
  return { f: (v) => Math.exp(v), log10Axis: false };
}

const PANEL_FIELDS: [string, string][] = [
  ['order', 'order'],
  ['activation', 'φ'],
  ['depth', 'L'],
  ['width', 'N'],
  ['batch', 'B'],
  ['init', 'init'],
  ['sigmaW2', 'σ_w²'],
  ['sigmaB2', 'σ_b²'],
  ['residual', 'residual'],
];

/**
 * A panel label per record from the spec fields that vary among the given records (other than those on the axes).
 * Records of a source that does not depend on a field (theory at any width) can be told to ignore it with `ignore`.
 */
export function panelLabeler(
  records: SPRecord[],
  exclude: string[],
): { fields: string[]; label: (r: SPRecord) => string; order: (rs: SPRecord[]) => string[] } {
  const fields = PANEL_FIELDS.filter(
    ([f]) => !exclude.includes(f) && new Set(records.map((r) => JSON.stringify((r as any)[f] ?? null))).size > 1,
  );
  const label = (r: SPRecord) =>
    fields
      .map(([f, short]) => {
        const v = (r as any)[f];
        return `${short} = ${v === null || v === undefined ? (f === 'batch' ? '∞' : 'none') : v}`;
      })
      .join(', ');
  /** Panel labels in order of their field values (numbers ascending, null = ∞ last). */
  const order = (rs: SPRecord[]) => {
    const firsts = new Map<string, SPRecord>();
    for (const r of rs) if (!firsts.has(label(r))) firsts.set(label(r), r);
    const cmp = (a: unknown, b: unknown) =>
      a === b
        ? 0
        : a === null || a === undefined
          ? 1
          : b === null || b === undefined
            ? -1
            : typeof a === 'number' && typeof b === 'number'
              ? a - b
              : String(a).localeCompare(String(b));
    return [...firsts].sort((x, y) => fields.reduce((acc, [f]) => acc || cmp((x[1] as any)[f], (y[1] as any)[f]), 0)).map(([l]) => l);
  };
  return { fields: fields.map(([f]) => f), label, order };
}

/** Small multiples: one panel per label, wrapped two to a row, panels in field order. */
export function facetBody(
  rows: Record<string, unknown>[],
  layers: Record<string, unknown>[],
  size: { width: number; height: number },
  order: string[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    data: { values: rows },
    // a long panel label (several spec fields) goes on one line per field
    facet: { field: 'panel', type: 'nominal', title: null, sort: order, header: { labelExpr: "split(datum.label, ', ')" } },
    columns: Math.min(2, order.length),
    spec: { width: Math.min(size.width, 420), height: Math.min(size.height, 280), layer: layers },
    ...extra,
  };
}

/** Trained steps to show: the 0, 1, 2, 5, 10, 20, 50, … sequence where present (at most `max`). */
export function pickSteps(available: number[], max = 7): number[] {
  const have = [...new Set(available)].sort((a, b) => a - b);
  if (have.length <= max) return have;
  const seq: number[] = [0];
  for (let d = 1; d <= 1e9; d *= 10) seq.push(d, 2 * d, 5 * d);
  const chosen = seq.filter((s) => have.includes(s));
  if (chosen.length >= 2) return chosen.slice(0, max);
  const idx = Array.from({ length: max }, (_, i) => Math.round((i * (have.length - 1)) / (max - 1)));
  return [...new Set(idx.map((i) => have[i]))];
}

/** Step axis: symlog when steps span decades (step 0 stays on the axis), else linear. */
export function stepScale(steps: number[]): { type: 'symlog'; constant: number } | { type: 'linear'; zero: boolean } {
  const max = Math.max(0, maxOf(steps.filter(finite)));
  return max >= 50 ? { type: 'symlog', constant: 1 } : { type: 'linear', zero: false };
}

/** Axis for a step scale: on symlog, ticks at 0 and 1, 2, 5, 10, 20, 50, … up to the last step (no crowding). */
export function stepAxis(steps: number[]): Record<string, unknown> {
  const max = Math.max(0, maxOf(steps.filter(finite)));
  // steps are integers: no 0.5 ticks, no thousands separator
  if (max < 50) return { tickMinStep: 1, format: 'd' };
  const values = [0];
  for (let d = 1; d <= max; d *= 10) for (const m of [1, 2, 5]) if (m * d <= max) values.push(m * d);
  return { values, format: 'd' };
}

/** Cell edges for a heatmap axis: midpoints between grid values (geometric on a log axis), half a step beyond the ends. */
export function cellEdges(values: number[], log: boolean, min = Number.NEGATIVE_INFINITY): Map<number, [number, number]> {
  const v = [...new Set(values)].sort((a, b) => a - b);
  const t = (x: number) => (log ? Math.log(x) : x);
  const inv = (x: number) => (log ? Math.exp(x) : x);
  const m = new Map<number, [number, number]>();
  if (v.length === 1) {
    m.set(v[0], log ? [v[0] / Math.SQRT2, v[0] * Math.SQRT2] : [v[0] - 0.5, v[0] + 0.5]);
    return m;
  }
  for (let i = 0; i < v.length; i++) {
    const lo = i === 0 ? t(v[0]) - (t(v[1]) - t(v[0])) / 2 : (t(v[i - 1]) + t(v[i])) / 2;
    const hi = i === v.length - 1 ? t(v[i]) + (t(v[i]) - t(v[i - 1])) / 2 : (t(v[i]) + t(v[i + 1])) / 2;
    m.set(v[i], [Math.max(min, inv(lo)), inv(hi)]);
  }
  return m;
}

/** Axis titles with symbols and units, per quantity. */
export const QUANTITY_TITLE: Record<string, string> = {
  grad_h_sq: '‖∂L/∂h_ℓ‖²',
  grad_w_sq: '‖∂L/∂W_ℓ‖²',
  grad_h_norm: '‖∂L/∂h_ℓ‖',
  grad_w_norm: '‖∂L/∂W_ℓ‖',
  log_grad_h_sq: '‖∂L/∂h_ℓ‖² / ‖∂L/∂h_L‖²',
  log_grad_w_sq: '‖∂L/∂W_ℓ‖² / ‖∂L/∂W_L‖²',
  cum_log_growth: '‖∂L/∂h_ℓ‖² / ‖∂L/∂h_L‖² (cumulative growth)',
  grad_growth: 'per-layer ratio ‖∂L/∂h_ℓ‖² / ‖∂L/∂h_ℓ₊₁‖²',
  growth: 'λ: per-layer growth of ‖∂L/∂h‖²',
  depth_scale: 'depth scale ξ = 1/ln λ (layers)',
  corr: 'mean within-batch correlation',
  unit_corr: 'mean |correlation| between units',
  loss: 'training loss',
  accuracy: 'training accuracy',
  test_loss: 'test loss',
  test_accuracy: 'test accuracy',
  preact_var: 'batch variance of h_ℓ',
  q: 'q_ℓ (second moment per unit)',
};

export const quantityTitle = (q: string) => QUANTITY_TITLE[q] ?? q;
