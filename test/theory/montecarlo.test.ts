// Monte Carlo cross-checks with plain sampled Gaussians (the spec's seeded normal stream), not theory code.
// Tolerances are Z_MC standard errors of the Monte Carlo estimate, computed from the samples themselves
// (expectAgrees, the rule of compare and reproduce, with no tolerance beyond the band).
import { describe, test } from 'vitest';
import { normalStream } from '../../src/network/index.js';
import { bnGradientRate, cMap, qMap } from '../../src/theory/index.js';
import { expectAgrees, expectExcludes, expectResolves } from '../helpers/agreement.js';

// Standard errors allowed, above the default AGREEMENT_Z = 2: 8 checks (4 per activation), each a mean of 6e4–4e5
// draws and so normal, but three of the SEs are first-order delta-method ones for a ratio (the λ∞ one leaves out
// the numerator–variance covariance, the c-map one adds relative errors linearly). At 5σ a correct
// implementation fails with probability 8 × 5.7e-7 ≈ 5e-6, and still 8 × 6.3e-5 ≈ 5e-4 were those SEs 25% too
// small (5σ is then 4σ); z = 2 would give 1 − 0.954^8 ≈ 31%. The cost in power is small: expectResolves checks 5·se is below 2% of the
// value (measured 0.4–1.8%), 4% for the c-map (1.5–3.1%).
const Z_MC = 5;

const ACTS = {
  relu: { phi: (x: number) => Math.max(x, 0), dphi: (x: number) => (x > 0 ? 1 : 0) },
  tanh: { phi: Math.tanh, dphi: (x: number) => 1 - Math.tanh(x) ** 2 },
};

function meanSe(xs: Float64Array): { mean: number; se: number } {
  let m = 0;
  for (const x of xs) m += x;
  m /= xs.length;
  let v = 0;
  for (const x of xs) v += (x - m) ** 2;
  return { mean: m, se: Math.sqrt(v / (xs.length - 1) / xs.length) };
}

describe.each(Object.entries(ACTS))('Monte Carlo, %s', (name, { phi, dphi }) => {
  test('λ(B = 8) of Linear-BN-φ: batch-normalised Gaussian batches, Thm 7 bracket and denominator', () => {
    // Draw h ~ N(0, I_B), BN-normalise (x = √B·Gh/‖Gh‖), and estimate the numerator and denominator of
    // Thm 7 per draw; the rate is their ratio (delta-method standard error from per-draw pairs).
    const B = 8;
    const N = 60000;
    const rng = normalStream(7, 'mc-bn', name);
    const num = new Float64Array(N);
    const den = new Float64Array(N);
    const h = new Float64Array(B);
    for (let s = 0; s < N; s++) {
      let mean = 0;
      for (let i = 0; i < B; i++) mean += h[i] = rng();
      mean /= B;
      let ss = 0;
      for (let i = 0; i < B; i++) ss += (h[i] - mean) ** 2;
      const sc = Math.sqrt(B / ss);
      const x = Array.from(h, (v) => (v - mean) * sc);
      // average over all ordered pairs (i ≠ j) of this draw: unbiased for the pair expectations
      let a = 0;
      let d = 0;
      for (let i = 0; i < B; i++) {
        const di = dphi(x[i]);
        a += (B - 1 - x[i] * x[i]) * di * di;
        d += phi(x[i]) ** 2;
      }
      a /= B;
      d /= B;
      let pa = 0;
      let pd = 0;
      for (let i = 0; i < B; i++)
        for (let j = 0; j < B; j++)
          if (i !== j) {
            pa += (1 + x[i] * x[j]) * dphi(x[i]) * dphi(x[j]);
            pd += phi(x[i]) * phi(x[j]);
          }
      num[s] = a + pa / (B * (B - 1));
      den[s] = d - pd / (B * (B - 1));
    }
    const n = meanSe(num);
    const dd = meanSe(den);
    const rate = n.mean / ((B - 3) * dd.mean);
    // delta method: Var(N/D) ≈ (1/D²)Var N + (N²/D⁴) Var D − 2 (N/D³) Cov(N, D)
    let cov = 0;
    for (let s = 0; s < N; s++) cov += (num[s] - n.mean) * (den[s] - dd.mean);
    cov /= (N - 1) * N;
    const se =
      Math.sqrt(n.se ** 2 / dd.mean ** 2 + (n.mean ** 2 * dd.se ** 2) / dd.mean ** 4 - (2 * n.mean * cov) / dd.mean ** 3) / (B - 3);
    const opts = { relTol: 0, se, z: Z_MC };
    const want = bnGradientRate(name, B);
    expectResolves(opts, want, 0.02 * want);
    expectAgrees(want, rate, opts, 'Monte Carlo λ(8)');
    // power: the batch size matters, the large-batch rate would fail
    expectExcludes(bnGradientRate(name, null), rate, opts, 'the large-batch rate');
  });
  test('large-batch λ∞ = E φ′(z)²/Var φ(z) and the no-BN q- and c-maps', () => {
    const N = 400000;
    const rng = normalStream(11, 'mc-gauss', name);
    const d2 = new Float64Array(N);
    const f = new Float64Array(N);
    const f2 = new Float64Array(N);
    const ff = new Float64Array(N);
    const q = 1.7;
    const c = 0.4;
    for (let s = 0; s < N; s++) {
      const z = rng();
      d2[s] = dphi(z) ** 2;
      f[s] = phi(z);
      const u1 = Math.sqrt(q) * rng();
      const u2 = Math.sqrt(q) * (c * (u1 / Math.sqrt(q)) + Math.sqrt(1 - c * c) * rng());
      f2[s] = phi(u1) ** 2;
      ff[s] = phi(u1) * phi(u2);
    }
    const D = meanSe(d2);
    const M = meanSe(f);
    let v = 0;
    for (const x of f) v += (x - M.mean) ** 2;
    v /= N - 1;
    const lam = D.mean / v;
    // standard error of the ratio, conservatively from the relative errors of numerator and Var (4th moment)
    let m4 = 0;
    for (const x of f) m4 += (x - M.mean) ** 4;
    m4 /= N;
    const seVar = Math.sqrt((m4 - v * v) / N);
    const seLam = lam * Math.sqrt((D.se / D.mean) ** 2 + (seVar / v) ** 2);
    const lamWant = bnGradientRate(name, null);
    const optsLam = { relTol: 0, se: seLam, z: Z_MC };
    expectResolves(optsLam, lamWant, 0.02 * lamWant);
    expectAgrees(lamWant, lam, optsLam, 'Monte Carlo λ∞');
    const w = 1.3;
    const b = 0.2;
    const Q = meanSe(f2);
    const qWant = qMap(name, w, b, q);
    const optsQ = { relTol: 0, se: w * Q.se, z: Z_MC };
    expectResolves(optsQ, qWant, 0.02 * qWant);
    expectAgrees(qWant, w * Q.mean + b, optsQ, 'Monte Carlo q-map');
    // power: σ_b² is added once, not left out
    expectExcludes(qWant - b, w * Q.mean + b, optsQ, 'the q-map without σ_b²');
    const P = meanSe(ff);
    const cTheory = cMap(name, w, b, q, c);
    const cMc = (w * P.mean + b) / (w * Q.mean + b);
    const optsC = { relTol: 0, se: (w * P.se) / (w * Q.mean + b) + (cMc * w * Q.se) / (w * Q.mean + b), z: Z_MC };
    expectResolves(optsC, cTheory, 0.04 * cTheory);
    expectAgrees(cTheory, cMc, optsC, 'Monte Carlo c-map');
  });
});
