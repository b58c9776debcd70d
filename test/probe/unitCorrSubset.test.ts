// unit_corr above UNIT_CORR_SUBSET units is the mean |r| over the pairs of a strided subset of m units
// (src/train/probes.ts). Checked here on real layer outputs (trained Linear-BN-ReLU and Linear-tanh nets of
// width 512, B 128, several seeds) against the exact all-pairs mean, computed independently in float64:
// - the standard error of a uniform random m-subset's mean is derived exactly (inclusion probabilities of
//   pairs, below) and checked by Monte Carlo over random subsets; it is about 1% of the value;
// - the strided subset's deviations from the all-pairs mean are within Z_BOUND standard errors;
// - power: an estimator biased by (1 − θ)/m (the diagonal r_jj = 1 counted among the pairs) is caught.

import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { normalStream } from '../../src/network/index.js';
import { uniformStream } from '../../src/network/random.js';
import { blasUnavailableReason } from '../../src/train/blas.js';
import { columnStatsHost, emptyCapture, initBackend, loadData, resolveTrainConfig, Trainer } from '../../src/train/index.js';
import { UNIT_CORR_SUBSET, unitCorrSubset } from '../../src/train/probes.js';

const BACKEND = blasUnavailableReason() === null ? 'blas' : 'cpu';
beforeAll(async () => {
  await initBackend(BACKEND);
});

const N = 512;
const B = 128;
const M = UNIT_CORR_SUBSET;

/** The |r_jk| matrix (float64, N × N, diagonal 0) of a rows × n matrix; a zero-variance unit has |r| = 0 with every other. */
function absCorr(x: Float32Array, rows: number, n: number): Float64Array {
  const c = new Float64Array(rows * n);
  for (let j = 0; j < n; j++) {
    let mu = 0;
    for (let i = 0; i < rows; i++) mu += x[i * n + j];
    mu /= rows;
    let s = 0;
    for (let i = 0; i < rows; i++) s += (x[i * n + j] - mu) ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let i = 0; i < rows; i++) c[i * n + j] = (x[i * n + j] - mu) * inv;
  }
  const R = new Float64Array(n * n);
  for (let j = 0; j < n; j++)
    for (let k = j + 1; k < n; k++) {
      let s = 0;
      for (let i = 0; i < rows; i++) s += c[i * n + j] * c[i * n + k];
      R[j * n + k] = R[k * n + j] = Math.abs(s);
    }
  return R;
}

/** Mean of R over the pairs of the units `idx`. */
function pairMean(R: Float64Array, n: number, idx: ArrayLike<number>): number {
  let s = 0;
  for (let a = 0; a < idx.length; a++) for (let b = a + 1; b < idx.length; b++) s += R[idx[a] * n + idx[b]];
  return s / ((idx.length * (idx.length - 1)) / 2);
}

/**
 * The exact mean θ over all pairs and the exact standard deviation of a uniform random m-subset's pair mean U
 * (sampling without replacement). With P = m(m−1)/2 pairs in the subset, U = (1/P) Σ_p 1_p h_p, and
 * E U² = (1/P²)[π₂ A + 2π₃ C₁ + 2π₄ C₂]: A = Σ_p h_p², C₁ = Σ over unordered pairs of pairs sharing one unit
 * of h_p h_q, C₂ the same over disjoint pairs of pairs, π_k = (m)_k/(N)_k the chance that k given units are
 * all drawn (a pair: 2 units; two pairs sharing a unit: 3; disjoint: 4). From H_j = Σ_k h_jk:
 * Σ_j H_j² = 2A + 2C₁ and (Σ_p h_p)² = A + 2C₁ + 2C₂.
 */
function subsetLaw(R: Float64Array, n: number, m: number): { theta: number; se: number } {
  let S = 0;
  let A = 0;
  let H2 = 0;
  for (let j = 0; j < n; j++) {
    let H = 0;
    for (let k = 0; k < n; k++) {
      const h = R[j * n + k];
      H += h;
      if (k > j) {
        S += h;
        A += h * h;
      }
    }
    H2 += H * H;
  }
  const C1 = (H2 - 2 * A) / 2;
  const C2 = (S * S - A - 2 * C1) / 2;
  const fall = (k: number) => {
    let p = 1;
    for (let i = 0; i < k; i++) p *= (m - i) / (n - i);
    return p;
  };
  const P = (m * (m - 1)) / 2;
  const theta = S / ((n * (n - 1)) / 2);
  const eU2 = (fall(2) * A + 2 * fall(3) * C1 + 2 * fall(4) * C2) / (P * P);
  return { theta, se: Math.sqrt(Math.max(0, eU2 - theta * theta)) };
}

/** Block outputs x_l (B × N) of a net of depth 3 trained `steps` SGD steps from seed `seed`. */
function layerOutputs(seed: number, order: 'linear-bn-act' | 'linear-act', activation: 'relu' | 'tanh', steps: number): Float32Array[] {
  const { config, spec } = resolveTrainConfig({
    spec: { order, activation, depth: 3, width: N, batch: B, inputDim: 64 },
    data: { kind: 'synthetic', classes: 5, nTest: 16 },
    loss: 'xent',
    optimizer: { kind: 'sgd', lr: 0.1 },
    steps: steps + 1,
    seed,
    probe: false,
    backend: BACKEND,
  });
  const data = loadData(config.data, config.seed, spec.inputDim, true);
  const tr = new Trainer(config, spec, data, null, BACKEND);
  try {
    for (let t = 0; t < steps; t++) tr.step(t);
    const hb = data.batch(steps, B);
    const cap = emptyCapture(3);
    const out = tf.tidy(() => {
      tr.model.forward(tr.model.params, tf.tensor2d(hb.x, [B, spec.inputDim]), 'train', cap);
      return cap.out.map((o) => o.dataSync() as Float32Array);
    });
    for (const list of [cap.out, cap.h, cap.actIn]) for (const t of list) t?.dispose();
    return out;
  } finally {
    tr.dispose();
  }
}

// 3 seeds × 2 nets × 3 layers = 18 deviations, each ~ N(0, se²) in law: P(some |Z| > 4.5) ≤ 18·2Φ(−4.5) ≈ 1.2e-4
const Z_BOUND = 4.5;

describe('unit_corr on a strided subset of units', () => {
  it('widths up to UNIT_CORR_SUBSET keep the exact all-pairs value bit for bit; wider ones use unitCorrSubset', () => {
    expect(Array.from(unitCorrSubset(5))).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(unitCorrSubset(512)).slice(0, 3)).toEqual([0, 4, 8]);
    const idx = unitCorrSubset(300);
    expect(idx.length).toBe(M);
    expect(new Set(idx).size).toBe(M);
    const rng = normalStream(5, 'subset-bits');
    for (const n of [M, 300]) {
      const x = Float32Array.from({ length: B * n }, () => rng() + 0.3);
      const exact = columnStatsHost(x, B, n, true, Number.POSITIVE_INFINITY);
      const got = columnStatsHost(x, B, n);
      // mean and variance are over every unit either way
      expect(got.mean).toBe(exact.mean);
      expect(got.variance).toBe(exact.variance);
      if (n <= M) expect(got.unitCorr).toBe(exact.unitCorr);
      else {
        // the subset's columns taken out by hand give the same bits
        const sub = unitCorrSubset(n);
        const xs = new Float32Array(B * M);
        for (let i = 0; i < B; i++) for (let j = 0; j < M; j++) xs[i * M + j] = x[i * n + sub[j]];
        expect(got.unitCorr).toBe(columnStatsHost(xs, B, M).unitCorr);
      }
    }
  });

  it('on trained nets the strided subset is within its derived standard error of the all-pairs mean; the SE holds by Monte Carlo; a biased estimator is caught', () => {
    const cases: { theta: number; se: number; got: number; exactHost: number; wrong: number; R: Float64Array }[] = [];
    for (const seed of [1, 2, 3])
      for (const [order, act] of [
        ['linear-bn-act', 'relu'],
        ['linear-act', 'tanh'],
      ] as const)
        for (const x of layerOutputs(seed, order, act, 3)) {
          const R = absCorr(x, B, N);
          const { theta, se } = subsetLaw(R, N, M);
          const got = columnStatsHost(x, B, N).unitCorr;
          const exactHost = columnStatsHost(x, B, N, true, Number.POSITIVE_INFINITY).unitCorr;
          // the deliberately wrong estimator: the diagonal |r_jj| = 1 counted, (Σ_{j,k∈S} |r_jk|)/m²
          const u = pairMean(R, N, unitCorrSubset(N));
          const wrong = (u * M * (M - 1) + M) / (M * M);
          cases.push({ theta, se, got, exactHost, wrong, R });
        }
    let worst = 0;
    let devSum = 0;
    let wrongSum = 0;
    let seSum = 0;
    for (const c of cases) {
      // the library's exact path agrees with the float64 one to float32 rounding of the Gram (probes.ts: ~1e-5)
      expect(Math.abs(c.exactHost - c.theta)).toBeLessThan(1e-5);
      const z = Math.abs(c.got - c.theta) / c.se;
      worst = Math.max(worst, z);
      expect(z, `theta ${c.theta} se ${c.se} got ${c.got}`).toBeLessThan(Z_BOUND);
      // the stated error (docs/probe.md): about 1% of the value at 128 rows
      expect(c.se).toBeLessThan(0.015 * c.theta);
      devSum += c.got - c.theta;
      wrongSum += c.wrong - c.theta;
      seSum += c.se;
    }
    // the deviations are not all far below the SE either (the SE is not grossly overstated): an 18-sample
    // max |Z| under 0.3 has probability (2Φ(0.3) − 1)^18 ≈ 1e-19
    expect(worst).toBeGreaterThan(0.3);
    // power, on the pooled deviation Σd/Σse: its sd is at most 1 however the 18 deviations correlate (layers
    // of one net share the subset), so the right estimator stays within Z_BOUND and the wrong one, biased by
    // (1 − θ)/m ≈ 6·se per case, is caught
    expect(Math.abs(devSum / seSum)).toBeLessThan(Z_BOUND);
    expect(wrongSum / seSum).toBeGreaterThan(Z_BOUND);
    // Monte Carlo over uniform random subsets (Fisher–Yates, 600 draws) on two cases: the sample SD matches
    // the exact SE. sd of a sample SD over n draws ≈ SE·√((κ − 1)/(4n)); U is near normal (κ ≈ 3), so
    // ≈ 2.9% at n = 600: within 15% is over 5 of those
    const rng = uniformStream(9, 'subset-mc');
    for (const c of [cases[0], cases[4]]) {
      const n = 600;
      const perm = Int32Array.from({ length: N }, (_, i) => i);
      let s = 0;
      let s2 = 0;
      for (let r = 0; r < n; r++) {
        for (let i = 0; i < M; i++) {
          const u = Math.min(N - 1 - i, Math.floor(rng() * (N - i)));
          const j = i + u;
          [perm[i], perm[j]] = [perm[j], perm[i]];
        }
        const d = pairMean(c.R, N, perm.subarray(0, M)) - c.theta;
        s += d;
        s2 += d * d;
      }
      const mean = s / n;
      const sd = Math.sqrt(s2 / n - mean * mean);
      expect(Math.abs(sd / c.se - 1), `sd ${sd} se ${c.se}`).toBeLessThan(0.15);
      // unbiased: the mean deviation within 5 standard errors of the mean
      expect(Math.abs(mean)).toBeLessThan((5 * c.se) / Math.sqrt(n));
    }
  }, 120_000);
});
