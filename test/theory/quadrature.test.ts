import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { lgamma } from '../../src/network/index.js';
import {
  gaussExpect,
  gaussExpect2,
  gaussExpect2Split,
  gaussExpectSplit,
  gaussGegenbauer,
  gaussHermite,
  gaussLegendre,
} from '../../src/theory/index.js';

const doubleFactorial = (k: number): number => (k <= 0 ? 1 : k * doubleFactorial(k - 2));

describe('Gauss rules (Golub–Welsch + Newton + Christoffel)', () => {
  test.each([5, 20, 60])('Hermite n=%i integrates E z^(2k) = (2k−1)!! exactly for 2k < 2n', (n) => {
    const { nodes, weights } = gaussHermite(n);
    for (let k = 0; 2 * k < Math.min(2 * n, 24); k++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += weights[i] * nodes[i] ** (2 * k);
      expect(Math.abs(s - doubleFactorial(2 * k - 1)) / doubleFactorial(2 * k - 1)).toBeLessThan(1e-13);
    }
  });
  test('Legendre integrates ∫x^k on [−1,1] and its weights sum to 2', () => {
    const { nodes, weights } = gaussLegendre(12);
    for (let k = 0; k < 24; k += 2) {
      let s = 0;
      for (let i = 0; i < 12; i++) s += weights[i] * nodes[i] ** k;
      expect(s).toBeCloseTo(2 / (k + 1), 14);
    }
  });
  test.each([-0.5, 0, 0.5, 7, 2046])('Gegenbauer α=%f reproduces the Beta moments E t^(2k) = B(k+½, α+1)/B(½, α+1)', (alpha) => {
    const { nodes, weights } = gaussGegenbauer(alpha, 24);
    for (let k = 0; k < 20; k++) {
      let s = 0;
      for (let i = 0; i < nodes.length; i++) s += weights[i] * nodes[i] ** (2 * k);
      const exact = Math.exp(lgamma(k + 0.5) + lgamma(alpha + 1.5) - lgamma(0.5) - lgamma(k + alpha + 1.5));
      // lgamma(α+1.5) ≈ 1.4e4 at α = 2046, so the reference itself carries ~1e-12 relative error
      expect(Math.abs(s - exact) / exact).toBeLessThan(1e-10);
    }
  });
});

describe('Gaussian expectations', () => {
  fcTest.prop([fc.double({ min: -3, max: 3, noNaN: true }), fc.double({ min: 0.01, max: 9, noNaN: true })])(
    'gaussExpect: E x² = μ² + s², E cos x = cos μ · e^(−s²/2)',
    (mu, v) => {
      expect(gaussExpect((x) => x * x, mu, v)).toBeCloseTo(mu * mu + v, 11);
      expect(gaussExpect(Math.cos, mu, v)).toBeCloseTo(Math.cos(mu) * Math.exp(-v / 2), 11);
    },
  );
  fcTest.prop([
    fc.double({ min: -0.99, max: 0.99, noNaN: true }),
    fc.double({ min: 0.1, max: 4, noNaN: true }),
    fc.double({ min: 0.1, max: 4, noNaN: true }),
  ])('gaussExpect2: E u1u2 = c√(q1q2), E u1²u2² = q1q2(1+2c²) (Isserlis)', (c, q1, q2) => {
    expect(gaussExpect2((a, b) => a * b, q1, q2, c)).toBeCloseTo(c * Math.sqrt(q1 * q2), 12);
    expect(gaussExpect2((a, b) => a * a * b * b, q1, q2, c)).toBeCloseTo(q1 * q2 * (1 + 2 * c * c), 10);
    expect(gaussExpect2Split((a, b) => a * a * b * b, q1, q2, c)).toBeCloseTo(q1 * q2 * (1 + 2 * c * c), 10);
  });
  test('the kink-aware rule integrates |x − k| exactly where Gauss–Hermite cannot', () => {
    // E|x − k|, x ~ N(0,1): 2φ(k) + k(2Φ(k) − 1)
    const k = 0.7;
    const pdf = Math.exp((-k * k) / 2) / Math.sqrt(2 * Math.PI);
    const Phi = 0.758036347776927; // Φ(0.7)
    const exact = 2 * pdf + k * (2 * Phi - 1);
    expect(Math.abs(gaussExpectSplit((x) => Math.abs(x - k), 0, 1, [k]) - exact)).toBeLessThan(1e-13);
    expect(Math.abs(gaussExpect((x) => Math.abs(x - k), 0, 1, 40) - exact)).toBeGreaterThan(1e-6);
  });
});
