// Figures over training steps: early training (5), the optimizer comparison (6) and the exact factors of
// the per-layer gradient ratio (gradient-factors).
import type { TopLevelSpec } from 'vega-lite';
import { quantityRange, type SPRecord, summarize } from '../records/index.js';
import {
  axisScale,
  band,
  colorScale,
  type FigureOptions,
  finite,
  groupBy,
  INT_AXIS,
  missing,
  PALETTE,
  panelLabeler,
  quantityTitle,
  selectSpec,
  stepAxis,
  stepScale,
  topLevel,
} from './common.js';
import { maxOf, minOf, pushAll } from '../io/arrays.js';
import { type SeriesStyle, seriesLegend } from './legend.js';

const OPT_NAMES: Record<string, string> = {
  sgd: 'SGD',
  momentum: 'SGD + momentum',
  nesterov: 'SGD + Nesterov',
  adam: 'Adam',
  lars: 'LARS',
  lamb: 'LAMB',
  lalc: 'LALC',
};
const truthy = (v: unknown) =>
  v === true || (typeof v === 'number' && v > 0) || (typeof v === 'string' && v !== '' && v !== 'none' && v !== 'false' && v !== '0');

/** Dash patterns for optimizers (with their colours): solid, dashed, dotted, dash-dot, long dash, … */
const OPT_DASHES: number[][] = [
  [1, 0],
  [6, 3],
  [2, 2],
  [8, 3, 2, 3],
  [12, 4],
  [1, 3],
  [4, 2, 1, 2, 1, 2],
  [10, 2],
];

/** The optimizer a trained record belongs to, as a legend label: tags.label, else tags.optimizer (+ warmup, + clip). */
export function optimizerLabel(r: SPRecord): string {
  const t = r.tags ?? {};
  if (typeof t.label === 'string' && t.label) return t.label;
  const raw = String(t.optimizer ?? t.opt ?? 'unknown');
  let s = OPT_NAMES[raw.toLowerCase()] ?? raw;
  const warm = t.warmup ?? t.warmupSteps ?? (typeof t.schedule === 'string' && t.schedule.includes('warmup') ? true : undefined);
  if (truthy(warm) && !s.includes('warmup')) s += ' + warmup';
  if (truthy(t.clip ?? t.clipping) && !s.includes('clip')) s += ' + clip';
  return s;
}

/** A run: tags.run when present, else the seed (within one spec and optimizer). */
const runOf = (r: SPRecord) => String(r.tags?.run ?? `seed ${r.seed}`);

function mostCommon(xs: string[]): string {
  const c = new Map<string, number>();
  for (const x of xs) c.set(x, (c.get(x) ?? 0) + 1);
  return [...c].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0][0];
}

export interface EarlyTrainingOptions extends FigureOptions {
  /** Optimizer label to show (default: the most common in the records). */
  optimizer?: string;
  /** Layers to average over (default: every layer present but the input layer ℓ = 1). */
  layers?: number[];
  /** The correlation quantity of the right panel: 'corr' (between samples, default) or 'unit_corr' (between units). */
  corrQuantity?: string;
}

/** Per-step values: reduce over layers within each run (geometric or arithmetic mean), then a band over runs. */
function perStep(
  recs: SPRecord[],
  layers: number[] | undefined,
  geometric: boolean,
): { step: number; b: ReturnType<typeof band>; layers: number[] }[] {
  const keep = recs.filter(
    (r) => r.step !== null && finite(r.value) && (!layers || r.layer === null || layers.includes(r.layer)) && (!geometric || r.value > 0),
  );
  const out: { step: number; b: ReturnType<typeof band>; layers: number[] }[] = [];
  for (const [, g] of groupBy(keep, (r) => String(r.step))) {
    const perRun: number[] = [];
    const ls = new Set<number>();
    for (const [, rg] of groupBy(g, runOf)) {
      const vals = rg.map((r) => (geometric ? Math.log(r.value) : r.value));
      for (const r of rg) if (r.layer !== null) ls.add(r.layer);
      const m = vals.reduce((a, b) => a + b, 0) / vals.length;
      perRun.push(geometric ? Math.exp(m) : m);
    }
    const s = summarize(perRun, quantityRange(String(g[0].quantity)));
    out.push({ step: g[0].step!, b: { value: s.mean, lo: s.lo, hi: s.hi, sd: s.sd, n: s.n }, layers: [...ls].sort((a, b) => a - b) });
  }
  return out.sort((a, b) => a.step - b.step);
}

const MEASURED = 'trained (mean over runs, 95% CI)';
const PREDICTED = 'gradient-independence reconstruction (GIA)';
/** The GIA records: gia_growth, or predicted_growth (its name in runs before the exact factorisation). */
const isGia = (q: string) => q === 'gia_growth' || q === 'predicted_growth';
const INIT = 'theory λ(B) at init';

/**
 * Figure 5: per-layer gradient ratio against step with the gradient-independence reconstruction beside it
 * (labelled as such: it is not a prediction once training aligns gradients and weights; see
 * `gradient-factors` for the exact factors), and the within-batch correlation. Records of several specs or
 * optimizers give one row of panels each (small multiples), none is dropped. By default the input layer ℓ = 1
 * (whose ratio also carries the input's own statistics) is left out of the average over layers.
 */
export function earlyTrainingFigure(all: SPRecord[], opts: EarlyTrainingOptions = {}): TopLevelSpec {
  const NAME = 'early-training';
  const records = selectSpec(all, opts);
  const q = opts.quantity ?? 'grad_growth';
  // a step whose loss gradient is at round-off (tags.degenerate, src/train/factors.ts) has no meaningful ratio
  const measuredAll = records.filter((r) => r.source === 'trained' && r.quantity === q && r.layer !== null);
  const measured = measuredAll.filter((r) => r.tags?.degenerate === undefined);
  if (measured.length === 0) throw missing(NAME, `trained per-layer ${q} over steps`, records);
  const notes: string[] = [];
  const nDeg = measuredAll.length - measured.length;
  if (nDeg) notes.push(`${nDeg} ${q} records at steps marked degenerate (loss gradient at round-off) left out`);
  const optFilter = opts.optimizer;
  const groupOf = (r: SPRecord) => `${r.specId}|${optimizerLabel(r)}`;
  const groups = [...groupBy(measured, groupOf)].filter(([, g]) => !optFilter || optimizerLabel(g[0]) === optFilter);
  if (groups.length === 0) throw missing(NAME, `trained per-layer ${q} with optimizer ${optFilter}`, records);
  const labeler = panelLabeler(
    groups.map(([, g]) => g[0]),
    ['specId'],
  );
  const order = labeler.order(groups.map(([, g]) => g[0]));
  groups.sort(
    ([, a], [, b]) =>
      order.indexOf(labeler.label(a[0])) - order.indexOf(labeler.label(b[0])) || optimizerLabel(a[0]).localeCompare(optimizerLabel(b[0])),
  );
  const optimizers = new Set(groups.map(([, g]) => optimizerLabel(g[0])));
  const rowLabel = (r: SPRecord) =>
    [labeler.label(r), optimizers.size > 1 ? `optimizer ${optimizerLabel(r)}` : ''].filter(Boolean).join(', ') || String(r.specId);
  const corrQ = opts.corrQuantity ?? 'corr';
  const rows: Record<string, unknown>[] = [];
  const used: SPRecord[] = [];
  const windows: string[] = [];
  for (const [key, meas] of groups) {
    const spec0 = meas[0];
    const group = rowLabel(spec0);
    const mine = (r: SPRecord) => groupOf(r) === key && r.step !== null;
    const present = [...new Set(meas.map((r) => r.layer!))].sort((x, y) => x - y);
    // default window: every layer but the input layer ℓ = 1 (when there are others)
    const layers = opts.layers ?? (present.length > 1 && present[0] === 1 ? present.slice(1) : present);
    const pred = records.filter((r) => isGia(r.quantity) && mine(r) && (r.source === 'trained' || r.source === 'theory'));
    const corr = records.filter((r) => r.source === 'trained' && r.quantity === corrQ && r.layer !== null && mine(r));
    const init = records.filter(
      (r) =>
        r.source === 'theory' &&
        r.quantity === 'growth' &&
        r.layer === null &&
        r.step === null &&
        finite(r.value) &&
        r.batch === spec0.batch &&
        r.activation === spec0.activation &&
        r.order === spec0.order,
    );
    const mS = perStep(meas, layers, true);
    if (mS.length === 0) {
      notes.push(`${group}: no ${q} records in layers ${layers.join(', ')}`);
      continue;
    }
    for (const s of mS)
      rows.push({ group, panel: 'ratio', series: MEASURED, step: s.step, y: s.b.value, lo: s.b.lo, hi: s.b.hi, n: s.b.n });
    for (const s of perStep(pred, layers, true)) rows.push({ group, panel: 'ratio', series: PREDICTED, step: s.step, y: s.b.value });
    if (init.length) rows.push({ group, panel: 'ratio', series: INIT, step: null, y: band(init).value });
    for (const s of perStep(corr, layers, false))
      rows.push({ group, panel: 'corr', series: MEASURED, step: s.step, y: s.b.value, lo: s.b.lo, hi: s.b.hi, n: s.b.n });
    const ls = mS.flatMap((s) => s.layers);
    windows.push(`${groups.length > 1 ? `${group}: ` : ''}ℓ = ${minOf(ls)}–${maxOf(ls)}`);
    for (const part of [meas, pred, corr, init]) pushAll(used, part);
  }
  if (rows.length === 0) throw missing(NAME, `trained per-layer ${q} in layers ${opts.layers?.join(', ')}`, records);
  const present = new Set(rows.map((r) => r.series as string));
  const styles: SeriesStyle[] = [
    { name: MEASURED, color: PALETTE.trained, mark: 'line' as const },
    { name: PREDICTED, color: PALETTE.theory, mark: 'line' as const, dash: [6, 3] },
    { name: INIT, color: PALETTE.reference, mark: 'line' as const, dash: [2, 3] },
  ].filter((s) => present.has(s.name));
  const color = { field: 'series', type: 'nominal', title: null, scale: colorScale(styles), legend: seriesLegend(styles) };
  const steps = rows.map((r) => r.step).filter(finite);
  const x = {
    field: 'step',
    type: 'quantitative',
    title: 'training step t',
    scale: { ...stepScale(steps), nice: false },
    axis: { ...INT_AXIS, ...stepAxis(steps) },
  };
  const yR = { field: 'y', type: 'quantitative', title: 'geometric mean over ℓ of ‖∂L/∂h_ℓ‖² / ‖∂L/∂h_ℓ₊₁‖²', scale: { zero: false } };
  const yC = { field: 'y', type: 'quantitative', title: quantityTitle(corrQ), scale: { zero: false } };
  const w = opts.width ?? 380;
  const h = opts.height ?? 280;
  const groupNames = [...new Set(rows.map((r) => r.group as string))];
  const panelsOf = (group: string): Record<string, unknown>[] => {
    const f = (panel: string, series: string) => [
      { filter: `datum.group === ${JSON.stringify(group)} && datum.panel === '${panel}' && datum.series === '${series}'` },
    ];
    const has = (panel: string, series: string) => rows.some((r) => r.group === group && r.panel === panel && r.series === series);
    const ratioLayers: Record<string, unknown>[] = [
      { mark: { type: 'rule', strokeDash: [4, 4], color: PALETTE.reference }, encoding: { y: { datum: 1 } } },
      {
        transform: f('ratio', MEASURED),
        mark: { type: 'area', opacity: 0.2, color: PALETTE.trained },
        encoding: { x, y: { ...yR, field: 'lo' }, y2: { field: 'hi' } },
      },
      { transform: f('ratio', MEASURED), mark: { type: 'line', strokeWidth: 2, point: { size: 14 } }, encoding: { x, y: yR, color } },
    ];
    if (has('ratio', PREDICTED))
      ratioLayers.push({
        transform: f('ratio', PREDICTED),
        mark: { type: 'line', strokeWidth: 2, strokeDash: [6, 3] },
        encoding: { x, y: yR, color },
      });
    if (has('ratio', INIT))
      ratioLayers.push({
        transform: f('ratio', INIT),
        mark: { type: 'rule', strokeDash: [2, 3], strokeWidth: 1.5 },
        encoding: { y: yR, color },
      });
    const panels: Record<string, unknown>[] = [
      { width: w, height: h, title: { text: 'per-layer gradient ratio', fontSize: 12 }, layer: ratioLayers },
    ];
    if (rows.some((r) => r.group === group && r.panel === 'corr'))
      panels.push({
        width: w,
        height: h,
        title: { text: corrQ === 'unit_corr' ? 'correlation between units' : 'correlation between samples', fontSize: 12 },
        layer: [
          {
            transform: f('corr', MEASURED),
            mark: { type: 'area', opacity: 0.2, color: PALETTE.trained },
            encoding: { x, y: { ...yC, field: 'lo' }, y2: { field: 'hi' } },
          },
          { transform: f('corr', MEASURED), mark: { type: 'line', strokeWidth: 2, point: { size: 14 } }, encoding: { x, y: yC, color } },
        ],
      });
    return panels;
  };
  const body =
    groupNames.length === 1
      ? { data: { values: rows }, hconcat: panelsOf(groupNames[0]) }
      : {
          data: { values: rows },
          vconcat: groupNames.map((g) => ({ title: { text: g, fontSize: 12, anchor: 'start' }, hconcat: panelsOf(g) })),
        };
  const same = new Set(windows.map((w) => w.replace(/^.*: /, ''))).size === 1;
  const win = same ? `layers ${windows[0].replace(/^.*: /, '')}` : `layers ${windows.join('; ')}`;
  const layerText = opts.layers ? win : `${win} (input layer ℓ = 1 left out)`;
  return topLevel(
    'Early training: per-layer gradient ratio and correlation against step',
    used,
    body,
    opts,
    `${optimizers.size === 1 ? `optimizer ${[...optimizers][0]} · ` : ''}${layerText}`,
    notes,
  );
}

export interface OptimizerOptions extends FigureOptions {
  lossQuantity?: string;
  accuracyQuantity?: string;
}

/** The step at which each run diverged: a 'diverged'/'divergence' record, a diverged status tag, or the first non-finite loss. */
function divergences(recs: SPRecord[], lossQ: string): { run: string; step: number | null; rec: SPRecord }[] {
  const out: { run: string; step: number | null; rec: SPRecord }[] = [];
  for (const [run, g] of groupBy(recs, runOf)) {
    // records from other tools may name the event as a quantity (not one of QUANTITIES): compare as strings
    const ev = g.find(
      (r) => (r.quantity as string) === 'diverged' || (r.quantity as string) === 'divergence' || r.tags?.event === 'diverged',
    );
    const bad = g.filter((r) => r.quantity === lossQ && r.step !== null && !finite(r.value)).sort((a, b) => a.step! - b.step!)[0];
    const status = g.some((r) => r.tags?.status === 'diverged');
    if (ev || bad || status) {
      const lastStep = maxOf(g.filter((r) => r.step !== null).map((r) => r.step!));
      out.push({ run, step: ev?.step ?? bad?.step ?? (Number.isFinite(lastStep) ? lastStep : null), rec: g[0] });
    }
  }
  return out;
}

/** Figure 6: loss and accuracy against step per optimizer, at each batch size (small and large), divergences marked. */
export function optimizerComparisonFigure(all: SPRecord[], opts: OptimizerOptions = {}): TopLevelSpec {
  const NAME = 'optimizer-comparison';
  const records = selectSpec(all, opts).filter((r) => r.source === 'trained');
  const lossQ = opts.lossQuantity ?? 'loss';
  const accQ = opts.accuracyQuantity ?? (records.some((r) => r.quantity === 'accuracy') ? 'accuracy' : 'test_accuracy');
  const loss = records.filter((r) => r.quantity === lossQ && r.layer === null && r.step !== null);
  if (loss.length === 0) throw missing(NAME, `trained ${lossQ} (layer null) over steps`, all);
  const acc = records.filter((r) => r.quantity === accQ && r.layer === null && r.step !== null);
  const labels = [...new Set(records.map(optimizerLabel))];
  const ORDER = ['SGD', 'SGD + warmup', 'SGD + clip', 'LARS', 'LAMB', 'LALC'];
  labels.sort((a, b) => (ORDER.indexOf(a) + 1 || 99) - (ORDER.indexOf(b) + 1 || 99) || a.localeCompare(b));
  const bLabel = (r: SPRecord) => `B = ${r.batch ?? '∞'}`;
  const rows: Record<string, unknown>[] = [];
  const used: SPRecord[] = [];
  for (const [metric, recs] of [
    ['loss', loss],
    ['accuracy', acc],
  ] as const) {
    for (const [, g] of groupBy(recs, (r) => `${bLabel(r)}|${optimizerLabel(r)}|${r.step}`)) {
      const ok = g.filter((r) => finite(r.value));
      pushAll(used, g);
      if (ok.length === 0) continue;
      const b = band(ok);
      rows.push({
        kind: 'curve',
        metric,
        batch: bLabel(g[0]),
        B: g[0].batch,
        optimizer: optimizerLabel(g[0]),
        step: g[0].step,
        y: b.value,
        lo: b.lo,
        hi: b.hi,
        n: b.n,
        runs: ok.length,
      });
    }
  }
  // Divergence events: a cross at the step, at the run's last finite loss.
  for (const [, g] of groupBy(records, (r) => `${r.specId}|${optimizerLabel(r)}`)) {
    for (const d of divergences(g, lossQ)) {
      const runRecs = g.filter(
        (r) => runOf(r) === d.run && r.quantity === lossQ && finite(r.value) && r.step !== null && (d.step === null || r.step <= d.step),
      );
      const last = runRecs.sort((a, b) => b.step! - a.step!)[0];
      if (!last) continue;
      rows.push({
        kind: 'diverged',
        metric: 'loss',
        batch: bLabel(d.rec),
        optimizer: optimizerLabel(d.rec),
        step: d.step ?? last.step,
        y: last.value,
        run: d.run,
        event: 'diverged',
      });
    }
  }
  const steps = rows.map((r) => r.step).filter(finite);
  const x = {
    field: 'step',
    type: 'quantitative',
    title: 'training step t',
    scale: { ...stepScale(steps), nice: false },
    axis: stepAxis(steps),
  };
  const color = {
    field: 'optimizer',
    type: 'nominal',
    title: 'optimizer',
    scale: { domain: labels, range: labels.map((_, i) => PALETTE.optimizers[i % PALETTE.optimizers.length]) },
    // each optimizer its own dash as well as colour: the curves stay apart in greyscale, and so do the legend's
    legend: seriesLegend(
      labels.map((l, i) => ({
        name: l,
        color: PALETTE.optimizers[i % PALETTE.optimizers.length],
        mark: 'line' as const,
        dash: OPT_DASHES[i % OPT_DASHES.length],
      })),
      { symbolStrokeWidth: 2.5, symbolOpacity: 1 },
    ),
  };
  const strokeDash = {
    field: 'optimizer',
    type: 'nominal',
    title: 'optimizer',
    scale: { domain: labels, range: labels.map((_, i) => OPT_DASHES[i % OPT_DASHES.length]) },
  };
  const lossVals = rows.filter((r) => r.metric === 'loss').flatMap((r) => [r.y, r.lo, r.hi].filter(finite) as number[]);
  const yL = { field: 'y', type: 'quantitative', title: quantityTitle(lossQ), scale: axisScale(lossVals) };
  const yA = { field: 'y', type: 'quantitative', title: quantityTitle(accQ), scale: { domain: [0, 1] } };
  const metricLayers = (metric: string, y: Record<string, unknown>) => {
    const base = `datum.kind === 'curve' && datum.metric === '${metric}'`;
    const ls: Record<string, unknown>[] = [
      {
        transform: [{ filter: base }],
        mark: { type: 'area', opacity: 0.15 },
        encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color },
      },
      { transform: [{ filter: base }], mark: { type: 'line', strokeWidth: 1.8 }, encoding: { x, y, color, strokeDash } },
    ];
    if (metric === 'loss' && rows.some((r) => r.kind === 'diverged'))
      ls.push({
        transform: [{ filter: `datum.kind === 'diverged'` }],
        mark: { type: 'point', shape: 'cross', size: 160, filled: true, strokeWidth: 1 },
        encoding: {
          x,
          y,
          color,
          shape: { field: 'event', type: 'nominal', title: null, scale: { domain: ['diverged'], range: ['cross'] } },
        },
      });
    return ls;
  };
  const size = { width: opts.width ?? 320, height: opts.height ?? 200 };
  const batches = [...new Set(rows.map((r) => r.batch as string))].sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
  const column = { field: 'batch', type: 'nominal', title: null, sort: batches };
  const vconcat: Record<string, unknown>[] = [{ facet: { column }, spec: { ...size, layer: metricLayers('loss', yL) } }];
  if (rows.some((r) => r.metric === 'accuracy'))
    vconcat.push({ facet: { column }, spec: { ...size, layer: metricLayers('accuracy', yA) } });
  const nDiv = rows.filter((r) => r.kind === 'diverged').length;
  return topLevel(
    'Optimizers at small and large batch',
    used,
    { data: { values: rows }, vconcat },
    opts,
    `bands: 95% CI over runs · × marks ${nDiv} divergence event${nDiv === 1 ? '' : 's'}`,
  );
}

export interface GradientFactorsOptions extends FigureOptions {
  /** Optimizer label to show (default: the most common in the records). */
  optimizer?: string;
  /** Layers to average over (default: every layer present). */
  layers?: number[];
}

interface FactorSeries {
  panel: 'ratio' | 'scale' | 'align';
  name: string;
  color: string;
  dash?: number[];
  /** the records' quantity, or a function of one (layer, step, run)'s quantities */
  quantity: string;
  value?: (get: (q: string) => number | undefined) => number | undefined;
}

const MEASURED_STYLE = 'measured';
const GIA_STYLE = 'under gradient independence';

const FACTOR_SERIES: FactorSeries[] = [
  { panel: 'ratio', name: 'measured R = F_W·F_BN', color: PALETTE.trained, quantity: 'grad_growth' },
  { panel: 'ratio', name: 'gradient-independence reconstruction (GIA)', color: PALETTE.theory, dash: [6, 3], quantity: 'gia_growth' },
  { panel: 'scale', name: 'F_W = ‖g W‖²/‖g‖²', color: '#0072B2', quantity: 'grad_factor_w' },
  { panel: 'scale', name: '‖W‖²_F/n (F_W under GIA)', color: '#0072B2', dash: [6, 3], quantity: 'weight_gain' },
  { panel: 'scale', name: 'F_BN = ‖g_h‖²/‖g_x‖²', color: '#009E73', quantity: 'grad_factor_bn' },
  { panel: 'scale', name: 'A = Σ u_j γ_j² E φ′_j²/s_j²', color: '#E69F00', quantity: 'bn_unit_gain' },
  { panel: 'scale', name: 'A_GIA (F_BN under GIA)', color: '#E69F00', dash: [6, 3], quantity: 'gia_unit_gain' },
  { panel: 'align', name: 'α_W (alignment of g with W)', color: '#56B4E9', quantity: 'grad_align_w' },
  { panel: 'align', name: 'κ (gate–gradient correlation)', color: '#CC79A7', quantity: 'gate_grad_corr' },
  {
    panel: 'align',
    name: '1 − ρ_P (BN projection)',
    color: '#009E73',
    dash: [2, 2],
    quantity: 'bn_proj_removed',
    value: (g) => (g('bn_proj_removed') === undefined ? undefined : 1 - g('bn_proj_removed')!),
  },
  {
    panel: 'align',
    name: 'A / A_GIA (unit weights, γ_j, per-unit φ′)',
    color: '#E69F00',
    dash: [2, 2],
    quantity: 'bn_unit_gain',
    value: (g) =>
      g('bn_unit_gain') === undefined || g('gia_unit_gain') === undefined ? undefined : g('bn_unit_gain')! / g('gia_unit_gain')!,
  },
];

/**
 * The exact factors of the per-layer gradient ratio against step (src/train/factors.ts): R = F_W·F_BN with
 * F_W = (‖W‖²/n)·α_W and F_BN = A·κ·(1 − ρ_P), beside the gradient-independence reconstruction, which sets
 * α_W = κ = 1 − ρ_P = 1 and weights units by c_j² (A_GIA). Each series: per run the geometric mean over the
 * layers, then the mean over runs. Left: R and GIA; middle: the factors' sizes; right: the factors GIA sets to 1.
 */
export function gradientFactorsFigure(all: SPRecord[], opts: GradientFactorsOptions = {}): TopLevelSpec {
  const NAME = 'gradient-factors';
  const records = selectSpec(all, opts).filter((r) => r.source === 'trained' && r.layer !== null && r.step !== null);
  const meas = records.filter((r) => r.quantity === 'grad_factor_w');
  if (meas.length === 0)
    throw missing(
      NAME,
      'trained per-layer grad_factor_w, grad_factor_bn, grad_align_w, bn_unit_gain, gate_grad_corr, bn_proj_removed over steps (linear-bn-act runs)',
      all,
    );
  const specId = opts.specId ?? mostCommon(meas.map((r) => String(r.specId)));
  const optimizer = opts.optimizer ?? mostCommon(meas.filter((r) => String(r.specId) === specId).map(optimizerLabel));
  const mine = records.filter(
    (r) =>
      String(r.specId) === specId &&
      optimizerLabel(r) === optimizer &&
      r.tags?.degenerate === undefined &&
      (!opts.layers || opts.layers.includes(r.layer!)),
  );
  // one value per (run, step, layer) and quantity; GIA under either name
  const cell = new Map<string, Map<string, number>>();
  const used: SPRecord[] = [];
  for (const r of mine) {
    const q = isGia(r.quantity) ? 'gia_growth' : r.quantity;
    if (!FACTOR_SERIES.some((s) => s.quantity === q) && q !== 'gia_unit_gain') continue;
    const k = `${runOf(r)}|${r.step}|${r.layer}`;
    if (!cell.has(k)) cell.set(k, new Map());
    cell.get(k)!.set(q, r.value);
    used.push(r);
  }
  const rows: Record<string, unknown>[] = [];
  const layers = new Set<number>();
  for (const s of FACTOR_SERIES) {
    // per (run, step): geometric mean over layers; then per step: mean and 95% CI over runs
    const perRunStep = new Map<string, { step: number; logs: number[] }>();
    for (const [k, m] of cell) {
      const [run, step, layer] = k.split('|');
      const v = s.value ? s.value((q) => m.get(q)) : m.get(s.quantity);
      if (!finite(v) || !(v > 0)) continue;
      layers.add(Number(layer));
      const key = `${run}|${step}`;
      if (!perRunStep.has(key)) perRunStep.set(key, { step: Number(step), logs: [] });
      perRunStep.get(key)!.logs.push(Math.log(v));
    }
    const bySteps = new Map<number, number[]>();
    for (const { step, logs } of perRunStep.values())
      bySteps.set(step, [...(bySteps.get(step) ?? []), Math.exp(logs.reduce((a, b) => a + b, 0) / logs.length)]);
    for (const [step, vals] of [...bySteps].sort((a, b) => a[0] - b[0])) {
      const b = summarize(vals);
      rows.push({
        panel: s.panel,
        series: s.name,
        style: s.dash ? GIA_STYLE : MEASURED_STYLE,
        step,
        y: b.mean,
        lo: b.lo,
        hi: b.hi,
        n: b.n,
      });
    }
  }
  if (!rows.some((r) => r.panel === 'align'))
    throw missing(NAME, 'trained per-layer grad_align_w, gate_grad_corr or bn_proj_removed over steps', all);
  const present = FACTOR_SERIES.filter((s) => rows.some((r) => r.series === s.name));
  const color = {
    field: 'series',
    type: 'nominal',
    title: null,
    scale: colorScale(present.map((s) => ({ name: s.name, color: s.color }))),
    // the legend draws each factor as its line is drawn: GIA counterparts dashed
    legend: seriesLegend(
      present.map((s) => ({ name: s.name, color: s.color, mark: 'line' as const, dash: s.dash })),
      { symbolStrokeWidth: 2.5 },
    ),
  };
  // each series its own dash (GIA counterparts dashed, the ratios GIA sets to 1 dotted), the same in the legend
  const strokeDash = {
    field: 'series',
    type: 'nominal',
    title: null,
    scale: { domain: present.map((s) => s.name), range: present.map((s) => s.dash ?? [1, 0]) },
  };
  const steps = rows.map((r) => r.step).filter(finite);
  const x = {
    field: 'step',
    type: 'quantitative',
    title: 'training step t',
    scale: { ...stepScale(steps), nice: false },
    axis: stepAxis(steps),
  };
  const panel = (p: FactorSeries['panel'], title: string, yTitle: string, one: boolean): Record<string, unknown> => {
    const ys = rows.filter((r) => r.panel === p).map((r) => r.y as number);
    const y = { field: 'y', type: 'quantitative', title: yTitle, scale: axisScale(ys) };
    const layer: Record<string, unknown>[] = one
      ? [{ mark: { type: 'rule', strokeDash: [4, 4], color: PALETTE.reference }, encoding: { y: { datum: 1 } } }]
      : [];
    layer.push({
      transform: [{ filter: `datum.panel === '${p}'` }],
      mark: { type: 'line', strokeWidth: 2, point: { size: 12 } },
      encoding: { x, y, color, strokeDash },
    });
    return { width: opts.width ?? 300, height: opts.height ?? 260, title: { text: title, fontSize: 12 }, layer };
  };
  const ls = [...layers].sort((a, b) => a - b);
  return topLevel(
    'The per-layer gradient ratio, factor by factor',
    used,
    {
      data: { values: rows },
      hconcat: [
        panel('ratio', 'measured ratio and the GIA reconstruction', 'geometric mean over ℓ of ‖∂L/∂h_ℓ‖² / ‖∂L/∂h_ℓ₊₁‖²', true),
        panel('scale', 'R = F_W · F_BN: the two backward factors', 'factor (geometric mean over ℓ)', false),
        panel('align', 'what gradient independence sets to 1', 'factor (geometric mean over ℓ)', true),
      ],
      resolve: { scale: { color: 'shared' } },
    },
    opts,
    `optimizer ${optimizer} · ${ls.length ? `layers ℓ = ${minOf(ls)}–${maxOf(ls)}` : ''} · exact: R = (‖W‖²/n)·α_W · A·κ·(1 − ρ_P)`,
  );
}
