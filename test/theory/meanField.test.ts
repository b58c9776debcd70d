import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { chi1, cMap, criticalLine, cStar, depthScales, qMap, qStar } from '../../src/theory/index.js';

const sw = fc.double({ min: 0.2, max: 4, noNaN: true });
const sb = fc.double({ min: 0, max: 1, noNaN: true });
const qv = fc.double({ min: 0.01, max: 10, noNaN: true });

describe('no-BN mean field (Poole et al. 2016; Schoenholz et al. 2017)', () => {
  fcTest.prop([sw, sb, qv])('ReLU: c = 1 is a fixed point of the c-map and χ₁ = σ_w²/2', (w, b, q) => {
    expect(cMap('relu', w, b, q, 1)).toBeCloseTo(1, 14);
    expect(chi1('relu', w, b, q)).toBeCloseTo(w / 2, 14);
    // and the ReLU length map is linear: q′ = σ_w² q/2 + σ_b²
    expect(qMap('relu', w, b, q)).toBeCloseTo((w * q) / 2 + b, 12);
  });
  fcTest.prop([fc.constantFrom('relu', 'tanh', 'gelu', 'silu', 'elu:1', 'leaky-relu:0.2'), sw, sw, sb, qv], { numRuns: 40 })(
    'the q-map is monotone in σ_w²',
    (a, w1, w2, b, q) => {
      const [lo, hi] = w1 < w2 ? [w1, w2] : [w2, w1];
      if (hi - lo < 1e-9) return;
      expect(qMap(a, hi, b, q)).toBeGreaterThan(qMap(a, lo, b, q));
    },
  );
  test('q* is a fixed point of the q-map (tanh, gelu) and ReLU has q* = σ_b²/(1 − σ_w²/2)', () => {
    for (const [a, w, b] of [
      ['tanh', 1.5, 0.05],
      ['tanh', 3, 0.3],
      ['gelu', 1.2, 0.1],
    ] as const) {
      const q = qStar(a, w, b);
      expect(Math.abs(qMap(a, w, b, q) - q) / q).toBeLessThan(1e-12);
    }
    expect(qStar('relu', 1.5, 0.1)).toBeCloseTo(0.1 / 0.25, 14);
    expect(qStar('relu', 2.5, 0.1)).toBe(Number.POSITIVE_INFINITY);
  });
  test('a q-map above the diagonal everywhere diverges: q* = ∞, not the marginal q = 0 (GELU, σ_w² = 4, σ_b² = 0)', () => {
    // σ_w² φ′(0)² = 4·(1/2)² = 1: q = 0 is a fixed point, marginal, and repels from above (qMap(q) = q + O(q²)).
    // The independent check: the q-map itself lies above the diagonal over 24 decades, and plain iteration
    // (no acceleration) from q = 1 passes 1e200.
    for (let e = -12; e <= 12; e++) expect(qMap('gelu', 4, 0, 10 ** e)).toBeGreaterThan(10 ** e);
    let q = 1;
    let steps = 0;
    while (q < 1e200 && steps < 5000) {
      q = qMap('gelu', 4, 0, q);
      steps++;
    }
    expect(q).toBeGreaterThan(1e200);
    expect(qStar('gelu', 4, 0)).toBe(Number.POSITIVE_INFINITY);
    expect(() => chi1('gelu', 4, 0)).toThrow(/diverges/);
  });
  fcTest.prop(
    [
      fc.constantFrom('tanh', 'gelu', 'silu', 'elu:1', 'softplus'),
      fc.double({ min: 0.5, max: 4, noNaN: true }),
      fc.double({ min: 0.01, max: 0.5, noNaN: true }),
    ],
    {
      numRuns: 25,
    },
  )('accelerated q* equals plain iteration of the q-map (or both diverge)', (a, w, b) => {
    let q = 1;
    let prev = Number.NaN;
    for (let i = 0; i < 4000 && q < 1e200 && !(Math.abs(q - prev) <= 1e-15 * q); i++) {
      prev = q;
      q = qMap(a, w, b, q);
    }
    const star = qStar(a, w, b);
    if (q >= 1e200) expect(star).toBe(Number.POSITIVE_INFINITY);
    else if (Math.abs(q - prev) <= 1e-15 * q) expect(Math.abs(star - q) / q).toBeLessThan(1e-10);
  });
  test('critical line: tanh at σ_b² = 0 is σ_w² = 1 (q* = 0, χ₁ = σ_w² φ′(0)²); ReLU is 2 for every σ_b²', () => {
    expect(criticalLine('tanh', 0)).toBeCloseTo(1, 9);
    expect(criticalLine('relu', 0.3)).toBe(2);
    const w = criticalLine('tanh', 0.05);
    expect(chi1('tanh', w, 0.05)).toBeCloseTo(1, 9);
  });
  test('chaotic tanh: c* < 1 is a fixed point and ξ_c matches the slope of the c-map by finite differences', () => {
    const w = 3;
    const b = 0.05;
    const q = qStar('tanh', w, b);
    const c = cStar('tanh', w, b);
    expect(c).toBeLessThan(1);
    expect(Math.abs(cMap('tanh', w, b, q, c) - c)).toBeLessThan(1e-12);
    const h = 1e-5;
    const slope = (cMap('tanh', w, b, q, c + h) - cMap('tanh', w, b, q, c - h)) / (2 * h);
    const ds = depthScales('tanh', w, b);
    expect(ds.chiC).toBeCloseTo(slope, 7);
    expect(ds.xiC).toBeCloseTo(-1 / Math.log(slope), 4);
    // ξ_q: slope of the q-map at q* by finite differences (Stein form in the code)
    const qs = (qMap('tanh', w, b, q * (1 + 1e-5)) - qMap('tanh', w, b, q * (1 - 1e-5))) / (2e-5 * q);
    expect(ds.qSlope!).toBeCloseTo(qs, 7);
  });
  test('ordered phase: c* = 1 and ξ_c = −1/ln χ₁', () => {
    const ds = depthScales('tanh', 1.2, 0.2);
    expect(ds.cStar).toBe(1);
    expect(ds.xiC).toBeCloseTo(-1 / Math.log(ds.chi1), 12);
  });
});
