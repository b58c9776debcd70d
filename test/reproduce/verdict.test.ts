import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { AGREEMENT_Z, agreement } from '../../src/records/index.js';
import { judge, markdownTable, overall } from '../../src/reproduce/index.js';
import { expectAgrees, expectResolves } from '../helpers/agreement.js';

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

describe('judge is the one agreement rule at z = AGREEMENT_Z = 2', () => {
  // The rule judge applied before it moved to src/records/agreement.ts, restated: the decisions (and
  // the words) of `signalprop reproduce` must not change.
  const before = (p: number, m: number, relTol: number, se?: number): string => {
    if (!Number.isFinite(p) || !Number.isFinite(m)) return 'inconclusive';
    const tol = relTol * Math.abs(p);
    const err = Math.abs(m - p);
    const s = se ?? 0;
    if (err <= tol + 2 * s) return 'agrees';
    return 2 * s > tol ? 'inconclusive' : 'disagrees';
  };
  fcTest.prop([
    fc.double({ min: -10, max: 10, noNaN: true }),
    fc.double({ min: -0.5, max: 0.5, noNaN: true }),
    fc.double({ min: 0, max: 0.2, noNaN: true }),
    fc.option(fc.double({ min: 0, max: 0.2, noNaN: true }), { nil: undefined }),
  ])('the same verdict as before, and agreement() gives judge its verdict and reason', (p, rel, tol, se) => {
    const m = p * (1 + rel);
    const row = judge('x', p, m, tol, se);
    expect(row.verdict).toBe(before(p, m, tol, se));
    const a = agreement(p, m, { relTol: tol, se });
    expect(a.z).toBe(AGREEMENT_Z);
    expect([row.verdict, row.reason]).toEqual([a.verdict, a.reason]);
  });
  test('the words name the band: 2·se as before', () => {
    // |Δ| = 0.03, tol 0.02·1 = 0.02, 2·se = 0.02 (hand calculation)
    expect(judge('x', 1, 1.03, 0.02, 0.01).reason).toBe('|Δ| = 0.03 (3.00%) ≤ tol 0.02 + 2·se 0.02');
    expect(judge('x', 1, 1.15, 0.02, 0.05).reason).toBe('|Δ| = 0.15 but 2·se = 0.1 exceeds the tolerance 0.02');
  });
});

describe('agreement: z, absolute tolerances, expectAgrees', () => {
  test('z scales the band: 3% off at tol 2% and se 0.4% agrees at z = 3, disagrees at z = 2', () => {
    // band 3·0.004 = 0.012 ≥ 0.01 excess; 2·0.004 = 0.008 < 0.01 and 0.008 < tol 0.02, so a disagreement
    expect(agreement(1, 1.03, { relTol: 0.02, se: 0.004, z: 3 }).verdict).toBe('agrees');
    expect(agreement(1, 1.03, { relTol: 0.02, se: 0.004 }).verdict).toBe('disagrees');
    expect(agreement(1, 1.03, { relTol: 0.02, se: 0.004, z: 3 }).reason).toMatch(/3·se 0\.012/);
  });
  test('absTol replaces relTol·|p| (values already on a log scale)', () => {
    expect(agreement(-3, -3.05, { relTol: 0, absTol: 0.06 }).verdict).toBe('agrees');
    expect(agreement(-3, -3.05, { relTol: 0, absTol: 0.04 }).verdict).toBe('disagrees');
  });
  test('expectAgrees passes on agreement and fails naming z, the difference and the tolerance', () => {
    expect(expectAgrees(1, 1.03, { relTol: 0.02, se: 0.01 }).verdict).toBe('agrees');
    expect(() => expectAgrees(1, 1.05, { relTol: 0.02, se: 0.01 }, 'growth')).toThrow(
      /growth 1\.05 against predicted 1 \(z = 2\): \|Δ\| = 0\.050.* against the tolerance 0\.02 \+ 2·se 0\.02.*disagrees/,
    );
    // too noisy to tell is a failure too, not a pass
    expect(() => expectAgrees(1, 1.15, { relTol: 0.02, se: 0.05 })).toThrow(/inconclusive/);
    expectResolves({ relTol: 0.02, se: 0.005 }, 1);
    expect(() => expectResolves({ relTol: 0.02, se: 0.05 }, 1)).toThrow(/cannot tell/);
  });
});
