// Figures over batch size: λ(B) (2), the depth × batch heatmap with the depth scale (3), large-batch rate per activation (4).
import type { TopLevelSpec } from 'vega-lite';
import type { SPRecord } from '../records/index.js';
import {
  axisScale,
  band,
  cellEdges,
  colorScale,
  facetBody,
  type FigureOptions,
  INT_AXIS,
  finite,
  groupBy,
  missing,
  PALETTE,
  panelLabeler,
  pickQuantity,
  quantityTitle,
  SOURCE_LABEL,
  selectSpec,
  topLevel,
} from './common.js';
import { maxOf, minOf, pushAll } from '../io/arrays.js';
import { type SeriesStyle, seriesLegend } from './legend.js';

/** Linear BatchNorm's per-layer growth of the squared gradient at batch B (Yang et al. 2019): (B−2)/(B−3), B > 3. */
export function linearBnReference(B: number): number {
  return (B - 2) / (B - 3);
}

const LIMIT = 'theory, B → ∞';
const LINEAR_BN = 'linear BN (B−2)/(B−3)';

export interface LambdaBatchOptions extends FigureOptions {
  /** Points on the reference curve (default 64). */
  referencePoints?: number;
}

/** Figure 2: λ against batch size. */
export function lambdaVsBatchFigure(all: SPRecord[], opts: LambdaBatchOptions = {}): TopLevelSpec {
  const NAME = 'lambda-vs-batch';
  const records = selectSpec(all, opts);
  const q = opts.quantity ?? 'growth';
  const rs = records.filter(
    (r) => r.quantity === q && r.layer === null && finite(r.value) && (r.source !== 'trained' || r.step === null || r.step === 0),
  );
  const finiteB = rs.filter((r) => r.batch !== null);
  if (finiteB.length === 0) throw missing(NAME, `${q} (layer null) at finite batch sizes`, records);
  const panel = panelLabeler(rs, ['batch', 'depth', 'width', 'specId']);
  const rows: Record<string, unknown>[] = [];
  const used: SPRecord[] = [];
  const notes: string[] = [];
  const later = records.filter((r) => r.quantity === q && r.layer === null && r.source === 'trained' && r.step !== null && r.step > 0);
  if (later.length)
    notes.push(`${later.length} trained ${q} records after step 0 left out (λ is the rate at initialization; see early-training)`);
  const unbatched: string[] = [];
  for (const [, g] of groupBy(rs, (r) => `${r.source}|${panel.label(r)}|${r.batch}`)) {
    const b = band(g);
    const r0 = g[0];
    const kind = r0.source === 'theory' ? (r0.batch === null ? 'limit' : 'theory') : r0.source;
    const series =
      kind === 'limit' ? LIMIT : kind === 'theory' ? SOURCE_LABEL.theory : kind === 'sampled' ? SOURCE_LABEL.sampled : 'trained (step 0)';
    if (kind !== 'limit' && r0.batch === null) {
      // a measurement needs a finite batch to sit on this axis
      unbatched.push(`${g.length} ${r0.source}`);
      continue;
    }
    pushAll(used, g);
    rows.push({ kind, series, panel: panel.label(r0), B: r0.batch, y: b.value, lo: b.lo, hi: b.hi, n: b.n });
  }
  if (unbatched.length) notes.push(`${unbatched.join(' and ')} ${q} records at B = ∞ (no batch) left out: a measurement needs a finite B`);
  // A theory "curve" of one batch size is one point: draw it as a point and say so (a line of one point is invisible).
  const theoryPanels = groupBy(
    rows.filter((r) => r.kind === 'theory'),
    (r) => r.panel as string,
  );
  const single = [...theoryPanels].filter(([, g]) => g.length === 1);
  for (const [, g] of single) g[0].kind = 'theory-point';
  if (single.length)
    notes.push(
      `theory λ(B) given at one batch size only (${single.map(([p, g]) => `${p ? `${p}: ` : ''}B = ${g[0].B}`).join('; ')}): drawn as a point, no curve`,
    );
  const Bs = finiteB.map((r) => r.batch!);
  const bMin = Math.max(4, minOf(Bs));
  const bMax = maxOf(Bs);
  const nRef = opts.referencePoints ?? 64;
  for (const p of new Set(rows.map((r) => r.panel as string))) {
    for (let i = 0; i < nRef && bMax > bMin; i++) {
      const B = bMin * (bMax / bMin) ** (i / (nRef - 1));
      rows.push({ kind: 'reference', series: LINEAR_BN, panel: p, B, y: linearBnReference(B) });
    }
  }
  const present = new Set(rows.map((r) => r.series as string));
  const styles: SeriesStyle[] = [
    rows.some((r) => r.kind === 'theory')
      ? { name: SOURCE_LABEL.theory, color: PALETTE.theory, mark: 'line' }
      : { name: SOURCE_LABEL.theory, color: PALETTE.theory, mark: 'point', shape: 'square' },
    { name: LIMIT, color: PALETTE.theory, mark: 'line', dash: [2, 3] },
    { name: SOURCE_LABEL.sampled, color: PALETTE.sampled, mark: 'point' },
    { name: 'trained (step 0)', color: PALETTE.trained, mark: 'point', shape: 'diamond' },
    { name: LINEAR_BN, color: PALETTE.reference, mark: 'line', dash: [6, 4] },
  ];
  const series = styles.filter((s) => present.has(s.name));
  const color = { field: 'series', type: 'nominal', title: null, scale: colorScale(series), legend: seriesLegend(series) };
  const x = {
    field: 'B',
    type: 'quantitative',
    title: 'batch size B',
    scale: {
      ...axisScale(
        rows.filter((r) => r.B !== null).map((r) => r.B as number),
        { base: 2 },
      ),
      nice: false,
    },
    axis: INT_AXIS,
  };
  const yScale = axisScale(rows.flatMap((r) => [r.y, r.lo, r.hi].filter(finite) as number[]));
  const y = { field: 'y', type: 'quantitative', title: `${quantityTitle(q)}`, scale: yScale };
  const f = (k: string) => [{ filter: `datum.kind === '${k}'` }];
  const layers: Record<string, unknown>[] = [];
  if (present.has(LINEAR_BN))
    layers.push({ transform: f('reference'), mark: { type: 'line', strokeDash: [6, 4], strokeWidth: 1.5 }, encoding: { x, y, color } });
  if (present.has(LIMIT))
    layers.push({ transform: f('limit'), mark: { type: 'rule', strokeDash: [2, 3], strokeWidth: 1.5 }, encoding: { y, color } });
  if (rows.some((r) => r.kind === 'theory'))
    layers.push({ transform: f('theory'), mark: { type: 'line', strokeWidth: 2.5, point: false }, encoding: { x, y, color } });
  if (single.length)
    layers.push({
      transform: f('theory-point'),
      mark: { type: 'point', shape: 'square', filled: true, size: 60 },
      encoding: { x, y, color },
    });
  for (const k of ['sampled', 'trained']) {
    if (!rows.some((r) => r.kind === k)) continue;
    layers.push(
      { transform: f(k), mark: { type: 'rule', strokeWidth: 1.5 }, encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color } },
      {
        transform: f(k),
        mark: { type: 'point', filled: true, size: 50, shape: k === 'sampled' ? 'circle' : 'diamond' },
        encoding: { x, y, color },
      },
    );
  }
  const size = { width: opts.width ?? 480, height: opts.height ?? 320 };
  const body = panel.fields.length ? facetBody(rows, layers, size, panel.order(rs)) : { data: { values: rows }, ...size, layer: layers };
  return topLevel('Per-layer gradient growth λ against batch size', used, body, opts, 'error bars: 95% CI over seeds', notes);
}

export interface HeatmapOptions extends FigureOptions {
  /** Source of the cell values (default: trained if accuracy records exist, else sampled). */
  source?: 'sampled' | 'trained' | 'theory';
  /** Multiples k of the depth scale ξ(B) drawn as lines (default [1, 10]). */
  depthScaleMultiples?: number[];
}

/** Figure 3: depth × batch heatmap of gradient growth at init or trained accuracy, with the predicted depth scale over it. */
export function depthBatchHeatmapFigure(all: SPRecord[], opts: HeatmapOptions = {}): TopLevelSpec {
  const NAME = 'depth-batch-heatmap';
  const records = selectSpec(all, opts);
  const source =
    opts.source ??
    (records.some((r) => r.source === 'trained' && (r.quantity === 'test_accuracy' || r.quantity === 'accuracy')) ? 'trained' : 'sampled');
  const q = pickQuantity(records, source === 'trained' ? ['test_accuracy', 'accuracy', 'loss'] : ['growth', 'cum_log_growth'], opts, NAME, [
    source,
  ]);
  let cellRecs = records.filter(
    (r) => r.source === source && r.quantity === q && r.batch !== null && (q === 'cum_log_growth' ? r.layer === 1 : r.layer === null),
  );
  if (source === 'trained') {
    // The final value of each run: the last step per (spec, run or seed).
    const last: SPRecord[] = [];
    for (const [, g] of groupBy(cellRecs, (r) => `${r.specId}|${r.tags?.run ?? ''}|${r.seed}`)) {
      const maxStep = maxOf(g.map((r) => r.step ?? -1));
      pushAll(
        last,
        g.filter((r) => (r.step ?? -1) === maxStep),
      );
    }
    cellRecs = last;
  }
  if (cellRecs.length === 0) throw missing(NAME, `${source} ${q} over depth and batch`, records);
  const depths = cellRecs.map((r) => r.depth);
  const batches = cellRecs.map((r) => r.batch!);
  // batch sizes are a grid of (usually) powers of two: a log₂ axis with a tick at each grid value, never a linear
  // axis running below zero; depths likewise get ticks at their grid values
  const xS = { type: 'log', base: 2 } as const;
  const yS = axisScale(depths);
  const batchGrid = [...new Set(batches)].sort((a, b) => a - b);
  const depthGrid = [...new Set(depths)].sort((a, b) => a - b);
  const xE = cellEdges(batches, xS.type === 'log');
  const yE = cellEdges(depths, yS.type === 'log');
  const rows: Record<string, unknown>[] = [];
  const used: SPRecord[] = [];
  for (const [, g] of groupBy(cellRecs, (r) => `${r.depth}|${r.batch}`)) {
    const b = band(g.filter((r) => finite(r.value)).length ? g.filter((r) => finite(r.value)) : g);
    pushAll(used, g);
    const { depth, batch } = g[0];
    rows.push({
      kind: 'cell',
      B: batch,
      L: depth,
      b0: xE.get(batch!)![0],
      b1: xE.get(batch!)![1],
      l0: yE.get(depth)![0],
      l1: yE.get(depth)![1],
      v: b.value,
      n: b.n,
    });
  }
  const xDom = [minOf(rows.map((r) => r.b0 as number)), maxOf(rows.map((r) => r.b1 as number))];
  const yDom = [minOf(rows.map((r) => r.l0 as number)), maxOf(rows.map((r) => r.l1 as number))];
  // The predicted depth scale ξ(B) = 1/ln λ(B): theory depth_scale records, or 1/ln of theory growth records.
  const theory = records.filter(
    (r) =>
      r.source === 'theory' &&
      r.layer === null &&
      r.batch !== null &&
      (r.quantity === 'depth_scale' || r.quantity === 'growth') &&
      finite(r.value),
  );
  const xiByB = new Map<number, number>();
  for (const r of theory.filter((r) => r.quantity === 'depth_scale')) xiByB.set(r.batch!, r.value);
  for (const r of theory.filter((r) => r.quantity === 'growth' && r.value > 1))
    if (!xiByB.has(r.batch!)) xiByB.set(r.batch!, 1 / Math.log(r.value));
  pushAll(used, theory);
  const ks = opts.depthScaleMultiples ?? [1, 10];
  const notes: string[] = [];
  const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3));
  const lineNames: string[] = [];
  const pts = [...xiByB].sort((a, b) => a[0] - b[0]);
  for (const k of ks) {
    const name = k === 1 ? 'theory ξ(B) = 1/ln λ(B)' : `theory ${k}·ξ(B)`;
    // A line wholly on one side of the plot is invisible; drop it (resvg 2.6 aborts the process on a clipped path
    // that lies entirely outside its clip region).
    const outside =
      pts.every(([, xi]) => k * xi > yDom[1]) ||
      pts.every(([, xi]) => k * xi < yDom[0]) ||
      pts.every(([B]) => B > xDom[1]) ||
      pts.every(([B]) => B < xDom[0]);
    if (pts.length === 0) continue;
    if (outside) {
      notes.push(
        `${name} not drawn: it lies outside the depth × batch grid (${pts.map(([B, xi]) => `B = ${B}: ${fmt(k * xi)}`).join(', ')}; depths ${depthGrid[0]}–${depthGrid[depthGrid.length - 1]})`,
      );
      continue;
    }
    lineNames.push(name);
    for (const [B, xi] of pts) rows.push({ kind: pts.length === 1 ? 'xi-point' : 'xi', series: name, k, B, L: k * xi });
  }
  if (pts.length === 1 && lineNames.length)
    notes.push(`the depth scale is given at one batch size only (B = ${pts[0][0]}): drawn as a point, not a line`);
  if (pts.length === 0 && records.some((r) => r.source === 'theory'))
    notes.push('no theory depth_scale or growth > 1 at a finite batch: the depth-scale lines are not drawn');
  const nCells = rows.filter((r) => r.kind === 'cell').length;
  if (nCells === 1)
    notes.push(
      `one (depth, batch) cell only (L = ${depthGrid[0]}, B = ${batchGrid[0]}): a heatmap of one value; the grid needs several depths or batch sizes`,
    );
  const hasLine = lineNames.length > 0;
  const vVals = rows.filter((r) => r.kind === 'cell').map((r) => r.v as number);
  const isAcc = q.includes('accuracy');
  const cScale = isAcc ? { scheme: PALETTE.sequential, domain: [0, 1] } : { scheme: PALETTE.sequential, ...axisScale(vVals) };
  const x = {
    field: 'b0',
    type: 'quantitative',
    title: 'batch size B',
    scale: { ...xS, domain: xDom, nice: false },
    axis: { values: batchGrid, format: 'd', grid: false },
  };
  const y = {
    field: 'l0',
    type: 'quantitative',
    title: 'depth L (blocks)',
    scale: { ...yS, domain: yDom, nice: false },
    axis: { values: depthGrid, format: 'd', grid: false },
  };
  const layers: Record<string, unknown>[] = [
    {
      transform: [{ filter: `datum.kind === 'cell'` }],
      mark: { type: 'rect' },
      encoding: {
        x,
        x2: { field: 'b1' },
        y,
        y2: { field: 'l1' },
        color: {
          field: 'v',
          type: 'quantitative',
          title: [source, quantityTitle(q)],
          scale: cScale,
          legend: { orient: 'right', gradientLength: 200 },
        },
      },
    },
  ];
  if (hasLine && pts.length === 1)
    layers.push({
      transform: [{ filter: `datum.kind === 'xi-point'` }],
      mark: { type: 'point', filled: true, size: 60, color: PALETTE.theory },
      encoding: {
        x: { ...x, field: 'B' },
        y: { ...y, field: 'L' },
        shape: {
          field: 'series',
          type: 'nominal',
          title: null,
          scale: { domain: lineNames, range: lineNames.map((_, i) => ['circle', 'diamond', 'square', 'triangle-up'][i % 4]) },
          legend: { orient: 'right', symbolFillColor: PALETTE.theory, symbolStrokeColor: PALETTE.theory },
        },
      },
    });
  if (hasLine && pts.length > 1) {
    layers.push({
      transform: [{ filter: `datum.kind === 'xi'` }],
      mark: { type: 'line', clip: true, strokeWidth: 2.5, color: PALETTE.theory },
      encoding: {
        x: { ...x, field: 'B' },
        y: { ...y, field: 'L' },
        detail: { field: 'series', type: 'nominal' },
        strokeDash: {
          field: 'series',
          type: 'nominal',
          title: null,
          scale: { domain: lineNames, range: lineNames.map((_, i) => (i === 0 ? [1, 0] : [6, 3 + i])) },
          legend: { orient: 'right', symbolType: 'stroke', symbolStrokeColor: PALETTE.theory, symbolSize: 300 },
        },
      },
    });
  }
  const body = { data: { values: rows }, width: opts.width ?? 460, height: opts.height ?? 340, layer: layers };
  return topLevel(
    isAcc ? 'Trainability over depth and batch size' : 'Gradient growth over depth and batch size',
    used,
    body,
    opts,
    `cells: ${source} ${q}${source === 'trained' ? ' at the last step' : ''}, mean over seeds`,
    notes,
  );
}

/** Figure 4: the large-batch rate across activations, theory and sampled side by side. */
export function activationRateFigure(all: SPRecord[], opts: FigureOptions = {}): TopLevelSpec {
  const NAME = 'activation-rate';
  const records = selectSpec(all, opts);
  const q = opts.quantity ?? 'growth';
  const rs = records.filter(
    (r) => r.quantity === q && r.layer === null && finite(r.value) && (r.source === 'theory' || r.source === 'sampled'),
  );
  if (!rs.some((r) => r.source === 'theory') && !rs.some((r) => r.source === 'sampled'))
    throw missing(NAME, `theory or sampled ${q} (layer null) per activation`, records);
  const panel = panelLabeler(rs, ['batch', 'activation', 'depth', 'width']);
  const rows: Record<string, unknown>[] = [];
  const used: SPRecord[] = [];
  for (const [, g] of groupBy(rs, (r) => `${r.source}|${panel.label(r)}|${r.activation}`)) {
    // Theory: the B → ∞ limit when present, else the largest batch. Sampled: the largest batch measured.
    const lim = g.filter((r) => r.batch === null);
    const finiteB = g.filter((r) => r.batch !== null);
    const maxB = finiteB.length ? maxOf(finiteB.map((r) => r.batch!)) : null;
    const pick = g[0].source === 'theory' && lim.length ? lim : finiteB.filter((r) => r.batch === maxB);
    if (pick.length === 0) continue;
    const b = band(pick);
    pushAll(used, pick);
    const B = pick[0].batch;
    const series = g[0].source === 'theory' ? SOURCE_LABEL.theory : SOURCE_LABEL.sampled;
    rows.push({
      series,
      source: g[0].source,
      panel: panel.label(g[0]),
      activation: g[0].activation,
      B: B === null ? '∞' : String(B),
      y: b.value,
      lo: b.lo,
      hi: b.hi,
      n: b.n,
    });
  }
  const order = [...new Set(rows.map((r) => r.activation as string))].sort((a, b) => {
    const va = rows.find((r) => r.activation === a && r.source === 'theory')?.y ?? rows.find((r) => r.activation === a)!.y;
    const vb = rows.find((r) => r.activation === b && r.source === 'theory')?.y ?? rows.find((r) => r.activation === b)!.y;
    return (vb as number) - (va as number);
  });
  const series = [
    { name: SOURCE_LABEL.theory, color: PALETTE.theory },
    { name: SOURCE_LABEL.sampled, color: PALETTE.sampled },
  ].filter((s) => rows.some((r) => r.series === s.name));
  const color = { field: 'series', type: 'nominal', title: null, scale: colorScale(series) };
  // category labels: the theme's band axis sets their angle (level in the report, upright on paper)
  const x = { field: 'activation', type: 'nominal', title: 'activation φ', sort: order };
  const xOffset = { field: 'series', type: 'nominal', scale: { domain: series.map((s) => s.name) } };
  const y = { field: 'y', type: 'quantitative', title: `large-batch ${quantityTitle(q)}`, scale: { zero: true } };
  const layers: Record<string, unknown>[] = [
    { mark: { type: 'bar', opacity: 0.85 }, encoding: { x, xOffset, y, color } },
    {
      transform: [{ filter: `datum.source === 'sampled'` }],
      mark: { type: 'rule', strokeWidth: 1.5, color: '#000000' },
      encoding: { x, xOffset, y: { ...y, field: 'lo' }, y2: { field: 'hi' } },
    },
    {
      mark: { type: 'text', angle: -90, align: 'left', baseline: 'middle', dx: 4, fontSize: 10 },
      encoding: { x, xOffset, y: { ...y, field: 'hi' }, text: { field: 'y', type: 'quantitative', format: '.3f' } },
    },
    { mark: { type: 'rule', strokeDash: [4, 4], color: PALETTE.reference }, encoding: { y: { datum: 1 } } },
  ];
  const size = { width: opts.width ?? Math.max(360, 90 * order.length), height: opts.height ?? 300 };
  const body = panel.fields.length ? facetBody(rows, layers, size, panel.order(rs)) : { data: { values: rows }, ...size, layer: layers };
  const bs = [...new Set(rows.filter((r) => r.source === 'sampled').map((r) => r.B))];
  return topLevel(
    'Large-batch gradient growth across activations',
    used,
    body,
    opts,
    `theory at B → ∞ where given; sampled at B = ${bs.join(', ') || '—'}; dashed: λ = 1 (no explosion)`,
  );
}
