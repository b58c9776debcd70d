// The Mehler series of the pair moments (moments.ts: pairSeries, pairFromSeries, layerMomentsFn), which deep
// plain nets (dense → φ, more than SERIES_MIN_DEPTH blocks) use instead of the nested composite rule.
//
// Stated bound (docs/theory.md §1): for every |c| ≤ 1,
//   |E φφ(series) − E φφ| ≤ 4e-14·E φ²  and  |E φ′φ′(series) − E φ′φ′| ≤ 4e-14·E φ′²,
// from the truncation (≤ 2·tol, tol = SERIES_TOL = 1e-14, by Parseval), the rule check (≤ tol: the rule
// kept agrees with the one of twice the nodes to tol) and rounding (≤ K·2⁻⁵³ with K ≤ 400 terms, < 1e-13·…
// in the worst case but ≈ 1e-15 in practice: we allow tol). Checked here against a closed form (the erf
// activation) and against the nested rule (its own documented accuracy, ~1e-10·E φ² for tanh-like φ at
// q ≤ 5, added to the bound).
import { fc, test as fcTest } from '@fast-check/vitest';
import { afterEach, describe, expect, test } from 'vitest';
import { type Activation, makeSpec } from '../../src/network/index.js';
import { erf } from '../../src/network/special.js';
import {
  chi1,
  gaussD2,
  gaussMoments,
  gaussSecond,
  layerMomentsRule,
  pairFromSeries,
  pairMoments,
  pairSeries,
  predict,
  qMap,
  SERIES_MIN_DEPTH,
  SERIES_TOL,
  toActivation,
} from '../../src/theory/index.js';

const BOUND = 4 * SERIES_TOL;
const NESTED = 1e-10; // the nested rule's accuracy (docs/theory.md §1)

/** erf(a x): E φ(u1)φ(u2) = (2/π) asin(r c/(1 + r)), E φ′(u1)φ′(u2) = (4a²/π)/√((1 + r)² − (r c)²), r = 2a²q. */
function erfCase(a: number) {
  const act = toActivation({
    name: `erf-test:${a}`,
    phi: (x: number) => erf(a * x),
    dphi: (x: number) => ((2 * a) / Math.sqrt(Math.PI)) * Math.exp(-a * a * x * x),
  }) as Activation;
  const closed = (q: number, c: number) => {
    const r = 2 * a * a * q;
    return {
      phiphi: (2 / Math.PI) * Math.asin((r * c) / (1 + r)),
      dphidphi: (4 * a * a) / Math.PI / Math.sqrt((1 + r) ** 2 - (r * c) ** 2),
    };
  };
  return { act, closed };
}

describe('pairSeries against the closed form of erf', () => {
  const { act, closed } = erfCase(1.3);
  test.each([1e-6, 1e-3, 0.05, 0.3, 1, 2, 3])('q = %s', (q) => {
    const sr = pairSeries(act, q);
    expect(sr).not.toBeNull();
    const e2 = closed(q, 1).phiphi;
    const d2 = closed(q, 1).dphidphi;
    expect(Math.abs(sr!.second - e2)).toBeLessThanOrEqual(BOUND * e2);
    expect(Math.abs(sr!.d2 - d2)).toBeLessThanOrEqual(BOUND * d2);
    for (const c of [-1, -0.9, -0.2, 0, 0.3, 0.7, 0.9, 0.99, 0.999999, 1 - 1e-12, 1]) {
      const got = pairFromSeries(sr!, c);
      const want = closed(q, c);
      expect(Math.abs(got.phiphi - want.phiphi), `φφ at c = ${c}`).toBeLessThanOrEqual(BOUND * e2);
      expect(Math.abs(got.dphidphi - want.dphidphi), `φ′φ′ at c = ${c}`).toBeLessThanOrEqual(BOUND * d2);
    }
  });
  test('the fixed point c = 1 is exact: E φφ(1) = E φ² and E φ′φ′(1) = E φ′², bit for bit', () => {
    const sr = pairSeries(act, 0.7)!;
    const p = pairFromSeries(sr, 1);
    expect(p.phiphi).toBe(sr.second);
    expect(p.dphidphi).toBe(sr.d2);
  });
  test('1 − c′ near c = 1 to a relative 1e-9 (the difference form): E φ² − E φφ(c) ≈ (1 − c)·q·E φ′(u1)φ′(u2)', () => {
    // Price's theorem: d/dc E φ(u1)φ(u2) = q·E φ′(u1)φ′(u2); at 1 − c = 1e-9 the first-order term is exact
    // to (1 − c)·|second derivative|/2 relative, ≲ 1e-9 here.
    const q = 0.5;
    const sr = pairSeries(act, q)!;
    const t = 1e-9;
    const diff = sr.second - pairFromSeries(sr, 1 - t).phiphi;
    const want = t * q * closed(q, 1).dphidphi;
    expect(Math.abs(diff - want) / want).toBeLessThan(1e-8);
  });
});

describe('pairSeries against the nested rule (smooth table activations)', () => {
  test.each(['tanh', 'gelu', 'silu', 'softplus'])('%s', (name) => {
    const act = toActivation(name);
    for (const q of [1e-3, 0.05, 0.3, 0.7, 1.5]) {
      const sr = pairSeries(act, q);
      expect(sr, `${name} at q = ${q}`).not.toBeNull();
      const g = gaussMoments(act, 0, q);
      expect(Math.abs(sr!.second - g.second)).toBeLessThanOrEqual((BOUND + NESTED) * g.second);
      expect(Math.abs(sr!.d2 - g.d2)).toBeLessThanOrEqual((BOUND + NESTED) * g.d2);
      expect(Math.abs(sr!.mean - g.mean)).toBeLessThanOrEqual((BOUND + NESTED) * Math.sqrt(g.second));
      for (const c of [-0.95, -0.3, 0, 0.4, 0.8, 0.95, 0.999, 1]) {
        const s = pairFromSeries(sr!, c);
        const n = pairMoments(act, q, c);
        expect(Math.abs(s.phiphi - n.phiphi), `${name} q = ${q} c = ${c}`).toBeLessThanOrEqual((BOUND + NESTED) * g.second);
        expect(Math.abs(s.dphidphi - n.dphidphi), `${name} q = ${q} c = ${c}`).toBeLessThanOrEqual((BOUND + NESTED) * g.d2);
      }
    }
  });
  test('a kinked activation has no series (the nested rule cuts at the kink)', () => {
    expect(pairSeries(toActivation('elu:1'), 1)).toBeNull();
    expect(pairSeries(toActivation('expr:abs(x)'), 1)).toBeNull();
  });
});

describe('pairSeries invariants', () => {
  const acts = fc.constantFrom('tanh', 'gelu', 'silu', 'softplus');
  // Mehler: E φφ(c) = Σ a_k² c^k with a_k² ≥ 0, so it is nondecreasing on [0, 1] and bounded by E φ² on
  // [−1, 1] (Cauchy–Schwarz); the series keeps both up to its bound.
  fcTest.prop(
    [
      acts,
      fc.double({ min: 1e-4, max: 1.5, noNaN: true }),
      fc.double({ min: -1, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
    ],
    {
      numRuns: 40,
    },
  )('|E φφ| ≤ E φ², |E φ′φ′| ≤ E φ′², and both nondecreasing in c on [0, 1]', (name, q, c, c2) => {
    const sr = pairSeries(toActivation(name), q)!;
    expect(sr).not.toBeNull();
    const p = pairFromSeries(sr, c);
    expect(Math.abs(p.phiphi)).toBeLessThanOrEqual(sr.second * (1 + BOUND));
    expect(Math.abs(p.dphidphi)).toBeLessThanOrEqual(sr.d2 * (1 + BOUND));
    const [lo, hi] = [Math.min(Math.abs(c), c2), Math.max(Math.abs(c), c2)];
    const a = pairFromSeries(sr, lo);
    const b = pairFromSeries(sr, hi);
    expect(a.phiphi).toBeLessThanOrEqual(b.phiphi + BOUND * sr.second);
    expect(a.dphidphi).toBeLessThanOrEqual(b.dphidphi + BOUND * sr.d2);
  });
});

describe('predict of deep plain nets: the series path against the nested rule', () => {
  afterEach(() => {
    layerMomentsRule.mode = 'series';
  });
  // Each block's moments differ by δ ≤ (4e-14 + 1e-10)·E φ² between the two paths. The q- and c-maps
  // contract here (slope ≤ χ < 1 at the fixed point: ordered phase, χ₁ = 0.94 for tanh at (1.5, 0.05), 0.5 for
  // GELU at (2, 0), 0.45 for SiLU at (1.5, 0.05)), so the difference stays below δ·σ_w²/(1 − χ) ≤ 1e-10·1.5·17
  // ≈ 2.6e-9, relative in q and absolute in the correlation; the backward factors (E φ′², E φ′φ′) inherit it.
  // A residual stream does not contract (q grows block by block): there the differences add, ≤ L·δ ≈ 7e-9
  // at 60 blocks.
  const cases: [string, number, number, Parameters<typeof makeSpec>[0]][] = [
    ['tanh σ_w² = 1.5, σ_b² = 0.05', 160, 3e-9, { order: 'linear-act', activation: 'tanh', init: { sigmaW2: 1.5, sigmaB2: 0.05 } }],
    ['gelu σ_w² = 2, σ_b² = 0 (q → 0)', 160, 3e-9, { order: 'linear-act', activation: 'gelu' }],
    ['silu σ_w² = 1.5, σ_b² = 0.05', 160, 3e-9, { order: 'linear-act', activation: 'silu', init: { sigmaW2: 1.5, sigmaB2: 0.05 } }],
    [
      'residual tanh, scale 0.5, σ_w² = 1, σ_b² = 0.05',
      60,
      7e-9,
      { order: 'linear-act', activation: 'tanh', residual: { scale: 0.5 }, init: { sigmaW2: 1, sigmaB2: 0.05 } },
    ],
  ];
  test.each(cases)(
    '%s, %i layers',
    (_n, depth, TOL, s) => {
      const spec = makeSpec({ depth, width: 64, batch: 32, ...s });
      const fast = predict(spec);
      layerMomentsRule.mode = 'nested';
      const ref = predict(spec);
      expect(fast.records.length).toBe(ref.records.length);
      const key = (r: { quantity: string; layer: number | null }) => `${r.quantity}@${r.layer}`;
      const refBy = new Map(ref.records.map((r) => [key(r), r.value]));
      // second moments of the reference: q_l (the block output) and qh_l = σ_w² q_{l−1} + σ_b² (the dense output)
      const qOut = (l: number) => (l === 0 ? 1 : refBy.get(`q@${l}`)!);
      const qh = (l: number) => spec.init.sigmaW2 * qOut(l - 1) + spec.init.sigmaB2;
      let checked = 0;
      for (const r of fast.records) {
        const want = refBy.get(key(r));
        expect(want, key(r)).toBeDefined();
        const q = r.quantity;
        const l = r.layer!;
        // differences of moments (1 − c, a mean near 0) carry the moments' absolute error
        if (q === 'corr') expect(Math.abs(r.value - want!), key(r)).toBeLessThanOrEqual(TOL);
        else if (q === 'preact_var') expect(Math.abs(r.value - want!), key(r)).toBeLessThanOrEqual(TOL * qh(l));
        else if (q === 'postact_var') expect(Math.abs(r.value - want!), key(r)).toBeLessThanOrEqual(TOL * qOut(l));
        else if (q === 'postact_mean') expect(Math.abs(r.value - want!), key(r)).toBeLessThanOrEqual(TOL * Math.sqrt(qOut(l)));
        else if (q.startsWith('log_') || q === 'cum_log_growth')
          // a log of a product over the blocks: the relative errors add
          expect(Math.abs(r.value - want!), key(r)).toBeLessThanOrEqual(depth * TOL);
        else expect(Math.abs(r.value - want!), key(r)).toBeLessThanOrEqual(TOL * Math.abs(want!) + 1e-300);
        checked++;
      }
      expect(checked).toBeGreaterThan(depth * 5);
      expect(Math.abs(fast.predictedGrowth - ref.predictedGrowth)).toBeLessThanOrEqual(TOL * ref.predictedGrowth);
    },
    60_000,
  );
  test(`at most ${SERIES_MIN_DEPTH} blocks: the nested rule, bit for bit`, () => {
    const spec = makeSpec({ depth: SERIES_MIN_DEPTH, width: 64, batch: 32, order: 'linear-act', activation: 'tanh' });
    const a = predict(spec);
    layerMomentsRule.mode = 'nested';
    const b = predict(spec);
    expect(JSON.stringify(a.records)).toBe(JSON.stringify(b.records));
  });
});

describe('gaussSecond and gaussD2: gaussMoments’s second and d2, bit for bit, at a seventh of the cost', () => {
  const acts = fc.constantFrom('relu', 'leaky-relu:0.1', 'tanh', 'gelu', 'silu', 'elu:1', 'softplus', 'expr:abs(x) + sin(x)');
  fcTest.prop([acts, fc.double({ min: 0, max: 20, noNaN: true })], { numRuns: 60 })('same bits as gaussMoments', (name, q) => {
    const act = toActivation(name);
    const g = gaussMoments(act, 0, q);
    expect(gaussSecond(act, q)).toBe(g.second);
    expect(gaussD2(act, q)).toBe(g.d2);
  });
  test('qMap and χ₁ keep their formulas: σ_w² E φ² + σ_b² and σ_w² E φ′² from gaussMoments', () => {
    for (const name of ['tanh', 'gelu', 'elu:1']) {
      const act = toActivation(name);
      for (const q of [0.01, 0.4, 3]) {
        expect(qMap(act, 1.7, 0.1, q)).toBe(1.7 * gaussMoments(act, 0, q).second + 0.1);
        expect(chi1(act, 1.7, 0.1, q)).toBe(1.7 * gaussMoments(act, 0, q).d2);
      }
    }
  });
});
