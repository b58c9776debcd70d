// Measured series from loaded records, for the plots' overlays: per-layer log gradient norms (sampled
// `log_grad_h_sq`, or a trained run's `grad_h_sq` at its first step, normalised to the last block as the
// theory is), measured growth λ against B, and the sampled Jacobian singular values (the atom at zero
// counted apart, the continuous part binned as a density). Each series is labelled by source and spec.
import type { SPRecord } from '../../records/index.js';

export interface DepthPoint {
  series: string;
  layer: number;
  value: number;
}

export interface BatchPoint {
  series: string;
  batch: number;
  value: number;
  lo: number | null;
  hi: number | null;
}

export interface SvBin {
  series: string;
  sv0: number;
  sv1: number;
  density: number;
}

export interface Overlays {
  depth: DepthPoint[];
  batch: BatchPoint[];
  spectrum: SvBin[];
  /** Per spectrum series: the fraction of singular values at zero (counted apart from the bins). */
  zeroFraction: Record<string, number>;
  /** Records loaded, and what could not be drawn and why. */
  count: number;
  notes: string[];
}

/** A short label of a record's spec. */
export function specLabel(r: SPRecord): string {
  const res = r.residual !== null ? `, res ${r.residual}` : '';
  return `${r.order}${res}, ${r.activation}, L=${r.depth}, B=${r.batch ?? '∞'}`;
}

function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const g = m.get(k);
    if (g) g.push(x);
    else m.set(k, [x]);
  }
  return m;
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

/** Per layer: the across-seed summary record (seed null) where there is one, else the mean over seeds. */
function perLayer(rs: SPRecord[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const [layer, g] of groupBy(rs, (r) => String(r.layer))) {
    const summary = g.find((r) => r.seed === null);
    const vals = g.map((r) => r.value).filter(Number.isFinite);
    const v = summary ? summary.value : vals.length ? mean(vals) : Number.NaN;
    if (Number.isFinite(v)) out.set(Number(layer), v);
  }
  return out;
}

/** One series per source and spec at its first step: ln(g_l / g_L) per layer (the theory's log_grad_h_sq). */
function depthSeries(records: readonly SPRecord[], notes: string[]): DepthPoint[] {
  const out: DepthPoint[] = [];
  const measured = records.filter((r) => r.layer !== null && r.source !== 'theory');
  const logs = measured.filter((r) => r.quantity === 'log_grad_h_sq');
  const withLog = new Set(logs.map((r) => `${r.source}|${r.specId}`));
  // trained runs record ‖∂L/∂h_l‖² itself (no log_grad_h_sq): normalised here to the last block
  const raw = measured.filter((r) => r.quantity === 'grad_h_sq' && !withLog.has(`${r.source}|${r.specId}`));
  for (const [g, isLog] of [
    ...[...groupBy(logs, (r) => `${r.source}|${r.specId}`).values()].map((g) => [g, true] as const),
    ...[...groupBy(raw, (r) => `${r.source}|${r.specId}`).values()].map((g) => [g, false] as const),
  ]) {
    const steps = [...new Set(g.map((r) => r.step ?? 0))].sort((a, b) => a - b);
    const first = steps[0];
    const byLayer = perLayer(g.filter((r) => (r.step ?? 0) === first));
    const series = `${g[0].source} · ${specLabel(g[0])}${g[0].step !== null ? ` · step ${first}` : ''}`;
    if (steps.length > 1) notes.push(`${series}: ${steps.length} steps; the first (${first}) is drawn`);
    if (isLog) {
      for (const [layer, value] of byLayer) out.push({ series, layer, value });
      continue;
    }
    const top = byLayer.get(g[0].depth);
    if (top === undefined || !(top > 0)) {
      notes.push(`${series}: grad_h_sq has no positive value at the last block (${g[0].depth}); not drawn`);
      continue;
    }
    for (const [layer, v] of byLayer) if (v > 0) out.push({ series, layer, value: Math.log(v / top) });
  }
  return out.sort((a, b) => a.series.localeCompare(b.series) || a.layer - b.layer);
}

function batchSeries(records: readonly SPRecord[], notes: string[]): BatchPoint[] {
  const growth = records.filter((r) => r.quantity === 'growth' && r.source !== 'theory' && r.layer === null);
  const out: BatchPoint[] = [];
  const noBatch = growth.filter((r) => r.batch === null).length;
  if (noBatch) notes.push(`${noBatch} measured growth records have no batch size (B = ∞); not on the λ(B) plot`);
  const series = (r: SPRecord) => `${r.source} · ${r.order}${r.residual !== null ? `, res ${r.residual}` : ''}, ${r.activation}`;
  for (const g of groupBy(
    growth.filter((r) => r.batch !== null),
    (r) => `${series(r)}|${r.specId}`,
  ).values()) {
    const summary = g.find((r) => r.seed === null && r.step === null) ?? g.find((r) => r.seed === null);
    const vals = g.map((r) => r.value).filter(Number.isFinite);
    const value = summary ? summary.value : mean(vals);
    if (!Number.isFinite(value)) continue;
    out.push({ series: series(g[0]), batch: g[0].batch as number, value, lo: summary?.lo ?? null, hi: summary?.hi ?? null });
  }
  return out.sort((a, b) => a.series.localeCompare(b.series) || a.batch - b.batch);
}

/** Singular values at or below this fraction of the largest are the atom at zero (float noise of exact zeros). */
export const ZERO_SV = 1e-8;

function spectrumSeries(records: readonly SPRecord[], zeroFraction: Record<string, number>): SvBin[] {
  const out: SvBin[] = [];
  for (const g of groupBy(
    records.filter((r) => r.quantity === 'jac_sv' && r.source === 'sampled' && Number.isFinite(r.value)),
    (r) => r.specId,
  ).values()) {
    const series = `sampled · ${specLabel(g[0])}`;
    const v = g.map((r) => r.value);
    const max = Math.max(...v);
    const cont = v.filter((x) => x > ZERO_SV * max);
    zeroFraction[series] = 1 - cont.length / v.length;
    if (cont.length === 0) continue;
    const bins = Math.max(8, Math.min(60, Math.round(Math.sqrt(cont.length))));
    const w = max / bins;
    const counts = new Array<number>(bins).fill(0);
    for (const x of cont) counts[Math.min(bins - 1, Math.floor(x / w))]++;
    // density of the whole law: the continuous part carries mass cont/all, as the theory's density does
    for (let i = 0; i < bins; i++) out.push({ series, sv0: i * w, sv1: (i + 1) * w, density: counts[i] / v.length / w });
  }
  return out;
}

/** Everything the plots overlay from these records. */
export function overlaysOf(records: readonly SPRecord[]): Overlays {
  const notes: string[] = [];
  const zeroFraction: Record<string, number> = {};
  const o: Overlays = {
    depth: depthSeries(records, notes),
    batch: batchSeries(records, notes),
    spectrum: spectrumSeries(records, zeroFraction),
    zeroFraction,
    count: records.length,
    notes,
  };
  if (records.length > 0 && o.depth.length + o.batch.length + o.spectrum.length === 0)
    notes.push('none of these records is a measured log_grad_h_sq, grad_h_sq, growth or jac_sv: nothing to overlay');
  return o;
}
