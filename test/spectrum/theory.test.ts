// Free-probability Jacobian spectrum (src/theory/spectrum.ts) against independent closed forms:
// Marchenko–Pastur (L = 1), the Fuss–Catalan law of products of Gaussian matrices (L = 2, 3), the
// delta of orthogonal linear nets, and the Lagrange-inversion moments m₁, m₂.
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { makeSpec } from '../../src/network/index.js';
import {
  densityMoments,
  eigenDensity,
  jacobianMoments,
  jacobianSpectrumTheory,
  lawMoments,
  singularValueCdf,
  spectrumProblem,
} from '../../src/theory/spectrum.js';

const plain = (activation: string, kind: 'gaussian' | 'orthogonal', depth: number, sigmaW2: number) =>
  makeSpec({ depth, width: 100, order: 'linear-act', activation, init: { kind, sigmaW2, sigmaB2: 0 } });

describe('closed forms the density must reproduce', () => {
  it('L = 1 linear Gaussian is Marchenko–Pastur (ratio 1): quarter circle in σ', () => {
    const s2 = 1.7;
    const th = jacobianSpectrumTheory(plain('identity', 'gaussian', 1, s2), { points: 200 });
    // support edge 4σ_w², density √(4σ_w² − σ²)/(π σ_w²) (Marchenko & Pastur 1967)
    expect(Math.abs(th.lambdaMax - 4 * s2) / (4 * s2)).toBeLessThan(1e-6);
    const peak = 2 / (Math.PI * Math.sqrt(s2));
    let worst = 0;
    th.sv.forEach((s, i) => {
      const mp = Math.sqrt(Math.max(0, 4 * s2 - s * s)) / (Math.PI * s2);
      worst = Math.max(worst, Math.abs(th.densitySv[i] - mp));
    });
    // the solver evaluates G at height ε = 1e-9 λ; Newton stops at a log-residual of 1e-11
    expect(worst / peak).toBeLessThan(1e-6);
  });

  it('L = 2, 3 linear Gaussian is the Fuss–Catalan law (Penson & Życzkowski 2011 parametrisation)', () => {
    for (const s of [2, 3]) {
      const p = spectrumProblem(plain('identity', 'gaussian', s, 1)).problem;
      // x(φ) = sin((s+1)φ)^{s+1} / (sin φ sin(sφ)^s), ρ(x) = sin²φ sin(sφ)^{s−1} / (π sin((s+1)φ)^s)
      const phis = Array.from({ length: 40 }, (_, i) => ((i + 0.5) / 40) * (Math.PI / (s + 1)));
      const xs = phis.map((f) => Math.sin((s + 1) * f) ** (s + 1) / (Math.sin(f) * Math.sin(s * f) ** s));
      const ref = phis.map((f) => (Math.sin(f) ** 2 * Math.sin(s * f) ** (s - 1)) / (Math.PI * Math.sin((s + 1) * f) ** s));
      // the reference itself must be a probability law with mean 1, m₂ = s + 1 (Fuss–Catalan numbers)
      const M = 4000;
      let mass = 0;
      let m1 = 0;
      let m2 = 0;
      for (let i = 0; i < M; i++) {
        const a = (i / M) * (Math.PI / (s + 1));
        const b = ((i + 1) / M) * (Math.PI / (s + 1));
        const x = (f: number) => Math.sin((s + 1) * f) ** (s + 1) / (Math.sin(f) * Math.sin(s * f) ** s);
        const f = (a + b) / 2;
        const rho = (Math.sin(f) ** 2 * Math.sin(s * f) ** (s - 1)) / (Math.PI * Math.sin((s + 1) * f) ** s);
        const dx = Math.abs(x(b === Math.PI / (s + 1) ? b - 1e-15 : b) - x(a === 0 ? 1e-15 : a));
        mass += rho * dx;
        m1 += rho * x(f) * dx;
        m2 += rho * x(f) ** 2 * dx;
      }
      // (a crude midpoint rule over φ with an integrable endpoint singularity: a sanity check only)
      expect(Math.abs(mass - 1)).toBeLessThan(5e-3);
      expect(Math.abs(m1 - 1)).toBeLessThan(5e-3);
      expect(Math.abs(m2 - (s + 1)) / (s + 1)).toBeLessThan(5e-3);
      const got = eigenDensity(p, xs);
      for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - ref[i]) / ref[i]).toBeLessThan(1e-6);
    }
  });

  it('orthogonal linear nets: a delta at σ = σ_w^L (all singular values equal)', () => {
    for (const L of [1, 3]) {
      const s2 = 1.7;
      const th = jacobianSpectrumTheory(plain('identity', 'orthogonal', L, s2));
      expect(th.atoms).toHaveLength(1);
      expect(th.atoms[0].mass).toBe(1);
      expect(Math.abs(th.atoms[0].lambda - s2 ** L) / s2 ** L).toBeLessThan(1e-14);
      expect(th.zeroMass).toBe(0);
      expect(Math.abs(th.variance)).toBeLessThan(1e-12 * s2 ** (2 * L));
      const cdf = singularValueCdf(th);
      const at = Math.sqrt(s2 ** L);
      expect(cdf.Fleft(at)).toBe(0);
      expect(cdf.F(at)).toBe(1);
    }
  });

  it('ReLU: mass 1/2 at σ = 0 (half the units are off), for both weight kinds', () => {
    for (const kind of ['gaussian', 'orthogonal'] as const) {
      const th = jacobianSpectrumTheory(plain('relu', kind, 3, 2), { points: 50 });
      expect(th.zeroMass).toBe(0.5);
    }
  });
});

describe('the density integrates to 1 and has the closed-form moments (PSG 2018)', () => {
  const cases: [string, 'gaussian' | 'orthogonal', number, number][] = [
    ['relu', 'gaussian', 2, 2],
    ['relu', 'gaussian', 5, 2],
    ['relu', 'orthogonal', 2, 2],
    ['relu', 'orthogonal', 5, 2],
    ['identity', 'gaussian', 3, 1.3],
    ['leaky-relu:0.2', 'orthogonal', 4, 1.9],
    ['tanh', 'gaussian', 3, 1.5],
    ['tanh', 'orthogonal', 3, 1.5],
  ];
  for (const [act, kind, L, s2] of cases) {
    it(`${act}, ${kind}, L = ${L}, σ_w² = ${s2}`, () => {
      const spec = plain(act, kind, L, s2);
      const th = jacobianSpectrumTheory(spec, { points: 50 });
      // closed form, by hand: m₁ = (σ_w² μ₁)^L, m₂ = m₁²(1 + L(μ₂/μ₁² − 1 + s)) with μ_k = E φ′^{2k}
      if (act === 'relu') {
        expect(th.m1).toBeCloseTo((s2 / 2) ** L, 12);
        expect(th.m2).toBeCloseTo(th.m1 ** 2 * (1 + L * (2 - 1 + (kind === 'gaussian' ? 1 : 0))), 9);
      }
      // the cell law of φ′² reproduces E φ′², E φ′⁴ of an independent quadrature
      const law = lawMoments(th.problem.d2);
      expect(Math.abs(law.mu1 - th.problem.mu1) / th.problem.mu1).toBeLessThan(1e-8);
      expect(Math.abs(law.mu2 - th.problem.mu2) / th.problem.mu2).toBeLessThan(1e-8);
      // quadrature of the density at M and 2M points: for any convergence order ≥ 1 the error at 2M
      // is at most the change between the two, which bounds the tolerance (plus rounding)
      const a = densityMoments(th, { points: 300 });
      const b = densityMoments(th, { points: 600 });
      for (const [k, exact] of [
        ['mass', 1],
        ['m1', th.m1],
        ['m2', th.m2],
      ] as const) {
        const err = Math.abs(b[k] - exact);
        const bound = Math.abs(a[k] - b[k]) + 1e-7 * exact;
        expect(err, `${k}: ${b[k]} vs ${exact}`).toBeLessThanOrEqual(bound);
        expect(err / exact).toBeLessThan(5e-3); // and the bound itself is small
      }
    });
  }
});

describe('properties', () => {
  const acts = ['relu', 'leaky-relu:0.1', 'tanh', 'identity', 'gelu'];
  test.prop([fc.constantFrom(...acts), fc.integer({ min: 1, max: 6 }), fc.double({ min: 0.6, max: 1.9, noNaN: true })], { numRuns: 8 })(
    'density ≥ 0 (unclamped: a wrong branch of the root would go negative) and finite',
    (act, L, s2) => {
      for (const kind of ['gaussian', 'orthogonal'] as const) {
        const th = jacobianSpectrumTheory(plain(act, kind, L, s2), { points: 40 });
        const peak = Math.max(0, ...th.densitySv);
        for (const d of th.densitySv) {
          expect(Number.isFinite(d)).toBe(true);
          expect(d).toBeGreaterThanOrEqual(-1e-9 * peak);
        }
      }
    },
  );

  it('tanh in the ordered phase and at the boundary (q* = 0): orthogonal nets are exactly σ_w^L·I, a single atom', () => {
    // q-map q ↦ σ_w² E tanh²(√q Z) has q* = 0 for σ_w² ≤ 1 (decaying like 1/t at σ_w² = 1); D = φ′(0)·I = I
    for (const s2 of [0.9901383912251039, 0.99999, 1]) {
      const o = jacobianSpectrumTheory(plain('tanh', 'orthogonal', 2, s2), { points: 30 });
      expect(o.atoms).toHaveLength(1);
      expect(o.atoms[0].lambda).toBeCloseTo(s2 ** 2, 10);
      expect(o.lambdaMax).toBeCloseTo(s2 ** 2, 10);
    }
  });

  test.prop(
    [
      fc.constantFrom('relu', 'tanh', 'identity', 'leaky-relu:0.3'),
      fc.integer({ min: 2, max: 6 }),
      fc.double({ min: 0.8, max: 2.2, noNaN: true }),
    ],
    { numRuns: 6 },
  )('orthogonal weights give a narrower spectrum than Gaussian at the same m₁', (act, L, s2) => {
    const g = jacobianSpectrumTheory(plain(act, 'gaussian', L, s2), { points: 30 });
    const o = jacobianSpectrumTheory(plain(act, 'orthogonal', L, s2), { points: 30 });
    expect(Math.abs(g.m1 - o.m1) / g.m1).toBeLessThan(1e-12);
    // from the densities themselves: variance and support edge
    const dg = densityMoments(g, { points: 300 });
    const dO = densityMoments(o, { points: 300 });
    expect(dO.m2 - dO.m1 ** 2).toBeLessThan(dg.m2 - dg.m1 ** 2);
    expect(o.lambdaMax).toBeLessThan(g.lambdaMax);
  });
});

describe('BatchNorm with frozen batch statistics', () => {
  it('the density of a BN-ReLU net integrates to 1 with the moments of its diagonal law', () => {
    const spec = makeSpec({
      depth: 3,
      width: 100,
      batch: 32,
      order: 'linear-bn-act',
      activation: 'relu',
      init: { kind: 'gaussian', sigmaW2: 2 },
    });
    const th = jacobianSpectrumTheory(spec, { points: 50 });
    // Wilson–Hilferty cells of 1/χ²_k against the exact inverse-χ² moments k/(k−2), k²/((k−2)(k−4))
    const law = lawMoments(th.problem.d2);
    expect(Math.abs(law.mu1 - th.problem.mu1) / th.problem.mu1).toBeLessThan(1e-3);
    expect(Math.abs(law.mu2 - th.problem.mu2) / th.problem.mu2).toBeLessThan(1e-3);
    // the solver against the S-transform moments of the law it was given
    const lawM = jacobianMoments(spec); // closed form (exact χ² moments)
    const a = densityMoments(th, { points: 300 });
    const b = densityMoments(th, { points: 600 });
    expect(Math.abs(b.mass - 1)).toBeLessThanOrEqual(Math.abs(a.mass - b.mass) + 1e-7);
    // closed form vs density: quadrature change + the (tested above) Wilson–Hilferty moment error ×L
    const wh = 3 * (Math.abs(law.mu1 - th.problem.mu1) / th.problem.mu1) + 2 * 3 * (Math.abs(law.mu2 - th.problem.mu2) / th.problem.mu2);
    expect(Math.abs(b.m1 - lawM.m1)).toBeLessThanOrEqual(Math.abs(a.m1 - b.m1) + wh * lawM.m1 + 1e-7 * lawM.m1);
    expect(Math.abs(b.m2 - lawM.m2)).toBeLessThanOrEqual(Math.abs(a.m2 - b.m2) + 2 * wh * lawM.m2 + 1e-7 * lawM.m2);
  });
});
