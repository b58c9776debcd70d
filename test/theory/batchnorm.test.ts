import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { type Activation, lgamma, parseActivation } from '../../src/network/index.js';
import {
  bnGradientRate,
  bnRateIntegral,
  bsb1FixedPoint,
  gaussLegendre,
  largeBatchRate,
  linearBnRate,
  reluRateYang,
  spherePairExpectNested,
  sphereMoments,
} from '../../src/theory/index.js';

// ReLU and identity routed through the quadrature path (no closed-form family; kink at 0 announced).
const reluQuad: Activation = { name: 'relu-quad', phi: (x) => Math.max(x, 0), dphi: (x) => (x > 0 ? 1 : 0), expression: 'max(x, 0)' };
const identityQuad: Activation = { name: 'identity-quad', phi: (x) => x, dphi: () => 1 };

/**
 * Thm 7 exactly as printed, a second implementation: the prefactor (B(B−2))^(2−B/2)/(2π q*(1−c*)) and the
 * weight Z^((B−5)/2) combined in log space, on a tensor Gauss–Legendre grid over a square in (z1, z2).
 * q*(1−c*) from the same grid. Valid where Z^((B−5)/2) is smooth at the ellipse edge (B ≥ 30).
 */
function thm7Literal(phi: (x: number) => number, dphi: (x: number) => number, B: number): number {
  const R = Math.min(Math.sqrt(B - 1), 10);
  const n = 24;
  const panels = 16;
  const gl = gaussLegendre(n);
  const pts: number[] = [];
  const ws: number[] = [];
  for (let p = 0; p < panels; p++) {
    const lo = -R + (2 * R * p) / panels;
    const h = R / panels;
    for (let i = 0; i < n; i++) {
      pts.push(lo + h + h * gl.nodes[i]);
      ws.push(h * gl.weights[i]);
    }
  }
  const lnPref = (2 - B / 2) * Math.log(B * (B - 2)) - Math.log(2 * Math.PI);
  let num = 0;
  let mass = 0;
  let m2 = 0;
  let pair = 0;
  for (let i = 0; i < pts.length; i++) {
    for (let j = 0; j < pts.length; j++) {
      const z1 = pts[i];
      const z2 = pts[j];
      const Z = B * (B - 2) - B * (z1 * z1 + z2 * z2) + (z1 - z2) ** 2;
      if (Z <= 0) continue;
      const w = ws[i] * ws[j] * Math.exp(lnPref + ((B - 5) / 2) * Math.log(Z)); // = (B(B−2))^(2−B/2) Z^((B−5)/2) / 2π
      const d1 = dphi(z1);
      const d2 = dphi(z2);
      num += w * ((B - 1 - z1 * z1) * d1 * d1 + (1 + z1 * z2) * d1 * d2);
      mass += w;
      m2 += w * phi(z1) ** 2;
      pair += w * phi(z1) * phi(z2);
    }
  }
  // mass = 1/(B−3) (the law of two BN outputs is (B−3)·weight); moments use the normalised law
  expect(mass * (B - 3)).toBeCloseTo(1, 9);
  return num / ((m2 / mass - pair / mass) * 1);
}

describe('Yang et al. (2019) Thm 8: λ(B) for ReLU', () => {
  test.each([
    [8, 1.78819],
    [32, 1.52195],
    [128, 1.47968],
  ])('B = %i gives the paper value %f (5 decimals)', (B, v) => {
    expect(Math.abs(reluRateYang(B) - v)).toBeLessThan(5e-6);
  });
  test('λ(B) → π/(π−1) with a 1/B correction', () => {
    const lim = Math.PI / (Math.PI - 1);
    for (const B of [1e3, 1e4, 1e5, 1e6]) expect(Math.abs(reluRateYang(B) - lim)).toBeLessThan(2 / B);
    expect(bnGradientRate('relu', null)).toBeCloseTo(lim, 14);
  });
  test.each([4, 5, 8, 16, 64, 256, 1024, 4096])('Thm 8 equals the Thm 7 integral (quadrature with the kink) at B = %i to 1e-6', (B) => {
    expect(Math.abs(bnRateIntegral(reluQuad, B) - reluRateYang(B))).toBeLessThan(1e-6);
  });
  fcTest.prop([fc.integer({ min: 4, max: 100000 })])('λ(B) is decreasing in B', (B) => {
    expect(reluRateYang(B + 1)).toBeLessThan(reluRateYang(B));
  });
});

describe('Thm 7 for general φ', () => {
  test.each([30, 300, 3000])('the normalised-variable integral equals the literal log-space formula for tanh at B = %i', (B) => {
    const lit = thm7Literal(Math.tanh, (x) => 1 - Math.tanh(x) ** 2, B);
    expect(Math.abs(bnRateIntegral('tanh', B) - lit)).toBeLessThan(1e-8);
  });
  test.each([4, 7, 32, 500, 4096])('linear BN gives (B−2)/(B−3) through the quadrature path, B = %i', (B) => {
    expect(bnRateIntegral(identityQuad, B)).toBeCloseTo(linearBnRate(B), 12);
    expect(bnGradientRate('identity', B)).toBeCloseTo((B - 2) / (B - 3), 12);
  });
  test.each([4, 9, 64, 2048])('Funk–Hecke pair moments equal nested 2-D quadrature for gelu, B = %i', (B) => {
    const act = parseActivation('gelu');
    const m = sphereMoments(act, 1.3, 0.2, B);
    const f = (x: number) => act.phi(1.3 * x + 0.2);
    const d = (x: number) => 1.3 * act.dphi(1.3 * x + 0.2);
    expect(Math.abs(m.pair - spherePairExpectNested(B, (a, b) => f(a) * f(b), [], 16))).toBeLessThan(1e-11);
    expect(Math.abs(m.S2 - spherePairExpectNested(B, (a, b) => d(a) * d(b), [], 16))).toBeLessThan(1e-11);
    expect(Math.abs(m.T2 - spherePairExpectNested(B, (a, b) => a * b * d(a) * d(b), [], 16))).toBeLessThan(1e-11);
  });
  test('large B approaches the large-batch limit with a 1/B correction (tanh)', () => {
    const lim = bnGradientRate('tanh', null);
    for (const B of [256, 1024, 4096]) expect(Math.abs(bnRateIntegral('tanh', B) - lim)).toBeLessThan(3 / B);
  });
  test('a ReLU that is constant on the support of the BN output has no rate: a clear error, not NaN', () => {
    // B = 4: max_i x_i = √3, so relu(0.3x − 0.3√3) is 0 for every sample of every batch
    expect(() => bnGradientRate('relu', 4, { gamma: 0.3, beta: -0.3 * Math.sqrt(3) })).toThrow(/not constant on the support/);
    expect(() => bnGradientRate('relu', 4, { gamma: 0.3, beta: -1 })).toThrow(/activation/);
  });
  const acts = fc.constantFrom('relu', 'leaky-relu:0.1', 'tanh', 'gelu', 'silu', 'elu:1', 'elu:0.5', 'expr:x^3 + x', 'expr:sin(x)');
  fcTest.prop(
    [acts, fc.integer({ min: 4, max: 512 }), fc.double({ min: 0.3, max: 2, noNaN: true }), fc.double({ min: -1, max: 1, noNaN: true })],
    { numRuns: 25 },
  )('λ > 1 for every non-constant activation with BN (Yang Thm 9)', (a, B, gamma, beta) => {
    // ReLU is constant (0) on the whole support of the BN output when γ√(B−1) + β ≤ 0 (max_i x_i = √(B−1)):
    // Thm 9's "non-constant φ" excludes it (that case must throw, below)
    fc.pre(a !== 'relu' || gamma * Math.sqrt(B - 1) + beta > 0);
    expect(bnGradientRate(a, B, { gamma, beta })).toBeGreaterThan(1);
    expect(bnGradientRate(a, null, { gamma, beta })).toBeGreaterThan(1);
  });
});

describe('large-batch rates and the BSB1 fixed point (theory-notes tables)', () => {
  test.each([
    ['relu', 1.46694],
    ['leaky-relu:0.01', 1.45337],
    ['leaky-relu:0.1', 1.34278],
    ['leaky-relu:0.2', 1.2436],
    ['gelu', 1.31884],
    ['silu', 1.21208],
    ['tanh', 1.17781],
    ['elu:1', 1.07901],
    ['identity', 1],
  ])('λ∞(%s) = %f', (a, v) => {
    expect(Math.abs(largeBatchRate(a) - v)).toBeLessThan(5e-6);
  });
  test('leaky ReLU matches its closed form 1/(1 − (1−a)²/(π(1+a²)))', () => {
    for (const a of [0.01, 0.1, 0.3])
      expect(largeBatchRate(`leaky-relu:${a}`)).toBeCloseTo(1 / (1 - (1 - a) ** 2 / (Math.PI * (1 + a * a))), 13);
  });
  test.each([
    [-1, 2.32],
    [-0.5, 1.809],
    [0, 1.467],
    [0.5, 1.249],
    [1, 1.12],
    [2, 1.018],
  ])('shifted ReLU β = %f: λ∞ = %f = Φ(β)/Var relu(N(β,1))', (beta, v) => {
    expect(Math.abs(largeBatchRate('relu', { beta }) - v)).toBeLessThan(6e-4);
  });
  test('γ cancels for the ReLU family (homogeneity) and enters squared for the identity', () => {
    expect(bnGradientRate('relu', 16, { gamma: 3 })).toBeCloseTo(reluRateYang(16), 12);
    expect(bnGradientRate('identity', null, { gamma: 0.2 })).toBeCloseTo(1, 12);
  });
  test.each([
    [8, 0.2501],
    [32, 0.3023],
    [128, 0.3144],
  ])('ReLU BSB1: q* = 1/2 and c* = 𝒥(−1/(B−1)) at B = %i (%f)', (B, c) => {
    const fp = bsb1FixedPoint('relu', B);
    expect(fp.q).toBeCloseTo(0.5, 14);
    expect(Math.abs(fp.c - c)).toBeLessThan(5e-5);
    const q = bsb1FixedPoint(reluQuad, B);
    expect(Math.abs(q.c - fp.c)).toBeLessThan(1e-9);
  });
  test("ReLU mean of one BN output equals Yang Thm 5's Γ ratio and tends to 1/√(2π)", () => {
    for (const B of [4, 10, 1000]) {
      const m = sphereMoments(reluQuad, 1, 0, B).m1;
      const g = (Math.sqrt(B - 1) * Math.exp(lgamma((B - 1) / 2) - lgamma(B / 2))) / (2 * Math.sqrt(Math.PI));
      expect(Math.abs(m - g)).toBeLessThan(1e-10);
    }
  });
  test('linear-act-bn has the same large-batch ReLU factor π/(π−1) (notes P9)', () => {
    expect(largeBatchRate('relu', {}, { order: 'linear-act-bn', sigmaW2: 2 })).toBeCloseTo(Math.PI / (Math.PI - 1), 12);
  });
  test('batch below 4 is refused with the reason', () => {
    expect(() => reluRateYang(3)).toThrow(/batch: 3 is not allowed/);
  });
});
