// Student-t intervals, clipped to a quantity's range; unknown spec fields named with the nearest one.
import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance, makeSpec, nearestName, SpecError, studentT975 } from '../../src/network/index.js';
import { clipInterval, quantityRange, summarize } from '../../src/records/index.js';
import { studentT975 as fromTheory } from '../../src/theory/index.js';

describe('summarize: Student-t 95% intervals', () => {
  it('two seeds: half-width t_{0.975,1}·sd/√2 = 12.706·sd/√2 (a printed table), 6.5× the normal one', () => {
    const s = summarize([1, 2]);
    // sd of {1, 2} = 1/√2; half = 12.706 · (1/√2)/√2 = 6.353
    expect(s.mean).toBe(1.5);
    expect(s.sd).toBeCloseTo(Math.SQRT1_2, 14);
    expect(s.hi - s.mean).toBeCloseTo(6.353, 12);
    expect(s.mean - s.lo).toBeCloseTo(6.353, 12);
    expect((s.hi - s.mean) / ((1.959963984540054 * s.sd) / Math.SQRT2)).toBeCloseTo(6.48, 2);
  });

  it('four and thirty-one seeds use 3 and 30 degrees of freedom', () => {
    const v4 = [1, 2, 3, 4];
    const s4 = summarize(v4);
    const sd4 = Math.sqrt(((1.5 ** 2 + 0.5 ** 2) * 2) / 3);
    expect(s4.hi - s4.mean).toBeCloseTo((3.182 * sd4) / 2, 12);
    const v31 = Array.from({ length: 31 }, (_, i) => i);
    const s31 = summarize(v31);
    expect((s31.hi - s31.mean) / (s31.sd / Math.sqrt(31))).toBeCloseTo(2.042, 12);
  });

  it('one value has no interval; the theory room re-exports the same quantiles', () => {
    expect(summarize([3])).toEqual({ mean: 3, sd: 0, lo: 3, hi: 3, n: 1 });
    expect(fromTheory).toBe(studentT975);
    expect(studentT975(0)).toBeNaN();
    // beyond the table: within 1e-3 of t_{0.975,60} = 2.000 and t_{0.975,120} = 1.980 (printed tables)
    expect(studentT975(60)).toBeCloseTo(2.0, 2);
    expect(studentT975(120)).toBeCloseTo(1.98, 2);
  });

  it('accuracy bands stay in [0, 1]; correlations in [−1, 1]; unbounded quantities are left alone', () => {
    const acc = summarize([0.97, 1, 1], quantityRange('test_accuracy'));
    expect(acc.hi).toBe(1);
    expect(acc.lo).toBeGreaterThan(0.9);
    const unclipped = summarize([0.97, 1, 1]);
    expect(unclipped.hi).toBeGreaterThan(1);
    expect(unclipped.lo).toBe(acc.lo);
    expect(summarize([0, 0.02], quantityRange('accuracy')).lo).toBe(0);
    expect(clipInterval(-1.5, 0.2, quantityRange('corr'))).toEqual([-1, 0.2]);
    expect(quantityRange('log_grad_h_sq')).toBeUndefined();
    expect(clipInterval(-5, 5, undefined)).toEqual([-5, 5]);
  });
});

describe('unknown spec fields', () => {
  it('edit distance: insert, delete, substitute, swap', () => {
    expect(editDistance('depth', 'depth')).toBe(0);
    expect(editDistance('depht', 'depth')).toBe(1);
    expect(editDistance('dept', 'depth')).toBe(1);
    expect(editDistance('widths', 'width')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(nearestName('Batch', ['depth', 'batch'])).toBe('batch');
    expect(nearestName('x', [])).toBeNull();
    // option names: a suggestion only for a typo, not for a far name
    expect(didYouMean('lrr', ['kind', 'lr', 'weightDecay'])).toBe(' (did you mean "lr"?)');
    expect(didYouMean('momentum', ['kind', 'lr', 'weightDecay'])).toBe('');
  });

  it.each([
    [{ depht: 10, width: 64 }, 'depht', 'depth'],
    [{ widht: 8 }, 'widht', 'width'],
    [{ inputdim: 8 }, 'inputdim', 'inputDim'],
    [{ activaton: 'tanh' }, 'activaton', 'activation'],
    [{ init: { sigmaW: 2 } }, 'init.sigmaW', 'sigmaW2'],
    [{ bn: { epsilon: 1e-3 } }, 'bn.epsilon', 'eps'],
    [{ residual: { scal: 1 } }, 'residual.scal', 'scale'],
  ])('makeSpec(%j) names %s and suggests %s', (input, field, near) => {
    let err: unknown;
    try {
      makeSpec(input as never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SpecError);
    expect((err as SpecError).field).toBe(field);
    expect((err as SpecError).message).toContain(`did you mean "${near}"?`);
  });

  it('known fields still pass, including a full spec as JSON', () => {
    const s = makeSpec({ depth: 5, width: 16, batch: 8 });
    expect(makeSpec({ ...s, activation: 'relu' }).depth).toBe(5);
  });
});
