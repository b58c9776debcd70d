// Helpers shared by the study scripts (public API only).
import type { SPRecord } from '../src/records/index.js';
import type { Scale } from '../src/reproduce/index.js';

/** Pick a setting by scale. */
export function byScale<T>(scale: Scale, tiny: T, def: T, paper: T): T {
  return scale === 'tiny' ? tiny : scale === 'paper' ? paper : def;
}

/** Mean over seeds (aggregate record, seed null) of a per-layer quantity, averaged over layers a..b. */
export function layerMean(records: SPRecord[], quantity: string, a: number, b: number): number {
  const rs = records.filter(
    (r) => r.quantity === quantity && r.seed === null && r.layer !== null && r.layer >= a && r.layer <= b && Number.isFinite(r.value),
  );
  return rs.reduce((s, r) => s + r.value, 0) / rs.length;
}

/** Per-seed means over layers a..b of a per-layer quantity, then mean and standard error across seeds. */
export function layerMeanSE(records: SPRecord[], quantity: string, a: number, b: number): { mean: number; se: number } {
  const bySeed = new Map<number, number[]>();
  for (const r of records) {
    if (r.quantity !== quantity || r.seed === null || r.layer === null || r.layer < a || r.layer > b || !Number.isFinite(r.value)) continue;
    const v = bySeed.get(r.seed) ?? [];
    v.push(r.value);
    bySeed.set(r.seed, v);
  }
  const means = [...bySeed.values()].map((v) => v.reduce((x, y) => x + y, 0) / v.length);
  const n = means.length;
  const mean = means.reduce((x, y) => x + y, 0) / n;
  const sd = n > 1 ? Math.sqrt(means.reduce((x, y) => x + (y - mean) ** 2, 0) / (n - 1)) : Number.NaN;
  return { mean, se: sd / Math.sqrt(n) };
}

export function median(xs: number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : 0.5 * (s[m - 1] + s[m]);
}

/** Tag every record with the study and a series label. */
export function tagAll(records: SPRecord[], tags: Record<string, string | number | boolean | null>): SPRecord[] {
  return records.map((r) => ({ ...r, tags: { ...(r.tags ?? {}), ...tags } }));
}

/** Spearman rank correlation. */
export function spearman(x: number[], y: number[]): number {
  const rank = (v: number[]) => {
    const idx = v.map((val, i) => [val, i] as const).sort((a, b) => a[0] - b[0]);
    const r = new Array<number>(v.length);
    idx.forEach(([, i], k) => {
      r[i] = k;
    });
    return r;
  };
  const rx = rank(x);
  const ry = rank(y);
  const n = x.length;
  const mx = (n - 1) / 2;
  let num = 0;
  let dx = 0;
  let dy = 0;
  for (let i = 0; i < n; i++) {
    num += (rx[i] - mx) * (ry[i] - mx);
    dx += (rx[i] - mx) ** 2;
    dy += (ry[i] - mx) ** 2;
  }
  return num / Math.sqrt(dx * dy);
}
