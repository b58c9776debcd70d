// Sampled Jacobian spectra (src/sample/spectrum.ts) against the free-probability prediction:
// moments within sampling error, and a KS distance below a bound justified by the sample size.
import { beforeAll, describe, expect, it } from 'vitest';
import { makeSpec, type NetworkSpec } from '../../src/network/index.js';
import { jacobianSpectrum, type JacobianSpectrumResult, ksDistance, sampleJacobian, spectrumRecords } from '../../src/sample/spectrum.js';
import { jacobianSpectrumTheory, singularValueCdf } from '../../src/theory/spectrum.js';

const K = 8;
// two-sided 99.9% quantile of Student's t with K − 1 = 7 degrees of freedom (tables): a seed-spread
// tolerance that a correct implementation exceeds one time in a thousand per check
const T_999_7 = 5.408;

/**
 * Dvoretzky–Kiefer–Wolfowitz: for n i.i.d. draws P(KS > ε) ≤ 2 exp(−2nε²). The n singular values of
 * one matrix are not independent but repel (eigenvalue rigidity), so their empirical CDF is closer to
 * the law than n i.i.d. draws would be; the i.i.d. bound is therefore conservative for the random part.
 * Level α/K per seed (Bonferroni over the K seeds), α = 10⁻³.
 */
const dkw = (n: number, alpha = 1e-3 / K) => Math.sqrt(Math.log(2 / alpha) / (2 * n));

/**
 * Finite-width bias of the moments: each layer's factor has an O(1/N) correction at width N (for a
 * Gaussian factor E tr(WWᵀ)²/N = σ_w⁴(2 + 1/N), i.e. relative 1/(2N)); over L layers at most L/N.
 */
const finiteN = (L: number, N: number) => L / N;

const cases: { name: string; spec: NetworkSpec }[] = [
  {
    name: 'linear Gaussian, L = 1 (Marchenko–Pastur)',
    spec: makeSpec({ depth: 1, width: 160, order: 'linear-act', activation: 'identity', init: { kind: 'gaussian', sigmaW2: 1.3 } }),
  },
  {
    name: 'ReLU Gaussian, L = 3, He init',
    spec: makeSpec({ depth: 3, width: 160, order: 'linear-act', activation: 'relu', init: { kind: 'gaussian', sigmaW2: 2 } }),
  },
  {
    name: 'ReLU orthogonal, L = 3',
    spec: makeSpec({ depth: 3, width: 128, order: 'linear-act', activation: 'relu', init: { kind: 'orthogonal', sigmaW2: 2 } }),
  },
  {
    name: 'tanh orthogonal, L = 3, σ_w² = 1.5 (q* = 0.287)',
    spec: makeSpec({ depth: 3, width: 128, order: 'linear-act', activation: 'tanh', init: { kind: 'orthogonal', sigmaW2: 1.5 } }),
  },
];

const results = new Map<string, JacobianSpectrumResult>();
beforeAll(() => {
  for (const c of cases) results.set(c.name, jacobianSpectrum(c.spec, { seeds: K, seed: 11 }));
}, 120_000);

describe('sampled Jacobian spectra vs free probability', () => {
  for (const c of cases) {
    it(`${c.name}: m₁, m₂ within sampling error; KS below the DKW bound`, () => {
      const r = results.get(c.name)!;
      const N = r.samples[0].singularValues.length;
      const L = c.spec.depth;
      const m = r.moments;
      expect(r.singularValues).toHaveLength(K * N);
      expect(Math.abs(m.m1Empirical - m.m1)).toBeLessThanOrEqual(T_999_7 * m.m1StdErr + finiteN(L, N) * m.m1);
      expect(Math.abs(m.m2Empirical - m.m2)).toBeLessThanOrEqual(T_999_7 * m.m2StdErr + finiteN(L, N) * m.m2);
      for (const ks of r.ks.perSeed) expect(ks).toBeLessThan(dkw(N));
    });
  }

  it('the KS check has power: Gaussian tanh samples are far from the orthogonal prediction', () => {
    const gauss = makeSpec({ depth: 3, width: 128, order: 'linear-act', activation: 'tanh', init: { kind: 'gaussian', sigmaW2: 1.5 } });
    const orthTheory = jacobianSpectrumTheory({ ...gauss, init: { ...gauss.init, kind: 'orthogonal' } });
    const cdf = singularValueCdf(orthTheory);
    const { J, rows, cols } = sampleJacobian(gauss, 11);
    const r = results.get(cases[3].name)!;
    const sv = jacobianSpectrum(gauss, { seeds: 1, seed: 11 }).singularValues;
    expect(rows * cols).toBe(J.length);
    expect(ksDistance(sv, cdf)).toBeGreaterThan(dkw(128));
    // while the orthogonal samples themselves pass
    expect(Math.max(...r.ks.perSeed)).toBeLessThan(dkw(128));
  });

  it('orthogonal linear nets: every singular value is σ_w^L', () => {
    const spec = makeSpec({ depth: 4, width: 64, order: 'linear-act', activation: 'identity', init: { kind: 'orthogonal', sigmaW2: 1.7 } });
    const r = jacobianSpectrum(spec, { seeds: 2, seed: 3 });
    for (const s of r.singularValues) expect(Math.abs(s - 1.7 ** 2) / 1.7 ** 2).toBeLessThan(1e-12);
    expect(r.ks.pooled).toBe(0);
  });

  it('ReLU: the Jacobian is rank deficient, about half its singular values are 0', () => {
    const r = results.get(cases[1].name)!;
    const N = 160;
    for (const s of r.samples) {
      const zeros = s.singularValues.filter((v) => v < 1e-10 * s.singularValues[0]).length;
      // rank J = min over layers of the active units ~ Binomial(N, 1/2): within 5 sd of N/2 for 3 layers
      expect(Math.abs(zeros / N - 0.5)).toBeLessThan((5 * Math.sqrt(0.25 * N)) / N);
    }
  });
});

describe('BatchNorm, batch statistics held fixed', () => {
  it('BN-ReLU, B = 16 ≪ N = 256: m₁ within sampling error plus the derived O(B/N) correction', () => {
    const L = 3;
    const N = 256;
    const B = 16;
    const spec = makeSpec({
      depth: L,
      width: N,
      batch: B,
      order: 'linear-bn-act',
      activation: 'relu',
      init: { kind: 'gaussian', sigmaW2: 2 },
    });
    const r = jacobianSpectrum(spec, { seeds: K, seed: 5 });
    const m = r.moments;
    // docs/spectrum.md §4: the per-unit variance v_i shares k = B − 1 directions with row w_i, which
    // lowers E‖Γ_i w_i‖² by the factor (k + (N − k) k/(k−2)) / (N k/(k−2)) per layer
    const k = B - 1;
    const f = (k + ((N - k) * k) / (k - 2)) / ((N * k) / (k - 2));
    const bias = Math.abs(1 - f ** L) * m.m1;
    expect(Math.abs(m.m1Empirical - m.m1)).toBeLessThanOrEqual(T_999_7 * m.m1StdErr + bias + finiteN(L, N) * m.m1);
    for (const ks of r.ks.perSeed) expect(ks).toBeLessThan(dkw(N));
  }, 60_000);
});

describe('records', () => {
  it('jac_sv per singular value (tags.index), jac_density on the grid (tags.sv), moments per seed and theory', () => {
    const spec = cases[1].spec;
    const r = results.get(cases[1].name)!;
    const recs = spectrumRecords(spec, r);
    const sv = recs.filter((x) => x.quantity === 'jac_sv');
    expect(sv).toHaveLength(r.singularValues.length);
    expect(sv.every((x) => x.source === 'sampled' && typeof x.seed === 'number' && typeof x.tags?.index === 'number')).toBe(true);
    const dens = recs.filter((x) => x.quantity === 'jac_density');
    expect(dens).toHaveLength(r.predicted.sv.length);
    expect(dens.every((x) => x.source === 'theory' && x.seed === null && typeof x.tags?.sv === 'number')).toBe(true);
    expect(recs.filter((x) => x.quantity === 'jac_m1' && x.source === 'sampled')).toHaveLength(K);
    expect(recs.find((x) => x.quantity === 'jac_m1' && x.source === 'theory')!.value).toBe(r.moments.m1);
    expect(recs.every((x) => x.depth === spec.depth && x.init === spec.init.kind)).toBe(true);
  });
});
