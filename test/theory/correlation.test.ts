// The correlation-aware rate (theory-notes A.5) against a tiny float64 forward/backward written here:
// Linear → BN → ReLU → Linear, with a given upstream gradient, the BN backward exact or with frozen statistics.
import { describe, expect, test } from 'vitest';
import { normalStream } from '../../src/network/index.js';
import { correlationAwareRate } from '../../src/theory/index.js';

interface Net {
  rateFrozen: number;
  rateExact: number;
  summary: { preVar: Float64Array; colNormSq: Float64Array; dphiSqMean: number; nCur: number; prevRowNormSq: Float64Array };
}

function run(seed: number, n0: number, n1: number, n2: number, B: number, opts: { spike?: number; shared?: number } = {}): Net {
  const rng = normalStream(seed, 'corr-test');
  const eps = 1e-5;
  // inputs: ReLU outputs of Gaussians (as after a previous BN → ReLU), optionally with a shared
  // direction w across units, so that the batch covariance has a dominant eigenvector
  const w = Float64Array.from({ length: n0 }, () => rng());
  const wn = Math.hypot(...w);
  const X = new Float64Array(n0 * B);
  const r = Float64Array.from({ length: B }, () => rng());
  const shared = opts.shared ?? 0;
  for (let i = 0; i < n0; i++)
    for (let b = 0; b < B; b++) {
      const z = rng() + (shared * Math.sqrt(n0) * w[i] * r[b]) / wn;
      X[i * B + b] = Math.max(z, 0);
    }
  const W1 = Float64Array.from({ length: n1 * n0 }, () => rng() * Math.sqrt(2 / n0));
  if (opts.spike) {
    // align every row of W1 partly with w: units then see the dominant input direction
    const a = Float64Array.from({ length: n1 }, () => rng());
    for (let j = 0; j < n1; j++) for (let i = 0; i < n0; i++) W1[j * n0 + i] += (opts.spike * Math.SQRT2 * a[j] * w[i]) / wn;
  }
  const W2 = Float64Array.from({ length: n2 * n1 }, () => rng() * Math.sqrt(2 / n1));
  const h1 = new Float64Array(n1 * B);
  for (let j = 0; j < n1; j++)
    for (let i = 0; i < n0; i++) {
      const wji = W1[j * n0 + i];
      for (let b = 0; b < B; b++) h1[j * B + b] += wji * X[i * B + b];
    }
  const zhat = new Float64Array(n1 * B);
  const sig = new Float64Array(n1);
  const preVar = new Float64Array(n1);
  const a1 = new Float64Array(n1 * B);
  const d1 = new Float64Array(n1 * B);
  let dsq = 0;
  for (let j = 0; j < n1; j++) {
    let m = 0;
    for (let b = 0; b < B; b++) m += h1[j * B + b];
    m /= B;
    let v = 0;
    for (let b = 0; b < B; b++) v += (h1[j * B + b] - m) ** 2;
    v /= B;
    preVar[j] = v + eps;
    sig[j] = Math.sqrt(v + eps);
    for (let b = 0; b < B; b++) {
      const z = (h1[j * B + b] - m) / sig[j];
      zhat[j * B + b] = z;
      a1[j * B + b] = Math.max(z, 0);
      d1[j * B + b] = z > 0 ? 1 : 0;
      dsq += d1[j * B + b];
    }
  }
  // upstream gradient at h2: i.i.d., centred per unit over the batch (as below a BatchNorm)
  const g2 = new Float64Array(n2 * B);
  let g2sq = 0;
  for (let k = 0; k < n2; k++) {
    let m = 0;
    for (let b = 0; b < B; b++) m += g2[k * B + b] = rng();
    m /= B;
    for (let b = 0; b < B; b++) {
      g2[k * B + b] -= m;
      g2sq += g2[k * B + b] ** 2;
    }
  }
  const ga = new Float64Array(n1 * B);
  for (let k = 0; k < n2; k++)
    for (let j = 0; j < n1; j++) {
      const wkj = W2[k * n1 + j];
      for (let b = 0; b < B; b++) ga[j * B + b] += wkj * g2[k * B + b];
    }
  let frozen = 0;
  let exact = 0;
  for (let j = 0; j < n1; j++) {
    let mg = 0;
    let mgz = 0;
    for (let b = 0; b < B; b++) {
      const gz = d1[j * B + b] * ga[j * B + b];
      mg += gz;
      mgz += gz * zhat[j * B + b];
    }
    mg /= B;
    mgz /= B;
    for (let b = 0; b < B; b++) {
      const gz = d1[j * B + b] * ga[j * B + b];
      frozen += (gz / sig[j]) ** 2;
      exact += ((gz - mg - zhat[j * B + b] * mgz) / sig[j]) ** 2;
    }
  }
  const colNormSq = new Float64Array(n1);
  for (let k = 0; k < n2; k++) for (let j = 0; j < n1; j++) colNormSq[j] += W2[k * n1 + j] ** 2;
  const prevRowNormSq = new Float64Array(n1);
  for (let j = 0; j < n1; j++) for (let i = 0; i < n0; i++) prevRowNormSq[j] += W1[j * n0 + i] ** 2;
  void a1;
  return {
    rateFrozen: frozen / g2sq,
    rateExact: exact / g2sq,
    summary: { preVar, colNormSq, dphiSqMean: dsq / (n1 * B), nCur: n2, prevRowNormSq },
  };
}

describe('correlationAwareRate (A.5) against a sampled layer', () => {
  // Relative Monte Carlo error of the frozen-statistics ratio ≈ √(Var φ′²/E² φ′² / (n1 B)) ≈ 0.4% for
  // n1 = B = 256 (ReLU: Var/E² = 1); the exact BN backward also removes the batch mean and the ẑ
  // direction, ≈ 2/B lower. Tolerances: 3% (≈ 7 s.e.), plus 3/B for the exact backward.
  const n = 256;
  const B = 256;
  test('at initialisation: rate ≈ measured ratio ≈ λ∞ = π/(π−1), Ω_W ≈ 1, A_corr ≈ 1', () => {
    const net = run(3, n, n, n, B);
    const p = correlationAwareRate(net.summary, 'relu', { gamma: 1, beta: 0 });
    expect(p.lambdaInf).toBeCloseTo(Math.PI / (Math.PI - 1), 12);
    expect(Math.abs(p.aCorr - 1)).toBeLessThan(0.05);
    expect(Math.abs(net.rateFrozen / p.lambdaInf - 1)).toBeLessThan(0.06);
    expect(Math.abs(p.rate / net.rateFrozen - 1)).toBeLessThan(0.03);
    expect(Math.abs(p.rate / net.rateExact - 1)).toBeLessThan(0.03 + 3 / B);
    expect(p.rate).toBeCloseTo(p.lambdaInf * p.omegaW * p.aCorr, 12);
    // weights at init: (n1/n2)·mean‖W2[:,j]‖² / mean‖W1[j,:]‖² = 2/2 up to O(1/√(n²)) sampling error
    expect(Math.abs(p.omegaW - 1)).toBeLessThan(0.03);
  });
  test('weights aligned with the dominant input direction: A_corr < 1 and the rate still tracks the measurement', () => {
    const base = run(5, n, n, n, B, { shared: 0.5 });
    const net = run(5, n, n, n, B, { shared: 0.5, spike: 1 });
    const p = correlationAwareRate(net.summary, 'relu');
    expect(net.rateFrozen).toBeLessThan(0.8 * base.rateFrozen);
    const pBase = correlationAwareRate(base.summary, 'relu');
    // the alignment shows up in A_corr (Ω_W separates the row-norm growth of W1)
    expect(p.aCorr).toBeLessThan(0.8 * pBase.aCorr);
    // and the predicted drop matches the measured drop
    expect(Math.abs(p.rate / pBase.rate / (net.rateFrozen / base.rateFrozen) - 1)).toBeLessThan(0.05);
    expect(Math.abs(p.rate / net.rateFrozen - 1)).toBeLessThan(0.03);
    expect(Math.abs(p.rate / net.rateExact - 1)).toBeLessThan(0.03 + 3 / B);
    // without the previous layer's row norms the decomposition still multiplies out to the same rate
    const q = correlationAwareRate({ ...net.summary, prevRowNormSq: undefined }, 'relu');
    expect(q.rate).toBeCloseTo(p.rate, 12);
    expect(q.lambdaInf * q.omegaW * q.aCorr).toBeCloseTo(q.rate, 12);
  });
  test('bad input names the field, the value and what is allowed', () => {
    const s = { preVar: [1, 2], colNormSq: [1], dphiSqMean: 0.5, nCur: 2 };
    expect(() => correlationAwareRate(s, 'relu')).toThrow(/colNormSq: length 1 is not allowed; expected n_\{l−1\} = 2/);
    expect(() => correlationAwareRate({ ...s, colNormSq: [1, 1], preVar: [1, 0] }, 'relu')).toThrow(
      /preVar\[1\]: 0 is not allowed; expected a finite number > 0/,
    );
  });
});
