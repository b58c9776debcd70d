// Shallow nets: the growth window never includes layer 1 (whose growth is far from the stationary rate),
// and a net with no interior has no measured growth rather than a biased one.
import { describe, expect, it } from 'vitest';
import { interiorLayers, sampleNetwork } from '../../src/sample/index.js';
import { makeSpec } from '../../src/network/index.js';
import { noInteriorReason, predict } from '../../src/theory/index.js';
import { expectAgrees, expectExcludes } from '../helpers/agreement.js';

// Standard errors allowed on top of the 0.02 allowance for a depth-4 net's short window (expectAgrees, the rule of
// compare and reproduce), above the default AGREEMENT_Z = 2: the SE is over 12 seeds, so the error is t with 11
// degrees of freedom, whose two-sided tail is 0.2% at 4 (1.2% at 3, 7% at 2). The check keeps its power at 4:
// the old window's growth (≈ 1.08) is excluded by a wide margin.
const Z_SEEDS = 4;

describe('the interior window of shallow nets', () => {
  it('windows by depth (hand-listed): never layer 1; none below depth 3', () => {
    expect(interiorLayers(2)[1]).toBeLessThan(interiorLayers(2)[0]);
    expect(interiorLayers(3)).toEqual([2, 2]);
    expect(interiorLayers(4)).toEqual([2, 3]);
    expect(interiorLayers(6)).toEqual([2, 5]);
    expect(interiorLayers(7)).toEqual([2, 5]);
    expect(interiorLayers(40)).toEqual([6, 34]); // d = min(5, ⌊6⌋) at each end
    expect(noInteriorReason(2)).toMatch(/depth 2 has no interior/);
    expect(noInteriorReason(3)).toBeNull();
  });

  it('depth 4, B = 32: the measured growth matches λ(B) (the old window with layer 1 gave ≈ 1.08 against 1.52)', async () => {
    const spec = makeSpec({ depth: 4, width: 256, batch: 32 });
    const res = await sampleNetwork(spec, { seeds: 12, threads: 1, predictedGrowth: null });
    expect(res.interior).toEqual([2, 3]);
    const lambda = predict(spec).predictedGrowth;
    expect(lambda).toBeGreaterThan(1.4);
    const opts = { relTol: 0, absTol: 0.02, se: res.measuredGrowthSE, z: Z_SEEDS };
    expectAgrees(lambda, res.measuredGrowth, opts, 'sampled growth');
    expectExcludes(1.08, res.measuredGrowth, opts, 'the old window with layer 1');
    // layer 1 is what the old window averaged in: far below the rate
    const g1 = res.records.find((r) => r.quantity === 'grad_growth' && r.layer === 1 && r.seed === null)!;
    expect(g1.value).toBeLessThan(0.8);
    // the growth interval is a Student-t one over 12 seeds: t_{0.975,11} = 2.201 (a printed table)
    const g = res.records.find((r) => r.quantity === 'growth' && r.seed === null)!;
    expect(Math.log(g.hi! / g.value)).toBeCloseTo((2.201 * res.measuredGrowthSE) / res.measuredGrowth, 10);
  });

  it('depth 2: no growth record, and the theory of a residual net reports none either', async () => {
    const res = await sampleNetwork(makeSpec({ depth: 2, width: 16, batch: 8 }), { seeds: 2, threads: 1, predictedGrowth: null });
    expect(Number.isFinite(res.measuredGrowth)).toBe(false);
    expect(res.records.some((r) => r.quantity === 'growth')).toBe(false);
    const p = predict(makeSpec({ depth: 2, width: 16, batch: 8, residual: { scale: 1 } }));
    expect(p.notes.some((n) => n.includes('depth 2 has no interior'))).toBe(true);
    const plain = predict(makeSpec({ depth: 2, width: 16, batch: 8 }));
    expect(plain.notes.some((n) => n.includes('depth 2 has no interior') && n.includes('no measured growth'))).toBe(true);
    expect(predict(makeSpec({ depth: 3, width: 16, batch: 8 })).notes.some((n) => n.includes('no interior'))).toBe(false);
  });
});
