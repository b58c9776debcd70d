import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import {
  arcCos0,
  arcCos1,
  arcCosJ,
  gaussExpect2Split,
  gaussExpectSplit,
  piecewiseMoments,
  truncVarFactor,
} from '../../src/theory/index.js';

// Closed forms (truncated-normal moments, arc-cosine kernels) against kink-aware quadrature.
const slopes = fc.record({ a: fc.double({ min: -1.5, max: 1.5, noNaN: true }), b: fc.double({ min: -1.5, max: 1.5, noNaN: true }) });
const pw = (a: number, b: number) => (x: number) => (x > 0 ? b * x : a * x);

describe('piecewise-linear family: closed forms vs quadrature (to 1e-9)', () => {
  fcTest.prop([slopes, fc.double({ min: -4, max: 4, noNaN: true }), fc.double({ min: 0.05, max: 6, noNaN: true })])(
    'moments of φ(x), x ~ N(μ, s²)',
    ({ a, b }, mu, s2) => {
      const m = piecewiseMoments({ a, b }, mu, s2);
      const f = pw(a, b);
      const df = (x: number) => (x > 0 ? b : a);
      const e1 = gaussExpectSplit(f, mu, s2, [0]);
      expect(Math.abs(m.mean - e1)).toBeLessThan(1e-9);
      expect(Math.abs(m.second - gaussExpectSplit((x) => f(x) ** 2, mu, s2, [0]))).toBeLessThan(1e-9);
      expect(Math.abs(m.variance - gaussExpectSplit((x) => (f(x) - e1) ** 2, mu, s2, [0]))).toBeLessThan(1e-9);
      expect(Math.abs(m.d1 - gaussExpectSplit(df, mu, s2, [0]))).toBeLessThan(1e-9);
      expect(Math.abs(m.d2 - gaussExpectSplit((x) => df(x) ** 2, mu, s2, [0]))).toBeLessThan(1e-9);
    },
  );
  fcTest.prop([slopes, fc.double({ min: -0.999, max: 0.999, noNaN: true })], { numRuns: 25 })(
    'arc-cosine kernels of degree 0 and 1',
    ({ a, b }, c) => {
      const f = pw(a, b);
      const df = (x: number) => (x > 0 ? b : a);
      expect(Math.abs(arcCos1({ a, b }, c) - gaussExpect2Split((u, v) => f(u) * f(v), 1, 1, c, [0], 12))).toBeLessThan(1e-9);
      expect(Math.abs(arcCos0({ a, b }, c) - gaussExpect2Split((u, v) => df(u) * df(v), 1, 1, c, [0], 12))).toBeLessThan(1e-9);
    },
  );
  test("Yang's 𝒥 is twice the ReLU degree-1 kernel and 𝒥(1) = 1", () => {
    for (const c of [-1, -0.3, 0, 0.4, 1]) expect(arcCosJ(c)).toBeCloseTo(2 * arcCos1({ a: 0, b: 1 }, c), 15);
    expect(arcCosJ(1)).toBe(1);
  });
  test('shifted-ReLU variance is stable far in the left tail (asymptotic Var ≈ 2φ(t)/|t|³)', () => {
    for (const t of [-9, -15, -30]) {
      const v = truncVarFactor(t);
      const approx = (2 * Math.exp((-t * t) / 2)) / Math.sqrt(2 * Math.PI) / Math.abs(t) ** 3;
      expect(v / approx).toBeGreaterThan(0.9);
      expect(v / approx).toBeLessThan(1.05);
    }
    // and continuous across the switch at t = −8
    expect(truncVarFactor(-8 + 1e-9) / truncVarFactor(-8 - 1e-9)).toBeCloseTo(1, 6);
  });
});
