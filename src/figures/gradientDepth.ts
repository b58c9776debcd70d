// Figure 1: per-layer gradient norm against depth (log y): theory line, sampled mean with its band, trained steps.
import type { TopLevelSpec } from 'vega-lite';
import type { SPRecord } from '../records/index.js';
import {
  axisScale,
  band,
  colorScale,
  facetBody,
  displayTransform,
  INT_AXIS,
  type FigureOptions,
  finite,
  groupBy,
  missing,
  PALETTE,
  panelLabeler,
  pickQuantity,
  pickSteps,
  quantityTitle,
  SOURCE_LABEL,
  selectSpec,
  topLevel,
} from './common.js';
import { pushAll } from '../io/arrays.js';
import { type SeriesStyle, seriesLegend } from './legend.js';
import { familyOf, toRelativeLog } from './gradientNormalise.js';

export const GRADIENT_QUANTITIES = [
  'log_grad_h_sq',
  'grad_h_sq',
  'cum_log_growth',
  'grad_h_norm',
  'log_grad_w_sq',
  'grad_w_sq',
  'grad_w_norm',
];

export interface GradientDepthOptions extends FigureOptions {
  /** Trained steps to draw (default 0, 1, 2, 5, 10, … where present). */
  steps?: number[];
}

export function gradientVsDepthFigure(all: SPRecord[], opts: GradientDepthOptions = {}): TopLevelSpec {
  const NAME = 'gradient-vs-depth';
  const records = selectSpec(all, opts);
  const q0 = pickQuantity(records, GRADIENT_QUANTITIES, opts, NAME);
  const notes: string[] = [];
  const converted: string[] = [];
  const perLayer = (src: string, qq: string) =>
    records.some((r) => r.source === src && r.quantity === qq && r.layer !== null && finite(r.value));
  const family = familyOf(q0);
  const sources = ['theory', 'sampled', 'trained'].filter((s) => records.some((r) => r.source === s && r.layer !== null));
  // a source counts when it has any quantity of the family (trained runs may have only the per-layer ratio)
  const familyQs = family ? family.from.map((x) => x.q) : GRADIENT_QUANTITIES;
  const gradSources = sources.filter((s) => [...GRADIENT_QUANTITIES, ...familyQs].some((qq) => perLayer(s, qq)));
  let q = q0;
  let rs: SPRecord[] | undefined;
  if (!opts.quantity && family && !gradSources.every((s) => perLayer(s, q0))) {
    // sources record different gradient quantities: draw all as ln(‖g_ℓ‖²/‖g_L‖²), each from what it has
    q = family.log;
    rs = [];
    for (const s of gradSources) {
      const from = family.from.find((x) => perLayer(s, x.q))?.q;
      if (!from) continue;
      const conv = toRelativeLog(
        records.filter((r) => r.source === s),
        family,
        from,
      );
      pushAll(rs, conv.records);
      if (from !== q) converted.push(`${s} from ${from}`);
      if (conv.droppedRuns)
        notes.push(`${conv.droppedRuns} ${s} run-steps left out: a non-positive, non-finite or missing layer value of ${from}`);
    }
  }
  rs = (rs ?? records.filter((r) => r.quantity === q && r.layer !== null)).filter((r) => finite(r.value));
  if (rs.length === 0) throw missing(NAME, `per-layer values of ${q}`, records);
  for (const s of gradSources)
    if (!rs.some((r) => r.source === s)) {
      const has = [...new Set([...GRADIENT_QUANTITIES, ...familyQs])].filter((qq) => perLayer(s, qq));
      notes.push(
        `${s} records left out: they have no ${q} (they have ${has.join(', ')}; without --quantity they are normalised to one quantity)`,
      );
    }
  const tr = displayTransform(
    q,
    rs.map((r) => r.value),
  );
  const panel = panelLabeler(rs, []);
  const trainedSteps = rs.filter((r) => r.source === 'trained' && r.step !== null).map((r) => r.step!);
  const steps = opts.steps ?? pickSteps(trainedSteps);
  const allSteps = [...new Set(trainedSteps)].sort((a, b) => a - b);
  const shown = allSteps.filter((s) => steps.includes(s));
  if (shown.length < allSteps.length)
    notes.push(
      `trained steps ${shown.join(', ')} drawn; ${allSteps.length - shown.length} other logged steps left out (${allSteps
        .filter((s) => !steps.includes(s))
        .slice(0, 8)
        .join(', ')}${allSteps.length - shown.length > 8 ? ', …' : ''}) to keep the shades apart`,
    );
  const rows: Record<string, unknown>[] = [];
  const used: SPRecord[] = [];
  const stepName = (s: number) => `trained, step ${s}`;
  const push = (series: string, source: string, group: SPRecord[], step: number | null) => {
    const b = band(group);
    pushAll(used, group);
    rows.push({
      series,
      source,
      panel: panel.label(group[0]),
      layer: group[0].layer,
      step,
      y: tr.f(b.value),
      lo: tr.f(b.lo),
      hi: tr.f(b.hi),
      n: b.n,
    });
  };
  for (const [, g] of groupBy(
    rs.filter((r) => r.source === 'theory' && (r.step === null || r.step === 0)),
    (r) => `${panel.label(r)}|${r.layer}`,
  ))
    push(SOURCE_LABEL.theory, 'theory', g, null);
  for (const [, g] of groupBy(
    rs.filter((r) => r.source === 'sampled'),
    (r) => `${panel.label(r)}|${r.layer}`,
  ))
    push(SOURCE_LABEL.sampled, 'sampled', g, null);
  for (const [, g] of groupBy(
    rs.filter((r) => r.source === 'trained' && r.step !== null && steps.includes(r.step)),
    (r) => `${panel.label(r)}|${r.step}|${r.layer}`,
  ))
    push(stepName(g[0].step!), 'trained', g, g[0].step);

  const present = new Set(rows.map((r) => r.series as string));
  const series = [
    { name: SOURCE_LABEL.theory, color: PALETTE.theory },
    { name: SOURCE_LABEL.sampled, color: PALETTE.sampled },
    ...steps.map((s, i) => ({
      name: stepName(s),
      color: PALETTE.trainedSteps[Math.round((i * (PALETTE.trainedSteps.length - 1)) / Math.max(1, steps.length - 1))],
    })),
  ].filter((s) => present.has(s.name));
  const styles: SeriesStyle[] = series.map((s) => ({
    ...s,
    mark: s.name === SOURCE_LABEL.sampled ? 'point' : 'line',
  }));
  const color = {
    field: 'series',
    type: 'nominal',
    title: null,
    scale: colorScale(series),
    legend: seriesLegend(styles, { orient: 'right' }),
  };
  const yVals = rows.flatMap((r) => [r.y, r.lo, r.hi] as number[]);
  const yScale = tr.log10Axis ? { type: 'linear', zero: false } : axisScale(yVals);
  const yTitle = tr.log10Axis ? `log₁₀ ${quantityTitle(q)}` : quantityTitle(q);
  const x = {
    field: 'layer',
    type: 'quantitative',
    title: 'layer ℓ (1 = input side)',
    scale: { zero: false, nice: false },
    axis: INT_AXIS,
  };
  const y = { field: 'y', type: 'quantitative', title: yTitle, scale: yScale };
  const layers: Record<string, unknown>[] = [];
  if (present.has(SOURCE_LABEL.sampled)) {
    const f = { filter: `datum.source === 'sampled'` };
    layers.push(
      {
        transform: [f],
        mark: { type: 'area', opacity: 0.2, color: PALETTE.sampled },
        encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' } },
      },
      { transform: [f], mark: { type: 'point', filled: true, size: 30 }, encoding: { x, y, color } },
    );
  }
  if ([...present].some((s) => s.startsWith('trained')))
    layers.push({
      transform: [{ filter: `datum.source === 'trained'` }],
      mark: { type: 'line', strokeWidth: 1.5, point: { size: 12 } },
      encoding: { x, y, color, detail: { field: 'step', type: 'quantitative' } },
    });
  if (present.has(SOURCE_LABEL.theory))
    layers.push({
      transform: [{ filter: `datum.source === 'theory'` }],
      mark: { type: 'line', strokeWidth: 2.5 },
      encoding: { x, y, color },
    });
  const size = { width: opts.width ?? 520, height: opts.height ?? 320 };
  const body =
    panel.fields.length > 0 ? facetBody(rows, layers, size, panel.order(rs)) : { data: { values: rows }, ...size, layer: layers };
  const caption = converted.length
    ? `quantity ${q}: ${converted.join(', ')}, as ln of the ratio to the last layer of each run and step`
    : `quantity ${q}`;
  return topLevel('Gradient norm against depth', used, body, opts, caption, notes);
}
