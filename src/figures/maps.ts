// Figures 7 and 8: the Jacobian singular-value histogram with the free-probability density, and the (σ_w², σ_b²) phase diagram.
import type { TopLevelSpec } from 'vega-lite';
import type { SPRecord } from '../records/index.js';
import {
  band,
  cellEdges,
  colorScale,
  facetBody,
  type FigureOptions,
  finite,
  groupBy,
  missing,
  PALETTE,
  panelLabeler,
  selectSpec,
  topLevel,
} from './common.js';
import { maxOf, minOf, pushAll } from '../io/arrays.js';

export interface Histogram {
  edges: number[];
  counts: number[];
  /** count / (n · bin width): integrates to 1. */
  density: number[];
}

/** Histogram of positive values on linear or log-spaced bins, normalised as a density. */
export function densityHistogram(values: number[], bins: number, log: boolean): Histogram {
  const v = values.filter((x) => finite(x) && (!log || x > 0));
  if (v.length === 0) return { edges: [], counts: [], density: [] };
  let lo = minOf(v);
  let hi = maxOf(v);
  const t = (x: number) => (log ? Math.log(x) : x);
  const inv = (x: number) => (log ? Math.exp(x) : x);
  // A degenerate range (all values equal, or equal once transformed): widen it so the bins have positive width.
  if (!(t(hi) - t(lo) > 1e-9 * Math.max(1, Math.abs(t(lo))))) {
    const mid = log ? Math.sqrt(lo * hi) : (lo + hi) / 2;
    lo = log ? mid / 1.1 : mid - 0.5;
    hi = log ? mid * 1.1 : mid + 0.5;
  }
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === 0 ? lo : i === bins ? hi : inv(t(lo) + ((t(hi) - t(lo)) * i) / bins)));
  const counts = new Array(bins).fill(0);
  for (const x of v) {
    let i = Math.floor(((t(x) - t(lo)) / (t(hi) - t(lo))) * bins);
    if (!(i < bins)) i = bins - 1;
    if (!(i >= 0)) i = 0;
    // Guard rounding at bin edges: move to the bin whose [edge_i, edge_{i+1}) holds x.
    while (i > 0 && x < edges[i]) i--;
    while (i < bins - 1 && x >= edges[i + 1]) i++;
    counts[i]++;
  }
  const density = counts.map((c, i) => c / (v.length * (edges[i + 1] - edges[i])));
  return { edges, counts, density };
}

export interface SpectrumOptions extends FigureOptions {
  bins?: number;
}

const THEORY_DENSITY = 'free probability density';

/** Figure 7: empirical singular values of the input–output Jacobian against the free-probability density. */
export function jacobianSpectrumFigure(all: SPRecord[], opts: SpectrumOptions = {}): TopLevelSpec {
  const NAME = 'jacobian-spectrum';
  const records = selectSpec(all, opts);
  const svQ = opts.quantity ?? 'jac_sv';
  const sv = records.filter((r) => r.quantity === svQ && r.source !== 'theory' && finite(r.value));
  if (sv.length === 0) throw missing(NAME, `sampled ${svQ} (one record per singular value)`, records);
  const dens = records.filter(
    (r) => r.quantity === 'jac_density' && r.source === 'theory' && finite(r.value) && finite(Number(r.tags?.sv)),
  );
  const panel = panelLabeler(sv, ['specId', 'batch']);
  // The atom at zero: a rank-deficient Jacobian (ReLU zeroes units) has exact zero singular values that the SVD
  // returns as float noise (1e-95 … 1e-17). Those at or below the numerical-rank tolerance σ_max·N·ε (N the
  // width, ε = 2⁻⁵²; as numpy's matrix_rank) are counted, not binned.
  const notes: string[] = [];
  const atoms: { panel: string; zero: number; n: number; tol: number }[] = [];
  const continuous: SPRecord[] = [];
  for (const [p, g] of groupBy(sv, (r) => panel.label(r))) {
    const max = maxOf(g.map((r) => Math.abs(r.value)));
    const n = Math.max(1, maxOf(g.map((r) => r.width ?? 1)));
    const tol = max * n * 2 ** -52;
    const nz = g.filter((r) => r.value > tol);
    atoms.push({ panel: p, zero: g.length - nz.length, n: g.length, tol });
    pushAll(continuous, nz);
  }
  for (const a of atoms.filter((x) => x.zero > 0))
    notes.push(
      `${a.panel ? `${a.panel}: ` : ''}atom at σ = 0: ${a.zero} of ${a.n} singular values (${((100 * a.zero) / a.n).toFixed(1)}%) are zero to float precision (≤ σ_max·N·ε = ${a.tol.toExponential(1)}); not binned, so the histogram's area is ${(1 - a.zero / a.n).toFixed(3)}`,
    );
  // Log-spaced bins when the bulk of the continuous part (5th to 95th percentile) spans two decades or more.
  const sorted = continuous.map((r) => r.value).sort((a, b) => a - b);
  const p5 = sorted[Math.floor(0.05 * (sorted.length - 1))];
  const p95 = sorted[Math.ceil(0.95 * (sorted.length - 1))];
  const log = sorted.length > 0 && p5 > 0 && p95 / p5 >= 100;
  const rows: Record<string, unknown>[] = [];
  for (const [, g0] of groupBy(sv, (r) => panel.label(r))) {
    const label = panel.label(g0[0]);
    const g = continuous.filter((r) => panel.label(r) === label);
    if (g.length === 0) continue;
    const nAll = g0.length;
    const bins = opts.bins ?? Math.max(10, Math.min(60, Math.round(Math.sqrt(g.length))));
    const h = densityHistogram(
      g.map((r) => r.value),
      bins,
      log,
    );
    // Normalised by all n (zeros included): the bins carry the continuous mass 1 − p₀, as the theory density does.
    // On log-spaced bins the density is per unit ln σ (count / (n·Δln σ) = σ·p(σ)), so equal areas mean equal mass.
    for (let i = 0; i < h.counts.length; i++) {
      const density = log
        ? h.counts[i] / (nAll * Math.log(h.edges[i + 1] / h.edges[i]))
        : h.counts[i] / (nAll * (h.edges[i + 1] - h.edges[i]));
      rows.push({
        kind: 'bin',
        series: 'sampled singular values',
        panel: label,
        x0: h.edges[i],
        x1: h.edges[i + 1],
        density,
        count: h.counts[i],
      });
    }
  }
  const panels = new Set(rows.map((r) => r.panel));
  for (const r of dens) {
    const p = panel.label(r);
    if (!panels.has(p)) continue;
    const x = Number(r.tags!.sv);
    if (log && x <= 0) continue;
    rows.push({ kind: 'density', series: THEORY_DENSITY, curve: THEORY_DENSITY, panel: p, sv: x, density: log ? x * r.value : r.value });
  }
  rows.sort((a, b) => (a.kind === 'density' && b.kind === 'density' ? (a.sv as number) - (b.sv as number) : 0));
  const xS = log ? { type: 'log' } : { type: 'linear', zero: false };
  const series = [
    { name: 'sampled singular values', color: PALETTE.sampled },
    { name: THEORY_DENSITY, color: PALETTE.theory },
  ].filter((s) => rows.some((r) => r.series === s.name));
  const legendOf = (name: string, field: string) => ({
    field,
    type: 'nominal',
    title: null,
    scale: colorScale(series.filter((s) => s.name === name)),
  });
  const x = { field: 'x0', type: 'quantitative', title: 'singular value σ of J = ∂h_L/∂h_0', scale: { ...xS, nice: false } };
  const y = {
    field: 'density',
    type: 'quantitative',
    title: log ? 'density σ·p(σ) (per unit ln σ)' : 'density p(σ)',
    scale: { zero: true },
  };
  const layers: Record<string, unknown>[] = [
    {
      transform: [{ filter: `datum.kind === 'bin'` }],
      mark: { type: 'rect', opacity: 0.55, stroke: 'white', strokeWidth: 0.5 },
      encoding: { x, x2: { field: 'x1' }, y, y2: { datum: 0 }, fill: legendOf('sampled singular values', 'series') },
    },
  ];
  if (rows.some((r) => r.kind === 'density'))
    layers.push({
      transform: [{ filter: `datum.kind === 'density'` }],
      mark: { type: 'line', strokeWidth: 2.2, clip: true },
      encoding: {
        x: { ...x, field: 'sv' },
        y,
        stroke: { ...legendOf(THEORY_DENSITY, 'curve'), legend: { symbolType: 'stroke', symbolStrokeWidth: 2.5 } },
      },
    });
  const size = { width: opts.width ?? 440, height: opts.height ?? 280 };
  const body = panel.fields.length
    ? facetBody(rows, layers, size, panel.order(sv), { resolve: { scale: { x: 'independent', y: 'independent' } } })
    : { data: { values: rows }, ...size, layer: layers };
  const nSv = sv.length;
  return topLevel(
    'Jacobian singular values against free probability',
    [...sv, ...dens],
    body,
    opts,
    `${nSv} singular values${log ? ', log-spaced bins' : ''}`,
    notes,
  );
}

export interface PhaseOptions extends FigureOptions {
  source?: 'theory' | 'sampled';
}

/**
 * Where ln g crosses 0 along σ_w² at each σ_b² (g the per-layer growth χ₁), by linear interpolation of ln g between
 * neighbouring grid points: the critical line χ₁ = 1 read off a grid.
 */
export function criticalLineFromGrid(
  points: { sigmaW2: number; sigmaB2: number; growth: number }[],
): { sigmaW2: number; sigmaB2: number }[] {
  const out: { sigmaW2: number; sigmaB2: number }[] = [];
  for (const [, g] of groupBy(points, (p) => String(p.sigmaB2))) {
    const s = g.filter((p) => p.growth > 0).sort((a, b) => a.sigmaW2 - b.sigmaW2);
    for (let i = 0; i + 1 < s.length; i++) {
      const a = Math.log(s[i].growth);
      const b = Math.log(s[i + 1].growth);
      if (a === 0) out.push({ sigmaW2: s[i].sigmaW2, sigmaB2: s[i].sigmaB2 });
      else if (a * b < 0) out.push({ sigmaW2: s[i].sigmaW2 + ((s[i + 1].sigmaW2 - s[i].sigmaW2) * -a) / (b - a), sigmaB2: s[i].sigmaB2 });
    }
    const lastP = s[s.length - 1];
    if (s.length > 1 && Math.log(lastP.growth) === 0) out.push({ sigmaW2: lastP.sigmaW2, sigmaB2: lastP.sigmaB2 });
  }
  return out.sort((a, b) => a.sigmaB2 - b.sigmaB2);
}

/** Figure 8: the (σ_w², σ_b²) phase diagram of no-BN nets: ln χ₁ as a heatmap, the critical line χ₁ = 1 over it. */
export function phaseDiagramFigure(all: SPRecord[], opts: PhaseOptions = {}): TopLevelSpec {
  const NAME = 'phase-diagram';
  let records = selectSpec(all, opts);
  const noBn = records.filter((r) => r.order === 'linear-act');
  if (noBn.length) records = noBn;
  const q = opts.quantity ?? 'growth';
  const grid = records.filter(
    (r) => r.quantity === q && r.layer === null && finite(r.value) && r.value > 0 && (r.step === null || r.step === 0),
  );
  const source = opts.source ?? (grid.some((r) => r.source === 'theory') ? 'theory' : 'sampled');
  const cellsRecs = grid.filter((r) => r.source === source);
  if (new Set(cellsRecs.map((r) => `${r.sigmaW2}|${r.sigmaB2}`)).size < 2)
    throw missing(NAME, `${source} ${q} (layer null) on a (σ_w², σ_b²) grid of no-BN specs`, all);
  const panel = panelLabeler(cellsRecs, ['sigmaW2', 'sigmaB2', 'specId', 'batch', 'width']);
  const xE = cellEdges(
    cellsRecs.map((r) => r.sigmaW2),
    false,
    0,
  );
  const yE = cellEdges(
    cellsRecs.map((r) => r.sigmaB2),
    false,
    0,
  );
  const rows: Record<string, unknown>[] = [];
  const used: SPRecord[] = [];
  const byPanel = groupBy(cellsRecs, (r) => panel.label(r));
  for (const [p, recs] of byPanel) {
    const pts: { sigmaW2: number; sigmaB2: number; growth: number }[] = [];
    for (const [, g] of groupBy(recs, (r) => `${r.sigmaW2}|${r.sigmaB2}`)) {
      const b = band(g);
      pushAll(used, g);
      const { sigmaW2, sigmaB2 } = g[0];
      pts.push({ sigmaW2, sigmaB2, growth: b.value });
      rows.push({
        kind: 'cell',
        panel: p,
        w0: xE.get(sigmaW2)![0],
        w1: xE.get(sigmaW2)![1],
        b0: yE.get(sigmaB2)![0],
        b1: yE.get(sigmaB2)![1],
        sigmaW2,
        sigmaB2,
        lng: Math.log(b.value),
        growth: b.value,
      });
    }
    // The critical line: explicit theory records (critical_sigma_w2 at each σ_b²) if given, else read off the theory grid.
    const explicit = records.filter(
      (r) => r.source === 'theory' && r.quantity === 'critical_sigma_w2' && finite(r.value) && panel.label(r) === p,
    );
    pushAll(used, explicit);
    const theoryPts = grid
      .filter((r) => r.source === 'theory' && panel.label(r) === p)
      .map((r) => ({ sigmaW2: r.sigmaW2, sigmaB2: r.sigmaB2, growth: r.value }));
    const line = explicit.length
      ? explicit.map((r) => ({ sigmaW2: r.value, sigmaB2: r.sigmaB2 })).sort((a, b) => a.sigmaB2 - b.sigmaB2)
      : criticalLineFromGrid(theoryPts.length ? theoryPts : pts);
    for (const c of line) rows.push({ kind: 'critical', series: 'critical line χ₁ = 1', panel: p, sigmaW2: c.sigmaW2, sigmaB2: c.sigmaB2 });
  }
  const lng = rows.filter((r) => r.kind === 'cell').map((r) => r.lng as number);
  const m = Math.max(1e-9, ...lng.map(Math.abs));
  const xDom = [
    minOf(rows.filter((r) => r.kind === 'cell').map((r) => r.w0 as number)),
    maxOf(rows.filter((r) => r.kind === 'cell').map((r) => r.w1 as number)),
  ];
  const yDom = [
    minOf(rows.filter((r) => r.kind === 'cell').map((r) => r.b0 as number)),
    maxOf(rows.filter((r) => r.kind === 'cell').map((r) => r.b1 as number)),
  ];
  // Critical points outside the grid are not drawn (and resvg 2.6 aborts on a clipped path wholly outside its clip).
  const before = rows.length;
  for (let i = rows.length - 1; i >= 0; i--) {
    const r = rows[i];
    if (
      r.kind === 'critical' &&
      ((r.sigmaW2 as number) < xDom[0] ||
        (r.sigmaW2 as number) > xDom[1] ||
        (r.sigmaB2 as number) < yDom[0] ||
        (r.sigmaB2 as number) > yDom[1])
    )
      rows.splice(i, 1);
  }
  const outside = before - rows.length;
  const phaseNotes = outside
    ? [`${outside} point${outside === 1 ? '' : 's'} of the critical line outside the (σ_w², σ_b²) grid not drawn`]
    : [];
  const x = { field: 'w0', type: 'quantitative', title: 'weight variance σ_w²', scale: { domain: xDom, nice: false, zero: false } };
  const y = { field: 'b0', type: 'quantitative', title: 'bias variance σ_b²', scale: { domain: yDom, nice: false, zero: false } };
  const layers: Record<string, unknown>[] = [
    {
      transform: [{ filter: `datum.kind === 'cell'` }],
      mark: { type: 'rect' },
      encoding: {
        x,
        x2: { field: 'w1' },
        y,
        y2: { field: 'b1' },
        color: {
          field: 'lng',
          type: 'quantitative',
          title: `ln χ₁ (${source})`,
          scale: { scheme: PALETTE.diverging, domain: [-m, m], domainMid: 0 },
          legend: { orient: 'right', gradientLength: 200, titleLimit: 220 },
        },
      },
    },
  ];
  if (rows.some((r) => r.kind === 'critical'))
    layers.push({
      transform: [{ filter: `datum.kind === 'critical'` }],
      mark: { type: 'line', strokeWidth: 2.5, clip: true, point: { filled: true, size: 18, color: PALETTE.theory } },
      encoding: {
        x: { ...x, field: 'sigmaW2' },
        y: { ...y, field: 'sigmaB2' },
        order: { field: 'sigmaB2', type: 'quantitative' },
        color: {
          field: 'series',
          type: 'nominal',
          title: null,
          scale: colorScale([{ name: 'critical line χ₁ = 1', color: PALETTE.theory }]),
        },
      },
    });
  const size = { width: opts.width ?? 380, height: opts.height ?? 320 };
  const body = panel.fields.length
    ? facetBody(rows, layers, size, panel.order(cellsRecs))
    : { data: { values: rows }, ...size, layer: layers };
  return topLevel(
    'Order–chaos phase diagram (no BN)',
    used,
    body,
    opts,
    `cells: ln of the ${source} per-layer growth χ₁ of ‖∂L/∂h‖² (${q}); blue: ordered (gradients vanish), orange: chaotic (gradients explode)`,
    phaseNotes,
  );
}
