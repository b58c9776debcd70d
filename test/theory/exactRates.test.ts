// Exact finite-B rates (issue 11, items 3–4): Linear → BN → φ with ε > 0 over the law of the per-unit batch
// variance (bnEpsFixedPoint), and Linear → φ → BN at its symmetric fixed point (actBnGradientRate). Each value
// is checked against something independent: the ε = 0 theorems, the auditor's separate implementation
// (theory-audit.md), a Monte Carlo of the unreduced matrix expression with the BN Jacobian by finite
// differences, the other ordering (the two coincide for φ = identity), and sampled networks. Sampled-net
// tolerances: 3 standard errors over seeds plus a finite-width allowance B/(2N) (the O(B/N) correction the
// audit derives for linear BN under gradient independence, (B−2)(B+1)/(2BN) ≈ B/(2N)); each check also
// requires 3·se small enough that the band excludes the old approximate value. The checks use the agreement rule
// of compare and reproduce (expectAgrees) at z = Z_FAMILY.
import { beforeAll, describe, expect, test } from 'vitest';
import { makeSpec, normalStream, parseActivation } from '../../src/network/index.js';
import { summarize } from '../../src/records/index.js';
import { actBnGradientRate } from '../../src/theory/actBnFinite.js';
import {
  bnEpsFixedPoint,
  bnEpsLayer,
  bnGradientRate,
  chiSquareRule,
  effectiveGamma,
  largeBatchRate,
  rateFromMoments,
  reluRateYang,
  sphereMoments,
  stationaryActBnGrowth,
} from '../../src/theory/index.js';
import { lgamma } from '../../src/network/index.js';
import { forwardBackward, growthEstimate, type LayerStats } from '../../src/sample/index.js';
import { fastGaussianNetwork } from '../sample/fastDraws.js';
import { expectAgrees, expectResolves } from '../helpers/agreement.js';

// Standard errors allowed by every agreement check here, above the default AGREEMENT_Z = 2: the file makes 19
// (6 Monte Carlo, 2 identity, 4 against the auditor, 7 sampled nets), and two-sided 3σ keeps the family-wise
// false alarm of a correct implementation at 1 − (1 − 0.0027)^19 ≈ 5% (z = 2 would give 1 − 0.954^19 ≈ 59%).
// The Monte Carlo means (M ≥ 2e4 draws, actBnGradientRate's normals) are normal; the sampled nets' SEs are over
// 3–24 seeds, where the t tail at 3 is wider (t₄, 5 seeds: 4%; t₂, 3 seeds: 9.5%), but those checks carry the
// finite-width allowance B/(2N) on top.
const Z_FAMILY = 3;

describe('χ² rule in ln X', () => {
  test.each([1, 5, 29, 1000, 1e6])('moments E X^p = 2^p Γ(k/2+p)/Γ(k/2) for k = %d', (k) => {
    const r = chiSquareRule(k);
    const E = (f: (x: number) => number) => r.weights.reduce((a, w, i) => a + w * f(r.nodes[i]), 0);
    const exact = (p: number) => Math.exp(p * Math.LN2 + lgamma(k / 2 + p) - lgamma(k / 2));
    for (const p of [1, 2, 3]) expect(Math.abs(E((x) => x ** p) / exact(p) - 1)).toBeLessThan(2e-9);
    if (k > 2) expect(Math.abs(E((x) => 1 / x) / exact(-1) - 1)).toBeLessThan(2e-9);
    // a function with a pole just left of 0, where Gauss–Laguerre converges slowly: E X/(X+δ) = 1 − δE[1/(X+δ)]
    if (k > 2) expect(Math.abs(1 - E((x) => x / (x + 1e-6)) - 1e-6 * E((x) => 1 / (x + 1e-6)))).toBeLessThan(1e-13);
  });
});

describe('Linear → BN → φ with ε > 0: bnEpsFixedPoint', () => {
  test('tends to Thm 8 (ReLU) and Thm 7 (tanh, γ, β) as ε → 0, through the ε > 0 path', () => {
    for (const B of [8, 32, 256]) expect(Math.abs(bnEpsFixedPoint('relu', B, { eps: 1e-12 }).rate - reluRateYang(B))).toBeLessThan(1e-9);
    // B = 4: X ~ χ²_3 has density ∝ √X at 0, so E[1/(X+δ)] − E[1/X] ∝ −√δ: the approach is like √ε, not ε
    const drop = (eps: number) => reluRateYang(4) - bnEpsFixedPoint('relu', 4, { eps }).rate;
    expect(drop(1e-12)).toBeGreaterThan(0);
    expect(Math.abs(drop(1e-8) / drop(1e-12) / 100 - 1)).toBeLessThan(2e-3);
    for (const B of [5, 16, 64]) {
      const bn = { gamma: 1.3, beta: 0.2 };
      expect(Math.abs(bnEpsFixedPoint('tanh', B, { ...bn, eps: 1e-12 }).rate - bnGradientRate('tanh', B, { ...bn, eps: 0 }))).toBeLessThan(
        1e-9,
      );
    }
  });
  test('depends on σ_w² only through ε/σ_w²', () => {
    const a = bnEpsFixedPoint('tanh', 16, { eps: 0.2, beta: 0.3 }, { sigmaW2: 2 });
    const b = bnEpsFixedPoint('tanh', 16, { eps: 0.1, beta: 0.3 }, { sigmaW2: 1 });
    expect(a.rate).toBeCloseTo(b.rate, 12);
    expect(a.kappaMean).toBeCloseTo(b.kappaMean, 12);
    expect(a.preactVar / 2).toBeCloseTo(b.preactVar, 12);
  });
  test.each([
    [32, 0.1, 1.50588],
    [32, 0.5, 1.4654],
    [8, 0.5, 1.45003],
  ])("ReLU B = %i, ε = %f, σ_w² = 2: the auditor's separate exact value %f (5 decimals)", (B, eps, v) => {
    expect(Math.abs(bnGradientRate('relu', B, { eps }, { sigmaW2: 2 }) - v)).toBeLessThan(6e-6);
  });
  test('large B tends to the self-averaging large-batch value with an O(1/B) gap', () => {
    for (const a of ['relu', 'tanh'] as const) {
      const bn = { eps: 0.5, beta: a === 'tanh' ? 0.2 : 0 };
      const lim = bnGradientRate(a, null, bn, { sigmaW2: 2 });
      let prev = Number.POSITIVE_INFINITY;
      for (const B of [1e3, 1e4, 1e5]) {
        const gap = Math.abs(bnEpsFixedPoint(a, B, bn, { sigmaW2: 2 }).rate - lim);
        expect(gap).toBeLessThan(1 / B);
        expect(gap).toBeLessThan(prev);
        prev = gap;
      }
    }
  });
  test('bnEpsLayer (the per-layer block for predict), iterated to its fixed point, gives the same state and rate', () => {
    for (const [act, B, bn] of [
      ['relu', 8, { gamma: 1, beta: 0, eps: 0.5 }],
      ['tanh', 16, { gamma: 1.2, beta: 0.1, eps: 0.2 }],
    ] as const) {
      const sw = 2;
      let Vh = 1;
      for (let l = 0; l < 400; l++) {
        const m = bnEpsLayer(act, B, bn, Vh);
        Vh = sw * (m.m2 - m.pair);
      }
      const m = bnEpsLayer(act, B, bn, Vh);
      const fp = bnEpsFixedPoint(act, B, bn, { sigmaW2: sw });
      expect(Vh / sw).toBeCloseTo(fp.s, 12);
      expect(m.kappaMean).toBeCloseTo(fp.kappaMean, 12);
      expect((sw * ((B - 1) * m.S1 + m.S2 - m.T1 + m.T2)) / ((B - 3) * Vh)).toBeCloseTo(fp.rate, 10);
    }
  });
  test('the Chebyshev interpolation in κ (kinked φ, β ≠ 0) has converged', () => {
    const a = bnEpsFixedPoint('relu', 8, { eps: 0.5, beta: 0.5, gamma: 1.3 }, { sigmaW2: 2, chebyshev: 24 });
    const b = bnEpsFixedPoint('relu', 8, { eps: 0.5, beta: 0.5, gamma: 1.3 }, { sigmaW2: 2, chebyshev: 36 });
    expect(Math.abs(a.rate - b.rate)).toBeLessThan(1e-8);
    expect(Math.abs(a.s - b.s)).toBeLessThan(1e-9);
  });

  // An independent Monte Carlo of the unreduced model at the computed s: h = √(σ_w² s)·Gz (so v = σ_w² s‖Gz‖²/B
  // and n uniform), the BN map x(h) = γ(h − h̄)/√(v̂+ε) + β, its Jacobian J by central differences, and
  // λ = σ_w² E tr(J D G D Jᵀ)/(B−1) (gradient independence, incoming Π = G); forward, s = E‖Gφ(x)‖²/(B−1).
  const matrixMc = (act: string, B: number, bn: { gamma: number; beta: number; eps: number }, sw: number, s: number, M: number) => {
    const f = parseActivation(act);
    const rng = normalStream(7, 'exactRates-mc', act, B);
    const bnMap = (h: Float64Array, out: Float64Array) => {
      let m = 0;
      for (let i = 0; i < B; i++) m += h[i];
      m /= B;
      let v = 0;
      for (let i = 0; i < B; i++) v += (h[i] - m) ** 2;
      v /= B;
      for (let i = 0; i < B; i++) out[i] = (bn.gamma * (h[i] - m)) / Math.sqrt(v + bn.eps) + bn.beta;
    };
    const h = new Float64Array(B);
    const x = new Float64Array(B);
    const xp = new Float64Array(B);
    const xm = new Float64Array(B);
    const J = new Float64Array(B * B); // J[a*B+b] = ∂x_a/∂h_b
    const lam: number[] = [];
    const sv: number[] = [];
    for (let k = 0; k < M; k++) {
      let zb = 0;
      for (let i = 0; i < B; i++) {
        h[i] = rng();
        zb += h[i];
      }
      zb /= B;
      for (let i = 0; i < B; i++) h[i] = Math.sqrt(sw * s) * (h[i] - zb);
      bnMap(h, x);
      let ys = 0;
      let yy = 0;
      for (let i = 0; i < B; i++) {
        const y = f.phi(x[i]);
        ys += y;
        yy += y * y;
      }
      sv.push((yy - (ys * ys) / B) / (B - 1));
      let scale = 0;
      for (let i = 0; i < B; i++) scale = Math.max(scale, Math.abs(h[i]));
      const dh = 1e-5 * scale;
      for (let b = 0; b < B; b++) {
        const hb = h[b];
        h[b] = hb + dh;
        bnMap(h, xp);
        h[b] = hb - dh;
        bnMap(h, xm);
        h[b] = hb;
        for (let a = 0; a < B; a++) J[a * B + b] = (xp[a] - xm[a]) / (2 * dh);
      }
      // A = J·D... the backward map is g_h = Jᵀ D g_y; tr(Jᵀ D G D J) = Σ_b [Σ_a (DJ)_ab² − (Σ_a (DJ)_ab)²/B]
      let tr = 0;
      for (let b = 0; b < B; b++) {
        let sq = 0;
        let sum = 0;
        for (let a = 0; a < B; a++) {
          const e = f.dphi(x[a]) * J[a * B + b];
          sq += e * e;
          sum += e;
        }
        tr += sq - (sum * sum) / B;
      }
      lam.push((sw * tr) / (B - 1));
    }
    return { lam: summarize(lam), s: summarize(sv) };
  };
  test.each([
    ['relu', 8, { gamma: 1, beta: 0, eps: 0.5 }, 40000],
    ['relu', 32, { gamma: 1, beta: 0, eps: 0.1 }, 20000],
    ['tanh', 8, { gamma: 1.4, beta: 0.3, eps: 0.3 }, 60000],
  ] as const)('%s B = %i %o: rate and s equal a Monte Carlo of the unreduced model (finite-difference Jacobian)', (act, B, bn, M) => {
    const sw = 2;
    const fp = bnEpsFixedPoint(act, B, bn, { sigmaW2: sw });
    const mc = matrixMc(act, B, bn, sw, fp.s, M);
    const seL = mc.lam.sd / Math.sqrt(M);
    const seS = mc.s.sd / Math.sqrt(M);
    // power: z·se is below 1%, and the self-averaging value (effectiveGamma) lies outside the band by another z·se
    const old = rateFromMoments(sphereMoments(parseActivation(act), effectiveGamma(act, B, bn, { sigmaW2: sw }).gammaEff, bn.beta, B));
    const optsL = { relTol: 0, se: seL, z: Z_FAMILY };
    expectResolves(optsL, fp.rate, 0.01 * fp.rate);
    const lam = expectAgrees(fp.rate, mc.lam.mean, optsL, 'Monte Carlo rate');
    expect(Math.abs(old - fp.rate)).toBeGreaterThan(2 * lam.band);
    const optsS = { relTol: 0, se: seS, z: Z_FAMILY };
    expectResolves(optsS, fp.s, 0.01 * fp.s);
    expectAgrees(fp.s, mc.s.mean, optsS, 'Monte Carlo s');
  });
});

describe('Linear → φ → BN at finite B: actBnGradientRate', () => {
  test.each([4, 8, 100])('identity gives (B−2)/(B−3) exactly (zero Monte Carlo variance), B = %i', (B) => {
    const r = actBnGradientRate('identity', B, { eps: 0 });
    expect(r.rate).toBeCloseTo((B - 2) / (B - 3), 10);
    expect(r.se).toBeLessThan(1e-12);
  });
  test('identity with ε, γ, β, σ_b²: equals the other ordering (Linear → BN → identity is the same network)', () => {
    // homogeneous path (β = σ_b² = 0): no Monte Carlo error at all
    const a = actBnGradientRate('identity', 32, { eps: 0.5 }, { sigmaW2: 2 });
    const b = bnEpsFixedPoint('identity', 32, { eps: 0.5 }, { sigmaW2: 2 });
    expect(a.rate).toBeCloseTo(b.rate, 9);
    expect(a.kappaMean).toBeCloseTo(b.kappaMean, 9);
    // with a mean (β, σ_b²): Monte Carlo over the mean and direction, within Z_FAMILY se
    for (const [B, bn, sb] of [
      [8, { eps: 0.3, gamma: 1.5, beta: 0.4 }, 0.2],
      [6, { eps: 0.1, gamma: 0.7, beta: -1 }, 1],
    ] as const) {
      const m = actBnGradientRate('identity', B, bn, { sigmaW2: 2, sigmaB2: sb });
      const e = bnEpsFixedPoint('identity', B, bn, { sigmaW2: 2 });
      const opts = { relTol: 0, se: m.se, z: Z_FAMILY };
      expectResolves(opts, e.rate, 0.01 * e.rate);
      expectAgrees(e.rate, m.rate, opts, 'Monte Carlo rate (identity, with a mean)');
      expect(Math.abs(m.kappaMean - e.kappaMean)).toBeLessThan(1e-3);
    }
  });
  test.each([
    [8, 2.0098, 0.002],
    [16, 1.678, 0.001],
    [32, 1.5618, 0.0007],
    [128, 1.4888, 0.0003],
  ])("ReLU B = %i: the auditor's separate exact-GIA value %f ± %f, and se ≤ 1e-3 relative", (B, v, seA) => {
    const r = actBnGradientRate('relu', B, { eps: 1e-5 });
    expect(r.se).toBeLessThan(1e-3 * r.rate);
    expectAgrees(v, r.rate, { relTol: 0, se: Math.hypot(r.se, seA), z: Z_FAMILY }, 'actBnGradientRate');
  });
  test('large B: tends to the large-batch leading order π/(π−1), the gap O(1/B)', () => {
    const lim = largeBatchRate('relu', {}, { order: 'linear-act-bn', sigmaW2: 2 });
    expect(lim).toBeCloseTo(Math.PI / (Math.PI - 1), 12);
    for (const B of [512, 1024]) {
      const r = actBnGradientRate('relu', B, { eps: 0 }, { normals: 3e6 });
      const lead = stationaryActBnGrowth(parseActivation('relu'), makeSpec({ depth: 4, batch: B, order: 'linear-act-bn', bn: { eps: 0 } }));
      expect(Z_FAMILY * r.se).toBeLessThan(1.5 / B);
      // λ(B) − λ∞ ≈ 3/B (measured 2.8–3.2 over B = 128 … 2048); the old 1/(B−1) term gives ≈ 2.2/B
      expect(r.rate - lim).toBeGreaterThan(1.5 / B);
      expect(r.rate - lim).toBeLessThan(5 / B);
      expect(Math.abs(r.rate - lead)).toBeLessThan(2 / B);
    }
  });
});

describe('sampled networks (float64 sampler, readout loss for Linear → BN → φ, mse for Linear → φ → BN)', () => {
  const eN = 1024;
  const eD = 36;
  const eInterior: [number, number] = [16, eD - 3]; // the forward state relaxes to the ε fixed point in ~10 layers
  const eCases = [
    { B: 8, eps: 0.1 },
    { B: 8, eps: 0.5 },
    { B: 32, eps: 0.5 },
  ] as const;
  // seeds per case: the per-seed sd of the interior growth is ≈ 0.012–0.015 at B = 8 and ≈ 0.005 at B = 32 (30 seeds,
  // ε = 0.1, MT19937 and Philox inputs), so 3·se ≈ 0.04/√n at B = 8: 16 seeds put it at 0.6 of the 1% the check must
  // resolve (with 5 it sat at that bound and passed or failed by the draw)
  const eSeeds = [16, 16, 5] as const;
  const aN = 512;
  const aD = 24;
  const aCases = [8, 16, 32] as const;
  // per-seed sd of the interior growth ≈ 0.033, 0.011, 0.006 at B = 8, 16, 32 (depth 24). At B = 8, 24 seeds put
  // 3·se at 0.0202 against the 1% (0.0201) it must resolve, so the draw decided; 64 seeds put it at 0.0124 (0.6 of it)
  const aSeeds = { 8: 64, 16: 6, 32: 5 } as const;
  const eRes: LayerStats[][] = eCases.map(() => []);
  const aRes: LayerStats[][] = aCases.map(() => []);
  beforeAll(() => {
    const eBase = makeSpec({ depth: eD, width: eN, batch: 8 });
    for (let k = 1; k <= Math.max(...eSeeds); k++) {
      const params = fastGaussianNetwork(eBase, 500 + k);
      eCases.forEach((c, i) => {
        if (k <= eSeeds[i])
          eRes[i].push(forwardBackward(makeSpec({ depth: eD, width: eN, batch: c.B, bn: { eps: c.eps } }), k, { params }));
      });
    }
    const aBase = makeSpec({ depth: aD, width: aN, batch: 8, order: 'linear-act-bn' });
    for (let k = 1; k <= aSeeds[8]; k++) {
      const params = fastGaussianNetwork(aBase, 700 + k);
      aCases.forEach((B, i) => {
        if (k <= aSeeds[B])
          aRes[i].push(forwardBackward(makeSpec({ depth: aD, width: aN, batch: B, order: 'linear-act-bn' }), k, { params }));
      });
    }
    // a guard against a hang, not a speed check: 16 + 64 seeds of depth 24–36 nets take 1–3 min on 2 loaded cores
  }, 600_000);
  eCases.forEach((c, i) => {
    test(`Linear-BN-ReLU B = ${c.B}, ε = ${c.eps}, σ_w² = 2, width ${eN}: the exact rate, not the self-averaging one`, () => {
      const { growth, se } = growthEstimate(eRes[i], eInterior);
      const lam = bnGradientRate('relu', c.B, { eps: c.eps }, { sigmaW2: 2 });
      const old = reluRateYang(c.B); // what the toolkit gave before (Thm 8 short-circuit)
      const opts = { relTol: c.B / (2 * eN), se, z: Z_FAMILY };
      expectResolves({ relTol: 0, se, z: Z_FAMILY }, lam, 0.01 * lam);
      const a = expectAgrees(lam, growth, opts, 'sampled growth');
      // the check can tell the two apart: the old value lies outside the band by another z·se
      expect(Math.abs(old - lam)).toBeGreaterThan(a.tolerance + 2 * a.band);
    });
  });
  aCases.forEach((B, i) => {
    test(`Linear-ReLU-BN B = ${B}, width ${aN}: the exact GIA rate at the fixed point`, () => {
      const { growth, se } = growthEstimate(aRes[i], [4, aD - 3]);
      const r = actBnGradientRate('relu', B, makeSpec({ depth: aD, batch: B, order: 'linear-act-bn' }).bn);
      expectResolves({ relTol: 0, se, z: Z_FAMILY }, r.rate, 0.01 * r.rate);
      const a = expectAgrees(r.rate, growth, { relTol: B / (2 * aN), se: Math.hypot(se, r.se), z: Z_FAMILY }, 'sampled growth');
      // the old leading order is 11% and 3.7% low at B = 8 and 16, outside the band; at B = 32 (1.5%) the
      // width-512 allowance is too wide to tell them apart, so there the check is of the exact value only
      const old = stationaryActBnGrowth(parseActivation('relu'), makeSpec({ depth: aD, batch: B, order: 'linear-act-bn' }));
      if (B <= 16) expect(Math.abs(old - r.rate)).toBeGreaterThan(a.tolerance + a.band + Z_FAMILY * se);
    });
  });

  test('Linear-ReLU-BN B = 128, width 2048: the exact GIA rate at the fixed point (the large-B regime)', () => {
    // B = 128 needs a wide net: the finite-width allowance B/(2N) is 3.1% at N = 2048. The exact and the old rate
    // differ by 0.3% here, so this checks the exact value (and its approach to the large-batch limit), not the change.
    const N = 2048;
    const D = 16;
    const spec = makeSpec({ depth: D, width: N, batch: 128, order: 'linear-act-bn' });
    const all: LayerStats[] = [];
    for (let k = 1; k <= 3; k++) all.push(forwardBackward(spec, k, { params: fastGaussianNetwork(spec, 900 + k) }));
    const { growth, se } = growthEstimate(all, [4, D - 3]);
    const r = actBnGradientRate('relu', 128, spec.bn);
    expectResolves({ relTol: 0, se, z: Z_FAMILY }, r.rate, 0.01 * r.rate);
    const a = expectAgrees(r.rate, growth, { relTol: 128 / (2 * N), se: Math.hypot(se, r.se), z: Z_FAMILY }, 'sampled growth');
    // and the check is not vacuous: five times the band excludes no explosion (rate 1)
    expect(Math.abs(growth - 1)).toBeGreaterThan(5 * (a.tolerance + a.band));
  }, 120_000);
});
