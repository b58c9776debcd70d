// When to probe: every step for the first `dense` steps, then log-spaced (`perDecade` points per decade
// of steps) or every `every` steps, and always at the last step — the shape of cockpit's schedules.

import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { bool, int, parseObject } from '../network/input.js';
import { didYouMean } from '../network/suggest.js';
import { TrainConfigError } from './errors.js';
import { explicitTranspose } from './ops.js';

/**
 * When to probe. dense: every step for steps 0..dense−1. perDecade: after the dense phase, this many
 * log-spaced probe steps per decade (0: none; ignored when `every` is set). every: after the dense phase,
 * every `every` steps instead of log-spacing (null: log-spaced). enabled: false for no probes at all (loss
 * is still recorded at every step).
 */
export const PROBE_SCHEMA = z.object({
  dense: int('an integer >= 0', (v) => v >= 0).default(20),
  perDecade: int('an integer >= 0', (v) => v >= 0).default(10),
  every: z
    .union([z.null(), int('an integer >= 1, or null for log-spaced probes', (v) => v >= 1)], {
      error: 'an integer >= 1, or null for log-spaced probes',
    })
    .default(null),
  enabled: bool().default(true),
});

export type ProbeConfig = z.output<typeof PROBE_SCHEMA>;
/** What a user may write: the options (each defaulted), or false for no probes. */
export type ProbeInput = false | z.input<typeof PROBE_SCHEMA>;

export const DEFAULT_PROBES: ProbeConfig = PROBE_SCHEMA.parse({});

export function makeProbeConfig(input: unknown, field = 'probe'): ProbeConfig {
  if (input == null) return { ...DEFAULT_PROBES };
  if (input === false) return { ...DEFAULT_PROBES, enabled: false };
  return parseObject(PROBE_SCHEMA, input, field, (f, v, a) => new TrainConfigError(f, v, a), {
    notObject: 'an object {dense, perDecade, every, enabled}, or false for no probes',
    unknown: (k, known) => `no such option${didYouMean(k, known)}; probe options are ${known.join(', ')}`,
  });
}

/** A probe schedule over a run of `steps` steps (0-based step indices). */
export class ProbeSchedule {
  private readonly logSteps: Set<number>;
  constructor(
    readonly cfg: ProbeConfig,
    readonly steps: number,
  ) {
    this.logSteps = new Set();
    if (cfg.every === null && cfg.perDecade > 0) {
      const start = Math.max(1, cfg.dense);
      for (let i = 0; ; i++) {
        const s = Math.round(start * 10 ** (i / cfg.perDecade));
        if (s >= steps) break;
        this.logSteps.add(s);
      }
    }
  }
  /** Whether step t (0-based) is probed. */
  active(t: number): boolean {
    const c = this.cfg;
    if (!c.enabled) return false;
    if (t < c.dense) return true;
    if (t === this.steps - 1) return true;
    if (c.every !== null) return (t - c.dense) % c.every === 0;
    return this.logSteps.has(t);
  }
  /** All probed steps, ascending. */
  list(): number[] {
    const out: number[] = [];
    for (let t = 0; t < this.steps; t++) if (this.active(t)) out.push(t);
    return out;
  }
}

/** Column statistics of a rows × cols matrix: the means over columns of its batch means and biased variances, and its unit correlation. */
export interface ColumnStats {
  /** (1/c) Σ_j ȳ_j: the mean over columns of the column means. */
  mean: number;
  /** (1/c) Σ_j (1/r) Σ_i (y_ij − ȳ_j)²: the mean over columns of the biased column variances. */
  variance: number;
  /**
   * Mean |Pearson correlation| over the c(c−1)/2 column pairs (NaN with fewer than 2 columns); with more than
   * UNIT_CORR_SUBSET columns, over the pairs of the strided subset unitCorrSubset(c) (an unbiased estimate of the
   * all-pairs mean: docs/probe.md, "unit_corr above 128 units").
   */
  unitCorr: number;
}

/**
 * The most units whose every pair unit_corr averages over. A wider layer's unit_corr is the mean |r| over the
 * m(m−1)/2 pairs of m = UNIT_CORR_SUBSET evenly strided units (unitCorrSubset): an m × m Gram matrix on rows × m
 * values, cost rows·m² instead of rows·c². Units of a layer are exchangeable in law (i.i.d. weight rows at
 * init, and permutation-equivariant training keeps them so), so a fixed strided subset is, in law, a uniform
 * random one and its mean is unbiased for the all-pairs mean; its standard error is that of an order-2
 * U-statistic over m of c units, ≈ √(4ζ₁(1 − m/c)/m + 2ζ₂/(m(m−1))) (docs/probe.md): about 1e-3, 1% of the
 * value, on trained width-512 layers at 128 rows (test/probe/unitCorrSubset.test.ts checks it).
 */
export const UNIT_CORR_SUBSET = 128;

/** The units unit_corr averages over in a layer of `cols` units: all of them up to `m`, else ⌊i·cols/m⌋ for i = 0..m−1 (every (cols/m)-th). */
export function unitCorrSubset(cols: number, m = UNIT_CORR_SUBSET): Int32Array {
  const k = Math.min(cols, m);
  const idx = new Int32Array(k);
  for (let i = 0; i < k; i++) idx[i] = k === cols ? i : Math.floor((i * cols) / k);
  return idx;
}

/**
 * ColumnStats of a rows × cols matrix from its row-major values. One host pass gives each column's mean μ_j
 * and centred sum of squares S_jj (float64, Welford's update); one matMul gives the Gram matrix whose
 * off-diagonal entries, centred and scaled, are the correlations r_jk = S_jk/√(S_jj·S_kk), summed in |·| over
 * the upper triangle on the host (float64): unitCorr = (2/(c(c−1))) Σ_{j<k} |r_jk|, the number
 * unitCorrelation's (Σ|R| − tr R)/(c(c−1)) gives, without its N×N elementwise passes on the device.
 * With more than `subset` columns (UNIT_CORR_SUBSET by default; Infinity for every pair), the correlations are
 * those of the columns unitCorrSubset(cols, subset) only (mean and variance are still over every column).
 * The Gram matrix is that of the raw values, S_jk = G_jk − r·μ_j·μ_k, where every column is within a few
 * standard deviations of 0 (max_j μ_j²/σ_j² ≤ 16: float32 G then has an error ≲ √rows·u·(1 + μ²/σ²)·r·σ_jσ_k,
 * ≤ 17·√rows·u relative to S_jk, ~1e-5 at 128 rows, and far less on average over the pairs); otherwise that
 * of the centred values (their float32 rounding only). A column with zero variance adds 0 to every pair it
 * is in (its S_jk are 0 in exact arithmetic; here its 1/√S_jj is 0), as in unitCorrelation. `withCorr:
 * false` skips the Gram matrix (unitCorr NaN).
 */
export function columnStatsHost(
  values: Float32Array,
  rows: number,
  cols: number,
  withCorr = true,
  subset: number = UNIT_CORR_SUBSET,
): ColumnStats {
  const mean = new Float64Array(cols);
  const ss = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    const w = 1 / (i + 1);
    for (let j = 0; j < cols; j++) {
      const d = values[o + j] - mean[j];
      mean[j] += d * w;
      ss[j] += d * (values[o + j] - mean[j]);
    }
  }
  let meanSum = 0;
  let varSum = 0;
  for (let j = 0; j < cols; j++) {
    meanSum += mean[j];
    varSum += ss[j] / rows;
  }
  let unitCorr = Number.NaN;
  if (withCorr && cols >= 2) {
    const all = cols <= subset;
    const idx = all ? null : unitCorrSubset(cols, subset);
    const k = idx ? idx.length : cols;
    const mu = idx ? Float64Array.from(idx, (j) => mean[j]) : mean;
    const s2 = idx ? Float64Array.from(idx, (j) => ss[j]) : ss;
    let ratio = 0;
    for (let j = 0; j < k; j++) if (s2[j] > 0) ratio = Math.max(ratio, (mu[j] * mu[j] * rows) / s2[j]);
    const raw = ratio <= 16;
    let x = values;
    if (!raw || idx) {
      x = new Float32Array(rows * k);
      for (let i = 0; i < rows; i++) {
        const o = i * cols;
        const p = i * k;
        if (idx) for (let j = 0; j < k; j++) x[p + j] = raw ? values[o + idx[j]] : values[o + idx[j]] - mu[j];
        else for (let j = 0; j < k; j++) x[p + j] = values[o + j] - mu[j];
      }
    }
    const G = tf.tidy(() => {
      const X = tf.tensor2d(x, [rows, k]);
      return explicitTranspose() ? tf.matMul(tf.transpose(X), X) : tf.matMul(X, X, true, false);
    });
    const g = G.dataSync() as Float32Array;
    G.dispose();
    const inv = new Float64Array(k);
    const m = new Float64Array(k); // r·μ_j on the raw path (S_jk = G_jk − m_j·μ_k), 0 on the centred one
    for (let j = 0; j < k; j++) {
      inv[j] = s2[j] > 0 ? 1 / Math.sqrt(s2[j]) : 0;
      m[j] = raw ? rows * mu[j] : 0;
    }
    let sum = 0;
    for (let j = 0; j < k; j++) {
      if (inv[j] === 0) continue;
      const o = j * k;
      const mj = m[j];
      let row = 0;
      for (let q = j + 1; q < k; q++) row += Math.abs(g[o + q] - mj * mu[q]) * inv[q];
      sum += row * inv[j];
    }
    unitCorr = (2 * sum) / (k * (k - 1));
  }
  return { mean: meanSum / cols, variance: varSum / cols, unitCorr };
}

/** The unit correlation of columnStatsHost: mean |Pearson correlation| between the columns of a rows × cols matrix (NaN with fewer than 2). */
export function unitCorrelationHost(values: Float32Array, rows: number, cols: number): number {
  return columnStatsHost(values, rows, cols).unitCorr;
}

/**
 * Mean off-diagonal cosine similarity between the rows (samples) of a rows × cols matrix, from its
 * row-major values: with u_i = x_i/‖x_i‖ (a zero row stays zero), Σ_{i≠k} u_i·u_k = ‖Σ_i u_i‖² − Σ_i ‖u_i‖²
 * exactly, so the mean over the B(B−1) ordered pairs is (‖Σ_i u_i‖² − Σ_i ‖u_i‖²)/(B(B−1)): O(B·N) work
 * instead of the B×B Gram matrix's O(B²·N). Float64 sums on the host. NaN with fewer than 2 rows.
 */
export function sampleCorrelationHost(values: Float32Array, rows: number, cols: number): number {
  if (rows < 2) return Number.NaN;
  const s = new Float64Array(cols);
  let diag = 0;
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    let n2 = 0;
    for (let j = 0; j < cols; j++) n2 += values[o + j] * values[o + j];
    const norm = Math.sqrt(n2);
    const inv = 1 / Math.max(norm, 1e-30);
    for (let j = 0; j < cols; j++) s[j] += values[o + j] * inv;
    diag += (norm * inv) ** 2;
  }
  let tot = 0;
  for (let j = 0; j < cols; j++) tot += s[j] * s[j];
  return (tot - diag) / (rows * (rows - 1));
}
