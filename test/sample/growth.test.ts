// Monte Carlo checks of sampled networks against closed forms: Yang et al.'s gradient-explosion rate
// λ(B) for Linear-BN-ReLU, stability of plain ReLU nets with He init, and the forward statistics.
// Each check uses fixed seeds; its tolerance is the allowed systematic gap plus Z_FAMILY standard errors
// from the spread over seeds (expectAgrees, the rule of compare and reproduce), and the standard error itself
// is bounded so that the check has power (expectResolves).
import { beforeAll, describe, expect, it } from 'vitest';
import { lgamma, makeSpec } from '../../src/network/index.js';
import { summarize } from '../../src/records/index.js';
import { forwardBackward, growthEstimate, interiorLayers, type LayerStats } from '../../src/sample/index.js';
import { bnGradientRate } from '../../src/theory/index.js';
import { expectAgrees, expectResolves } from '../helpers/agreement.js';
import { fastGaussianNetwork } from './fastDraws.js';

// Standard errors allowed on top of each systematic allowance, above the default AGREEMENT_Z = 2: 9 checks
// here (3 BN rates, 2 plain nets, 4 forward statistics), and two-sided 3σ keeps the family-wise false alarm at
// 1 − (1 − 0.0027)^9 ≈ 2.4% (z = 2: 1 − 0.954^9 ≈ 34%). The SEs are over 3–24 seeds; with 3 seeds (t₂) the
// tail at 3 is 9.5%, which the systematic allowance (0.5–1.5%) on top of the band covers in practice.
const Z_FAMILY = 3;

// Yang et al. 2019, Thm 8 (α = 1), evaluated in theory-notes C.1; the theory room's bnGradientRate
// must reproduce them, and the sampled nets are checked against it.
const YANG: Record<number, number> = { 8: 1.78819, 32: 1.52195, 128: 1.47968 };
// the nets' ε = 1e-5 and σ_w² = 2 (ε enters the exact rate through ε/σ_w²; at B = 8 it lowers λ by 2.5e-5)
const rate = (B: number) => bnGradientRate('relu', B, { eps: 1e-5 }, { sigmaW2: 2 });

const DEPTH = 30;
const WIDTH = 512;
// Seeds per check, sized from the measured seed spread (per-seed sd of the growth ≈ 0.025 at B = 8,
// 0.006 at B = 32, 0.004 at B = 128, 0.008 without BN) so that 3 standard errors stay below 1%.
const SEEDS = { 8: 24, 32: 6, 128: 4, plain: 16 } as const;

// Networks come from fastGaussianNetwork (same distribution as drawNetwork, cheaper to draw); each
// network is used for every batch size and order and then dropped (63 MB each).
const results: Record<string, LayerStats[]> = { 8: [], 32: [], 128: [], plain: [] };
beforeAll(() => {
  const base = makeSpec({ depth: DEPTH, width: WIDTH, batch: 8 });
  const specs = {
    8: base,
    32: makeSpec({ depth: DEPTH, width: WIDTH, batch: 32 }),
    128: makeSpec({ depth: DEPTH, width: WIDTH, batch: 128 }),
    plain: makeSpec({ depth: DEPTH, width: WIDTH, batch: 16, order: 'linear-act' }),
  };
  const max = Math.max(...Object.values(SEEDS));
  for (let k = 1; k <= max; k++) {
    const params = fastGaussianNetwork(base, k);
    for (const key of Object.keys(SEEDS) as (keyof typeof SEEDS)[]) {
      if (k <= SEEDS[key]) results[key].push(forwardBackward(specs[key], k, { params }));
    }
  }
});

describe('gradient growth per layer (width 512, depth 30)', () => {
  for (const B of [8, 32, 128] as const) {
    it(`Linear-BN-ReLU, B = ${B}: within 1.5% of Yang's λ(B) ≈ ${YANG[B]}`, () => {
      const { growth, se } = growthEstimate(results[B], interiorLayers(DEPTH));
      const lambda = rate(B);
      expect(lambda).toBeCloseTo(YANG[B], 4);
      expect(results[B].length).toBe(SEEDS[B]);
      expectResolves({ relTol: 0, se, z: Z_FAMILY }, lambda, 0.01 * lambda); // enough seeds to resolve a 1.5% band
      expectAgrees(lambda, growth, { relTol: 0.015, se, z: Z_FAMILY }, 'sampled growth');
    });
  }
  it('plain ReLU with He init (σ_w² = 2, no BN): within 1% of 1', () => {
    const { growth, se } = growthEstimate(results.plain, interiorLayers(DEPTH));
    expectResolves({ relTol: 0, se, z: Z_FAMILY }, 1, 0.01);
    expectAgrees(1, growth, { relTol: 0.01, se, z: Z_FAMILY }, 'sampled growth');
  });
  it('plain ReLU with σ_w² = 1: the gradient decays by σ_w²/2 = 1/2 per layer', () => {
    const spec = makeSpec({ depth: 20, width: 256, batch: 16, order: 'linear-act', init: { sigmaW2: 1 } });
    const all = [1, 2, 3].map((s) => forwardBackward(spec, s));
    const { growth, se } = growthEstimate(all, interiorLayers(20));
    // power: z·se below 5% of the rate (measured 3.8%: 3 seeds at width 256), so a rate 6% off would fail
    expectResolves({ relTol: 0, se, z: Z_FAMILY }, 0.5, 0.05 * 0.5);
    expectAgrees(0.5, growth, { relTol: 0.01, se, z: Z_FAMILY }, 'sampled growth');
  });
});

// Finite-B forward statistics of BN + ReLU [derived, docs/sampling.md]: the BN output of a unit is
// √B times a uniform direction in the batch's centred subspace at the BSB1 fixed point, so with
// 𝒥 the arc-cosine kernel and c₀ = −1/(B−1):
//   E relu(ẑ)            = √(B−1)/2 · Γ((B−1)/2)/(√π Γ(B/2))      → 1/√(2π)
//   E var_B relu(ẑ)      = (B−1)/(2B) · (1 − 𝒥(c₀))               → (π−1)/(2π)
//   E var_B h_{l+1}      = σ_w² · E var_B relu(ẑ_l)                 → σ_w²(π−1)/(2π)
//   cosine(out_i, out_j) = 𝒥(c₀)  (Yang et al. Thm 5, c*)          → 1/π
const J = (c: number) => (Math.sqrt(1 - c * c) + (Math.PI - Math.acos(c)) * c) / Math.PI;
const reluMean = (B: number) => ((Math.sqrt(B - 1) / 2) * Math.exp(lgamma((B - 1) / 2) - lgamma(B / 2))) / Math.sqrt(Math.PI);
const reluVar = (B: number) => ((B - 1) / (2 * B)) * (1 - J(-1 / (B - 1)));

describe('forward statistics', () => {
  it('the finite-B forms tend to the large-batch values of theory-notes P11', () => {
    const B = 1e7;
    expect(reluMean(B)).toBeCloseTo(1 / Math.sqrt(2 * Math.PI), 6);
    expect(reluVar(B)).toBeCloseTo((Math.PI - 1) / (2 * Math.PI), 6);
    expect(2 * reluVar(B)).toBeCloseTo((Math.PI - 1) / Math.PI, 6);
    expect(J(-1 / 7)).toBeCloseTo(0.2501, 4); // Yang c* at B = 8 (theory-notes P12)
  });

  it('BN output has batch mean β and variance γ²·v/(v+ε) in every unit (identity activation)', () => {
    for (const eps of [0, 0.5]) {
      const spec = makeSpec({ depth: 4, width: 64, batch: 10, activation: 'identity', bn: { gamma: 1.7, beta: -0.4, eps } });
      const s = forwardBackward(spec, 4);
      for (let l = 0; l < 4; l++) {
        expect(s.postactMean[l]).toBeCloseTo(-0.4, 12);
        if (eps === 0) expect(s.postactVar[l]).toBeCloseTo(1.7 ** 2, 12);
        else expect(s.postactVar[l]).toBeLessThan(1.7 ** 2 * (s.preactVar[l] / (s.preactVar[l] + eps)) * 1.05);
      }
    }
  });

  it('Linear-BN-ReLU at B = 8, γ = 1.5: ReLU mean, variances and cross-sample correlation match the closed forms', () => {
    // width 1024, B/N < 1%: the finite-width bias, which grows like B/N (docs/sampling.md), is ≲ 0.1%
    const B = 8;
    const gamma = 1.5;
    const spec = makeSpec({ depth: 12, width: 1024, batch: B, bn: { gamma }, init: { sigmaW2: 2 } });
    // 12 seeds: with 3 the standard error, itself estimated from 2 degrees of freedom, resolved the 1% band
    // only for lucky seeds (seeds 1–3 under MT19937 did; about half of other triples, under either generator,
    // did not), so the power check was a property of the seed, not of the test
    const seeds = Array.from({ length: 12 }, (_, i) => i + 1);
    const all = seeds.map((s) => forwardBackward(spec, s, { params: fastGaussianNetwork(spec, 100 + s) }));
    const layerMean = (a: Float64Array, from: number) => {
      let t = 0;
      for (let l = from; l < a.length; l++) t += a[l];
      return t / (a.length - from);
    };
    const check = (vals: number[], ref: number) => {
      const m = summarize(vals);
      const se = m.sd / Math.sqrt(m.n);
      expectResolves({ relTol: 0, se, z: Z_FAMILY }, ref, 0.01 * ref);
      expectAgrees(ref, m.mean, { relTol: 0.005, se, z: Z_FAMILY });
    };
    check(
      all.map((s) => layerMean(s.postactMean, 0)),
      gamma * reluMean(B),
    );
    check(
      all.map((s) => layerMean(s.postactVar, 0)),
      gamma ** 2 * reluVar(B),
    );
    check(
      all.map((s) => layerMean(s.preactVar, 1)),
      2 * gamma ** 2 * reluVar(B),
    );
    check(
      all.map((s) => layerMean(s.corr, 3)),
      J(-1 / (B - 1)),
    );
  });
});
