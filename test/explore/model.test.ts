// The explorer's computations (src/explore/page/model.ts) against the Node API on the same inputs: λ(B) is
// predict's own BSB1 rate, the depth plot is predict's records and its slope the predicted growth, the phase
// diagram's line is where chi1 is 1, the spectrum is jacobianSpectrumTheory's. (The page itself is checked
// against the Node API in browser.test.ts.)
import { describe, expect, test } from 'vitest';
import { batchMethod, criticalPoint, depthView, lambdaAt, phaseCell, specOf, spectrumView } from '../../src/explore/page/model.js';
import { DEFAULT_STATE, type ExploreState } from '../../src/explore/page/state.js';
import { makeSpec, specId } from '../../src/network/index.js';
import { chi1, jacobianSpectrumTheory, predict, qMap } from '../../src/theory/index.js';

const st = (p: Partial<ExploreState>): ExploreState => ({ ...DEFAULT_STATE, ...p });

describe('explorer model against the Node API', () => {
  test('specOf gives the spec the API builds from the same fields', () => {
    const s = st({
      order: 'linear-act-bn',
      activation: 'tanh',
      depth: 7,
      width: 33,
      batch: 16,
      sigmaW2: 1.3,
      sigmaB2: 0.1,
      gamma: 0.8,
      beta: 0.2,
      eps: 1e-3,
      residual: 0.5,
    });
    const api = makeSpec({
      order: 'linear-act-bn',
      activation: 'tanh',
      depth: 7,
      width: 33,
      batch: 16,
      init: { sigmaW2: 1.3, sigmaB2: 0.1 },
      bn: { gamma: 0.8, beta: 0.2, eps: 1e-3 },
      residual: { scale: 0.5 },
    });
    expect(specId(specOf(s))).toBe(specId(api));
  });

  test.each([
    ['relu', 4, 1e-5],
    ['relu', 37, 0],
    ['tanh', 8, 1e-5],
    ['gelu', 256, 1e-3],
    ['leaky-relu:0.2', 12, 0],
  ] as const)('λ(B) of Linear → BN → %s at B = %i (ε %s) is predict’s BSB1 growth', (activation, batch, eps) => {
    const spec = specOf(st({ activation, batch, eps }));
    expect(batchMethod(spec)).toBe('bnGradientRate');
    const p = predict(spec, { dynamics: 'never' });
    expect(lambdaAt(spec, batch)).toBeCloseTo(p.bsb1Growth as number, 12);
  });

  test('without BatchNorm λ does not depend on B and is predict’s growth', () => {
    const spec = specOf(st({ order: 'linear-ln-act', activation: 'tanh', sigmaW2: 1.5 }));
    expect(batchMethod(spec)).toBe('none');
    const g = predict(spec).predictedGrowth;
    expect(lambdaAt(spec, 4)).toBe(g);
    expect(lambdaAt(spec, null)).toBe(g);
  });

  test.each([
    ['linear-bn-act', 'relu', 32],
    ['linear-ln-act', 'tanh', 32],
    ['linear-act', 'relu', null],
  ] as const)(
    '%s %s: the depth plot is predict’s log_grad_h_sq and its interior slope is −ln(predicted growth)',
    (order, activation, batch) => {
      const spec = specOf(st({ order, activation, batch, depth: 24 }));
      const v = depthView(spec, 'auto');
      const p = predict(spec);
      const want = p.records.filter((r) => r.quantity === 'log_grad_h_sq').map((r) => [r.layer, r.value]);
      expect(v.points.map((q) => [q.layer, q.value])).toEqual(want);
      expect(v.slope).not.toBeNull();
      expect(v.slope as number).toBeCloseTo(-Math.log(p.predictedGrowth), 6);
    },
  );

  test('the critical line: σ_w² = 2 for ReLU (He), and χ₁ = 1 on it for tanh', () => {
    expect(criticalPoint('relu', 0.3)?.sigmaW2).toBeCloseTo(2, 12);
    for (const sb of [0, 0.2, 0.7]) {
      const c = criticalPoint('tanh', sb);
      expect(c).not.toBeNull();
      expect(phaseCell('tanh', c!.sigmaW2, sb).chi1).toBeCloseTo(1, 9);
    }
  });

  test('a cell whose q-map diverges is χ₁ = ∞ (not drawn, named), not an error: GELU at σ_w² = 4, σ_b² = 0', () => {
    // independent: the q-map lies above the diagonal there (so no q* > 0), as qStar says
    for (const q of [1e-6, 1e-2, 1, 1e2, 1e6]) expect(qMap('gelu', 4, 0, q)).toBeGreaterThan(q);
    expect(phaseCell('gelu', 4, 0).chi1).toBe(Number.POSITIVE_INFINITY);
    // a converging cell is chi1's value
    expect(phaseCell('gelu', 1.2, 0.1).chi1).toBe(chi1('gelu', 1.2, 0.1));
  });

  test('the spectrum is jacobianSpectrumTheory’s; LayerNorm nets get the theory’s reason instead', () => {
    const spec = specOf(st({ depth: 6 }));
    const v = spectrumView(spec);
    expect('theory' in v && v.theory.densitySv).toEqual(jacobianSpectrumTheory(spec).densitySv);
    const ln = spectrumView(specOf(st({ order: 'linear-ln-act' })));
    expect('reason' in ln && ln.reason).toMatch(/LayerNorm/);
  });
});
