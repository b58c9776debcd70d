// Figure: does the batch stay at the BSB1 fixed point? Per-sample centred-norm spread and mean within-batch
// correlation against depth, the theory's Gram dynamics (a line with its replica band) against sampled nets
// (mean over seeds with its 95% interval), one column per activation. The spread sees a departure from
// BSB1 along the L direction long before the mean correlation moves (docs/theory.md §4.6).
import type { TopLevelSpec } from 'vega-lite';
import type { SPRecord } from '../records/index.js';
import { band, colorScale, type FigureOptions, finite, groupBy, missing, PALETTE, SOURCE_LABEL, selectSpec, topLevel } from './common.js';
import { pushAll } from '../io/arrays.js';
import { seriesLegend } from './legend.js';

export const SYMMETRY_QUANTITIES = ['norm_spread', 'corr'] as const;
const ROW_TITLE: Record<(typeof SYMMETRY_QUANTITIES)[number], string> = {
  norm_spread: 'norm spread',
  corr: 'correlation',
};

export function symmetryBreakingFigure(all: SPRecord[], opts: FigureOptions = {}): TopLevelSpec {
  const NAME = 'symmetry-breaking';
  const records = selectSpec(all, opts).filter(
    (r) =>
      r.layer !== null &&
      (r.source === 'theory' || r.source === 'sampled') &&
      (SYMMETRY_QUANTITIES as readonly string[]).includes(r.quantity) &&
      finite(r.value),
  );
  if (!records.some((r) => r.quantity === 'norm_spread'))
    throw missing(NAME, 'per-layer norm_spread (theory Gram dynamics or sampled nets)', all);
  const rows: Record<string, unknown>[] = [];
  const used: SPRecord[] = [];
  for (const [, g] of groupBy(records, (r) => `${r.source}|${r.activation}|${r.batch}|${r.quantity}|${r.layer}`)) {
    const b = band(g);
    pushAll(used, g);
    const r0 = g[0];
    rows.push({
      series: SOURCE_LABEL[r0.source],
      source: r0.source,
      activation: `${r0.activation}, B = ${r0.batch ?? '∞'}`,
      quantity: ROW_TITLE[r0.quantity as (typeof SYMMETRY_QUANTITIES)[number]],
      layer: r0.layer,
      y: b.value,
      lo: b.lo,
      hi: b.hi,
    });
  }
  const present = new Set(rows.map((r) => r.series as string));
  const series = [
    { name: SOURCE_LABEL.theory, color: PALETTE.theory },
    { name: SOURCE_LABEL.sampled, color: PALETTE.sampled },
  ].filter((s) => present.has(s.name));
  // the legend shows theory as a solid line and sampled as the dashed line it is drawn with
  const styles = series.map((s) => ({ ...s, mark: 'line' as const, dash: s.name === SOURCE_LABEL.sampled ? [4, 2] : undefined }));
  const color = {
    field: 'series',
    type: 'nominal',
    title: null,
    scale: colorScale(series),
    legend: seriesLegend(styles, { orient: 'bottom' }),
  };
  const x = {
    field: 'layer',
    type: 'quantitative',
    title: 'layer ℓ',
    scale: { zero: false, nice: false },
    axis: { tickMinStep: 1, format: 'd' },
  };
  const y = { field: 'y', type: 'quantitative', title: null, scale: { zero: true } };
  const layers: Record<string, unknown>[] = [];
  for (const [source, mark] of [
    ['theory', { type: 'line', strokeWidth: 2.2 }],
    ['sampled', { type: 'line', strokeWidth: 1.2, strokeDash: [4, 2], point: { size: 14, filled: true } }],
  ] as const) {
    if (!rows.some((r) => r.source === source)) continue;
    const f = { filter: `datum.source === '${source}'` };
    layers.push({
      transform: [f],
      mark: { type: 'area', opacity: 0.18, color: PALETTE[source] },
      encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' } },
    });
    layers.push({ transform: [f], mark, encoding: { x, y, color } });
  }
  const acts = [...new Set(rows.map((r) => r.activation as string))];
  const body = {
    data: { values: rows },
    facet: {
      row: {
        field: 'quantity',
        type: 'nominal',
        title: null,
        sort: SYMMETRY_QUANTITIES.map((q) => ROW_TITLE[q]),
        header: { labelAngle: -90, labelPadding: 28 },
      },
      column: { field: 'activation', type: 'nominal', title: null, sort: acts },
    },
    spec: { width: opts.width ?? 230, height: opts.height ?? 150, layer: layers },
    resolve: { scale: { y: 'independent' } },
  };
  return topLevel(
    'Leaving the BSB1 fixed point: centred-norm spread and correlation against depth',
    used,
    body,
    opts,
    'rows: centred-norm spread (sd/mean over samples), mean correlation between samples · theory: Gram dynamics, 95% band over Monte Carlo replicas',
  );
}
