// The single-pass moment routines (issue 13 item 6) against the integrals they replace, bit for bit: one
// rule, φ and φ′ evaluated once per node, each sum with its own terms in its own order. The references
// below are the routines as they were written before (one gaussExpectSplit per moment; the nested pair
// rule calling φ′ at every node), so any change of rounding shows as a difference in the last bit.
import { describe, expect, test } from 'vitest';
import type { Activation } from '../../src/network/index.js';
import {
  cMap,
  gaussExpectSplit,
  gaussMoments,
  kinksOf,
  normalRule,
  pairMoments,
  pairPhiPhi,
  toActivation,
} from '../../src/theory/index.js';

// the activations the quadrature serves (the piecewise-linear family has closed forms: closedForms.ts)
const ACTS = ['tanh', 'gelu', 'silu', 'softplus', 'elu', 'expr:x*tanh(x)'];

/** gaussMoments as seven separate integrals (the code before the single pass). */
function momentsByIntegral(act: Activation, mean: number, variance: number) {
  const kinks = kinksOf(act);
  const { phi, dphi } = act;
  const s = Math.sqrt(variance);
  const m1 = gaussExpectSplit(phi, mean, variance, kinks);
  const centred = gaussExpectSplit((x) => (phi(x) - m1) ** 2, mean, variance, kinks);
  const second = gaussExpectSplit((x) => phi(x) ** 2, mean, variance, kinks);
  const d1 = gaussExpectSplit(dphi, mean, variance, kinks);
  const d2 = gaussExpectSplit((x) => dphi(x) ** 2, mean, variance, kinks);
  const zd1 = s === 0 ? 0 : gaussExpectSplit((x) => ((x - mean) / s) * dphi(x), mean, variance, kinks);
  const zphidphi = s === 0 ? 0 : gaussExpectSplit((x) => ((x - mean) / s) * phi(x) * dphi(x), mean, variance, kinks);
  return { mean: m1, second, variance: Math.max(0, centred), d1, d2, zd1, zphidphi };
}

/** The nested pair rule with φ′ called at every node (the code before φ′ was taken from φ for tanh). */
function pairByNested(act: Activation, q: number, c: number) {
  const { phi, dphi } = act;
  const kinks = kinksOf(act);
  const m = 8;
  if (q === 0) return { phiphi: phi(0) ** 2, dphidphi: dphi(0) ** 2 };
  const s = Math.sqrt(q);
  const sc = s * Math.sqrt(Math.max(0, 1 - c * c));
  const outer = normalRule(
    kinks.map((k) => k / s),
    m,
  );
  let pp = 0;
  let dd = 0;
  for (let i = 0; i < outer.nodes.length; i++) {
    const z1 = outer.nodes[i];
    const u1 = s * z1;
    const f1 = phi(u1);
    const g1 = dphi(u1);
    const m2 = s * c * z1;
    if (sc === 0) {
      pp += outer.weights[i] * f1 * phi(m2);
      dd += outer.weights[i] * g1 * dphi(m2);
      continue;
    }
    const r = normalRule(
      kinks.map((k) => (k - m2) / sc),
      m,
    );
    let a = 0;
    let b = 0;
    for (let j = 0; j < r.nodes.length; j++) {
      const u2 = m2 + sc * r.nodes[j];
      a += r.weights[j] * phi(u2);
      b += r.weights[j] * dphi(u2);
    }
    pp += outer.weights[i] * f1 * a;
    dd += outer.weights[i] * g1 * b;
  }
  return { phiphi: pp, dphidphi: dd };
}

describe('single-pass moments, bit for bit the integrals they replace', () => {
  test("the table's tanh has φ′(x) = 1 − φ(x)² to the last bit (the premise of taking φ′ from φ)", () => {
    const act = toActivation('tanh');
    expect(act.phi).toBe(Math.tanh);
    let bad = 0;
    for (let i = -20000; i <= 20000; i++) {
      const x = i * 1e-3 + i * 1.234567e-9;
      if (!Object.is(act.dphi(x), 1 - Math.tanh(x) ** 2)) bad++;
    }
    for (const x of [0, -0, 1e-300, -1e-300, 19.0625, -19.0625, 40, -40, 1e300]) if (!Object.is(act.dphi(x), 1 - Math.tanh(x) ** 2)) bad++;
    expect(bad).toBe(0);
  });

  test.each(ACTS)('gaussMoments(%s) equals the seven gaussExpectSplit integrals', (name) => {
    const act = toActivation(name);
    for (const variance of [0, 1e-8, 0.01, 0.3, 1, 2.5, 9]) {
      for (const mean of [0, 0.37, -1.2]) {
        const got = gaussMoments(act, mean, variance);
        const want = momentsByIntegral(act, mean, variance);
        for (const k of Object.keys(want) as (keyof typeof want)[]) {
          expect(Object.is(got[k], want[k]), `${name} μ=${mean} v=${variance} ${k}: ${got[k]} vs ${want[k]}`).toBe(true);
        }
      }
    }
  });

  test.each(ACTS)('pairMoments(%s) and pairPhiPhi equal the nested rule with φ′ at every node', (name) => {
    const act = toActivation(name);
    for (const q of [0, 1e-6, 0.2, 1, 3.7]) {
      for (const c of [-1, -0.6, 0, 0.4, 0.999, 1]) {
        const got = pairMoments(act, q, c);
        const want = pairByNested(act, q, c);
        expect(Object.is(got.phiphi, want.phiphi), `${name} q=${q} c=${c} φφ`).toBe(true);
        expect(Object.is(got.dphidphi, want.dphidphi), `${name} q=${q} c=${c} φ′φ′`).toBe(true);
        expect(Object.is(pairPhiPhi(act, q, c), want.phiphi), `${name} q=${q} c=${c} pairPhiPhi`).toBe(true);
      }
    }
  });

  test('cMap is (σ_w² E φφ + σ_b²)/(σ_w² E φ² + σ_b²) with the same bits as before', () => {
    for (const name of ['tanh', 'gelu', 'relu']) {
      const act = toActivation(name);
      for (const c of [0, 0.3, 0.9]) {
        const want = (1.7 * pairByNested(act, 0.8, c).phiphi + 0.1) / (1.7 * momentsByIntegral(act, 0, 0.8).second + 0.1);
        if (name === 'relu') expect(Math.abs(cMap(act, 1.7, 0.1, 0.8, c) - want)).toBeLessThan(1e-12);
        else expect(Object.is(cMap(act, 1.7, 0.1, 0.8, c), want)).toBe(true);
      }
    }
  });
});
