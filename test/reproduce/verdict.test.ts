import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { judge, markdownTable, overall } from '../../src/reproduce/index.js';

describe('verdict logic on records where the answer is known', () => {
  test('a measurement inside the tolerance agrees', () => {
    // λ(32) = 1.52195 (Yang et al. 2019); a measurement 1% off with 1.5% tolerance agrees
    const r = judge('λ(32)', 1.52195, 1.52195 * 1.01, 0.015, 0.001);
    expect(r.verdict).toBe('agrees');
  });
  test('two standard errors widen the band', () => {
    // 3% off, tolerance 2%, se = 1% of p: |Δ| = 0.03p ≤ 0.02p + 0.02p
    expect(judge('x', 1, 1.03, 0.02, 0.01).verdict).toBe('agrees');
    expect(judge('x', 1, 1.05, 0.02, 0.01).verdict).toBe('disagrees');
  });
  test('a measurement too noisy to tell is inconclusive, not a pass', () => {
    // 2·se = 0.1 > tolerance 0.02: cannot tell; |Δ| = 0.15 is outside even the widened band
    expect(judge('x', 1, 1.15, 0.02, 0.05).verdict).toBe('inconclusive');
  });
  test('linear BN: Yang (B−2)/(B−3) = 1.0345 at B = 32 against the measured 1.016 disagrees at 1%', () => {
    const r = judge('linear BN B=32', 30 / 29, 1.016, 0.01, 0.002);
    expect(r.verdict).toBe('disagrees');
    expect(r.reason).toMatch(/>/);
  });
  test('non-finite numbers are inconclusive', () => {
    expect(judge('x', 1, Number.NaN, 0.1).verdict).toBe('inconclusive');
  });
  test('overall: any disagreement wins; all agree needed for agrees', () => {
    const a = judge('a', 1, 1, 0.01);
    const d = judge('d', 1, 2, 0.01);
    const i = judge('i', 1, 1.5, 0.01, 0.2);
    expect(overall([a, a])).toBe('agrees');
    expect(overall([a, i])).toBe('inconclusive');
    expect(overall([a, i, d])).toBe('disagrees');
    expect(overall([])).toBe('inconclusive');
  });
  fcTest.prop([fc.double({ min: 0.1, max: 10, noNaN: true }), fc.double({ min: 0.001, max: 0.2, noNaN: true })])(
    'the verdict is scale invariant: multiplying both numbers and se by a constant keeps it',
    (k, tol) => {
      const base = judge('x', 1.3, 1.3 * (1 + 1.5 * tol), tol, 0.1 * tol);
      const scaled = judge('x', 1.3 * k, 1.3 * (1 + 1.5 * tol) * k, tol, 0.1 * tol * k);
      expect(scaled.verdict).toBe(base.verdict);
    },
  );
  test('markdown tables escape pipes', () => {
    expect(markdownTable(['a|b'], [['x|y']])).toContain('x\\|y');
  });
});
