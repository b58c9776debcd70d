// GroupNorm theory for dense nets (src/theory/layers/groupnorm.ts): at infinite width with G fixed each group of
// n/G units self-averages, so the map is layernorm's (docs/theory.md, "GroupNorm"). Checked by: (1) the records
// of predict() for Linear → GN(G) → φ equal those of Linear → LN → φ for any G, γ, β, ε, φ (a fast-check property:
// the claim itself, as the table computes it); (2) sampled nets (the float64 sampler, src/sample, its groupnorm
// kernel) at widths 256 (G = 4) and 1024 (G = 16), agree with the layernorm theory within the finite-width bias bound
// derived below, and the same band excludes the BatchNorm value (the test has power). Image nets: groupnormConv.test.ts.
//
// Tolerance, lnSampled.test.ts's with each group's share. It compares m = mean over (seed, interior layer) of
// ln R_l, R_l = ‖∂L/∂h_l‖²/‖∂L/∂h_{l+1}‖², with ln g∞ (ε = σ_b² = 0): E ln R = ln g∞ + b/n − V/2 + O(n⁻²). Of the
// four 1/n terms of layernorm's b, two come from statistics over the normalized set, which for GroupNorm is a
// group of n/G units: the projection (1 + ρ per group: G(1 + ρ)/n) and the inverse sample variance
// (E[m/χ²_{m−1}] = 1 + 3/m with m = n/G: 3G/n); the other two are over all n units and keep their size: the
// fluctuation of ‖x‖² (c₃) and the orthogonality of the exact ∂L/∂x to x (c₄: GN(Wx) is scale invariant too). So
//   |b| ≤ G·(1 + ρ + 3) + |c₃| + c₄,
// and the test allows |m − ln g∞| ≤ |b|/n + V/2 + Z_FAMILY·SE.
import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { makeSpec, parseActivation } from '../../src/network/index.js';
import { forwardBackward } from '../../src/sample/index.js';
import { bnGradientRate, predict } from '../../src/theory/index.js';
import { expectAgrees, expectExcludes } from '../helpers/agreement.js';

// 8 checks over N = 28 or 84 values (t with 27–83 degrees of freedom): the two-sided tail at 3 is 0.36–0.6% per
// check, ≤ 5% for the family from the band alone, less in fact since the bias bound adds absolute values
const Z_FAMILY = 3;
const L = 10;
const B = 4;
const LAYERS: [number, number] = [2, 8];

const gnList = (n: number, G: number, a: string, norm: Record<string, number>) =>
  Array.from({ length: L }, () => [
    { kind: 'dense', width: n },
    { kind: 'groupnorm', groups: G, ...norm },
    { kind: 'act', activation: a },
  ]).flat();

describe('Linear → GN(G) → φ at infinite width is Linear → LN → φ', () => {
  fcTest.prop(
    {
      G: fc.constantFrom(1, 2, 4, 8, 32),
      a: fc.constantFrom('relu', 'tanh', 'gelu', 'silu'),
      gamma: fc.double({ min: 0.3, max: 2, noNaN: true }),
      beta: fc.double({ min: -0.5, max: 0.5, noNaN: true }),
      eps: fc.constantFrom(0, 1e-5, 0.1),
    },
    { numRuns: 15 },
  )('every record of predict() equals layernorm’s (G, φ, γ, β, ε)', ({ G, a, gamma, beta, eps }) => {
    const norm = { gamma, beta, eps };
    const gn = predict(makeSpec({ layers: gnList(64, G, a, norm), inputDim: 64, batch: 8 }));
    const ln = predict(makeSpec({ order: 'linear-ln-act', activation: a, depth: L, width: 64, inputDim: 64, batch: 8, bn: norm }));
    expect(gn.records.length).toBeGreaterThan(3 * L);
    const key = (r: { quantity: string; layer: number | null }) => `${r.quantity}@${r.layer}`;
    const want = new Map(ln.records.map((r) => [key(r), r.value]));
    for (const r of gn.records) if (want.has(key(r))) expect(r.value, key(r)).toBe(want.get(key(r)));
    expect(gn.predictedGrowth).toBe(ln.predictedGrowth);
  });
});

/** E f(z), z ~ N(0,1): composite Simpson on [−12, 12], h = 1e-3 (kink of ReLU at a node; error < 1e-10). */
function simpson(f: (z: number) => number): number {
  const N = 24000;
  const h = 24 / N;
  let s = 0;
  for (let i = 0; i <= N; i++) {
    const z = -12 + i * h;
    s += (i === 0 || i === N ? 1 : i % 2 ? 4 : 2) * f(z) * Math.exp(-0.5 * z * z);
  }
  return (s * h) / 3 / Math.sqrt(2 * Math.PI);
}

/** |b| of the header: G·(1 + ρ + 3) + |c₃| + c₄. */
function biasCoefficient(G: number, actName: string): number {
  const { phi, dphi } = parseActivation(actName);
  const e1 = simpson((z) => dphi(z) ** 2);
  const e2 = simpson((z) => phi(z) ** 2);
  const rho = simpson((z) => z * z * dphi(z) ** 2) / e1;
  const c3 = (simpson((z) => phi(z) ** 4) - e2 * e2) / (e2 * e2) - (simpson((z) => dphi(z) ** 2 * phi(z) ** 2) - e1 * e2) / (e1 * e2);
  const c4 = simpson((z) => phi(z) ** 2 * dphi(z) ** 2) / (e1 * e2);
  return G * (1 + rho + 3) + Math.abs(c3) + c4;
}

describe('sampled GroupNorm nets at growing width against the layernorm theory', () => {
  const cases: [string, number, number, number][] = [
    ['relu', 256, 4, 12],
    ['relu', 1024, 16, 4],
    ['tanh', 256, 4, 12],
    ['tanh', 1024, 16, 4],
  ];
  test.each(cases)('%s, width %i, G = %i (%i seeds)', { timeout: 120_000 }, (a, n, G, seeds) => {
    const norm = { gamma: 1, beta: 0, eps: 0 };
    const spec = makeSpec({ layers: gnList(n, G, a, norm), inputDim: n, batch: B });
    const lnR: number[] = [];
    for (let s = 1; s <= seeds; s++) {
      const st = forwardBackward(spec, s);
      for (let l = LAYERS[0]; l <= LAYERS[1]; l++) lnR.push(st.logGradHSq[l - 1] - st.logGradHSq[l]);
    }
    const gInf = predict(makeSpec({ order: 'linear-ln-act', activation: a, depth: L, width: n, batch: B, bn: norm })).predictedGrowth;
    const N = lnR.length;
    const m = lnR.reduce((x, y) => x + y, 0) / N;
    const V = lnR.reduce((x, y) => x + (y - m) ** 2, 0) / (N - 1);
    const se = Math.sqrt(V / N);
    const opts = { relTol: 0, absTol: biasCoefficient(G, a) / n + V / 2, se, z: Z_FAMILY };
    if (process.env.GN_SAMPLED_VERBOSE)
      console.log(
        `GN ${a} n=${n} G=${G}: sampled ln growth ${m.toFixed(5)} ± ${se.toFixed(5)}, LN theory ${Math.log(gInf).toFixed(5)}, band ${(opts.absTol + Z_FAMILY * se).toExponential(2)}`,
      );
    expectAgrees(Math.log(gInf), m, opts, `GN ${a} n=${n} G=${G}, ln growth`);
    // power: BatchNorm's value (ReLU: large batch, π/(π−1); tanh: B = 4, where E φ′²/Var φ differs from LN's)
    const gBN = a === 'relu' ? Math.PI / (Math.PI - 1) : bnGradientRate(a, B, norm);
    expectExcludes(Math.log(gBN), m, opts, `ln of the BN value ${gBN.toFixed(5)}`);
  });
});
