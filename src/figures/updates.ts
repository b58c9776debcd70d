// Per-layer update statistics of training against depth (issue 17): the update-to-weight ratio
// ‖ΔW_ℓ‖/‖W_ℓ‖ of each probed step and, where an adaptive optimizer ran (LARS, LAMB, LALC), its per-layer
// trust ratio, one panel per step (first, a few log-spaced, last), one colour and dash per optimizer.
import type { TopLevelSpec } from 'vega-lite';
import type { SPRecord } from '../records/index.js';
import { type FigureOptions, finite, groupBy, INT_AXIS, missing, PALETTE, panelLabeler, selectSpec, topLevel } from './common.js';
import { pushAll } from '../io/arrays.js';
import { seriesLegend } from './legend.js';
import { optimizerLabel } from './training.js';

export interface UpdatesOptions extends FigureOptions {
  /** Probed steps to draw, one panel each (default: facetSteps of the steps present). */
  steps?: number[];
}

/** Dashes per optimizer, so that curves stay apart in greyscale (as in the optimizer comparison). */
const DASHES: number[][] = [
  [1, 0],
  [6, 3],
  [2, 2],
  [8, 3, 2, 3],
  [12, 4],
  [1, 3],
];

/**
 * Up to `max` steps for the panels: the first, the last, and between them the steps nearest (in
 * log(1 + t)) to log-spaced targets, so that early steps, where updates change fastest, get panels.
 */
export function facetSteps(available: number[], max = 4): number[] {
  const have = [...new Set(available.filter(finite))].sort((a, b) => a - b);
  if (have.length <= max) return have;
  const first = have[0];
  const last = have[have.length - 1];
  const lo = Math.log1p(first);
  const hi = Math.log1p(last);
  const chosen = new Set([first, last]);
  for (let i = 1; i < max - 1; i++) {
    const target = lo + ((hi - lo) * i) / (max - 1);
    let best = have[1];
    for (const s of have.slice(1, -1)) if (Math.abs(Math.log1p(s) - target) < Math.abs(Math.log1p(best) - target)) best = s;
    chosen.add(best);
  }
  return [...chosen].sort((a, b) => a - b);
}

const RATIO = 'update_ratio';
const TRUST = 'trust_ratio';

/**
 * Figure `updates`: per-layer ‖ΔW_ℓ‖/‖W_ℓ‖ (and the optimizer's trust ratio, where recorded) against layer,
 * log y, faceted by probed step, one line per optimizer (the geometric mean over runs, a band over the
 * runs' range). The readout (layer null) and clip factors (trust_ratio with tags.method clip-…) are left out,
 * and say so.
 */
export function updatesFigure(all: SPRecord[], opts: UpdatesOptions = {}): TopLevelSpec {
  const NAME = 'updates';
  const records = selectSpec(all, opts).filter((r) => r.source === 'trained' && r.step !== null);
  const perLayer = (q: string) => records.filter((r) => r.quantity === q && r.layer !== null);
  const ratioAll = perLayer(RATIO);
  if (ratioAll.length === 0) throw missing(NAME, `trained per-layer ${RATIO} over steps`, all);
  const notes: string[] = [];
  const trustAll = perLayer(TRUST);
  const clipF = trustAll.filter((r) => String(r.tags?.method ?? '').startsWith('clip-'));
  if (clipF.length) notes.push(`${clipF.length} clip factors (trust_ratio, tags.method clip-…) left out`);
  const nReadout = records.filter((r) => (r.quantity === RATIO || r.quantity === TRUST) && r.layer === null).length;
  if (nReadout) notes.push(`${nReadout} readout records (layer null) left out`);
  const positive = (r: SPRecord) => finite(r.value) && r.value > 0;
  const bad = [...ratioAll, ...trustAll].filter((r) => !positive(r)).length;
  if (bad) notes.push(`${bad} records that are zero or not finite left out (log axis)`);
  const ratio = ratioAll.filter(positive);
  const trust = trustAll.filter((r) => positive(r) && !clipF.includes(r));

  const allSteps = [...new Set(ratio.map((r) => r.step!))].sort((a, b) => a - b);
  const steps = (opts.steps ?? facetSteps(allSteps)).filter((s) => allSteps.includes(s));
  if (steps.length === 0) throw missing(NAME, `trained ${RATIO} at steps ${opts.steps?.join(', ')}`, all);
  if (steps.length < allSteps.length) notes.push(`steps ${steps.join(', ')} drawn of ${allSteps.length} probed`);

  // one series per optimizer, and per spec when several are given
  const specs = panelLabeler(ratio, ['layer']);
  const seriesOf = (r: SPRecord) => [optimizerLabel(r), specs.fields.length ? specs.label(r) : ''].filter(Boolean).join(' · ');
  const names = [...new Set(ratio.map(seriesOf))].sort();
  const stepLabel = (s: number) => `step ${s}`;
  const rows: Record<string, unknown>[] = [];
  const used: SPRecord[] = [];
  for (const [panel, recs] of [
    [RATIO, ratio],
    [TRUST, trust],
  ] as const) {
    const shown = recs.filter((r) => steps.includes(r.step!));
    for (const [, g] of groupBy(shown, (r) => `${seriesOf(r)}|${r.step}|${r.layer}`)) {
      const logs = g.map((r) => Math.log(r.value));
      const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
      rows.push({
        panel,
        series: seriesOf(g[0]),
        step: g[0].step,
        stepLabel: stepLabel(g[0].step!),
        layer: g[0].layer,
        y: Math.exp(mean),
        lo: Math.exp(Math.min(...logs)),
        hi: Math.exp(Math.max(...logs)),
        runs: g.length,
      });
      pushAll(used, g);
    }
  }
  const styles = names.map((name, i) => ({
    name,
    color: PALETTE.optimizers[i % PALETTE.optimizers.length],
    mark: 'line' as const,
    dash: DASHES[i % DASHES.length],
  }));
  const color = {
    field: 'series',
    type: 'nominal',
    title: 'optimizer',
    scale: { domain: names, range: styles.map((s) => s.color) },
    legend: seriesLegend(styles, { symbolStrokeWidth: 2.5, symbolOpacity: 1 }),
  };
  const strokeDash = { field: 'series', type: 'nominal', title: 'optimizer', scale: { domain: names, range: styles.map((s) => s.dash) } };
  const x = {
    field: 'layer',
    type: 'quantitative',
    title: 'layer ℓ (1 = input side)',
    scale: { zero: false, nice: false },
    axis: INT_AXIS,
  };
  const multiRun = rows.some((r) => (r.runs as number) > 1);
  const panelOf = (panel: string, title: string) => {
    const y = { field: 'y', type: 'quantitative', title, scale: { type: 'log' } };
    const f = { filter: `datum.panel === '${panel}'` };
    const layer: Record<string, unknown>[] = [];
    if (multiRun)
      layer.push({
        transform: [f],
        mark: { type: 'area', opacity: 0.15 },
        encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color },
      });
    layer.push({ transform: [f], mark: { type: 'line', strokeWidth: 1.8, point: { size: 14 } }, encoding: { x, y, color, strokeDash } });
    return {
      facet: { field: 'stepLabel', type: 'nominal', title: null, sort: steps.map(stepLabel) },
      columns: Math.min(4, steps.length),
      spec: { width: opts.width ?? 180, height: opts.height ?? 160, layer },
    };
  };
  const vconcat = [panelOf(RATIO, 'update ratio ‖ΔW_ℓ‖ / ‖W_ℓ‖')];
  if (rows.some((r) => r.panel === TRUST)) vconcat.push(panelOf(TRUST, 'trust ratio (per layer)'));
  return topLevel(
    'Per-layer update size against depth',
    used,
    { data: { values: rows }, vconcat, resolve: { scale: { y: 'independent' } } },
    opts,
    `${multiRun ? 'geometric mean over runs, band: their range · ' : ''}step t: the update from θ at step t to step t + 1`,
    notes,
  );
}
