// predict where the BSB1 fixed point does or does not attract: the stability flag, λ(B) kept as growth_bsb1,
// and the Gram dynamics taking over the per-layer gradients where BSB1 is unstable. The numbers themselves are
// checked where they are computed (stability.test.ts: eigenvalues; gramDynamics.test.ts: the dynamics against
// λ(B) and sampled nets); here, that predict reports them faithfully and consistently.
import { describe, expect, it } from 'vitest';
import { makeSpec } from '../../src/network/index.js';
import { bnGradientRate, bsb1Stability, interiorLayers, predict } from '../../src/theory/index.js';

const value = (recs: { quantity: string; layer: number | null; value: number }[], q: string, layer: number | null = null) =>
  recs.find((r) => r.quantity === q && r.layer === layer)?.value;

describe('predict and the stability of BSB1', () => {
  it('ReLU at B = 32 (attracting): λ(B) is the prediction, with its eigenvalues as records and no dynamics', () => {
    const p = predict(makeSpec({ depth: 16, width: 256, batch: 32, activation: 'relu', bn: { eps: 0 } }));
    const st = bsb1Stability('relu', 32, { eps: 0 }, { sigmaW2: 2 });
    expect(p.stability).toEqual(st);
    expect(st.attracting).toBe(true);
    expect(p.dynamics).toBeNull();
    expect(p.predictedGrowth).toBe(bnGradientRate('relu', 32, { eps: 0 }, { sigmaW2: 2 }));
    expect(p.bsb1Growth).toBe(p.predictedGrowth);
    expect(value(p.records, 'bsb1_lambda_l')).toBe(st.lambdaL);
    expect(value(p.records, 'bsb1_lambda_m')).toBe(st.lambdaM);
    expect(p.notes.some((n) => n.includes('not attracting'))).toBe(false);
  });

  it("GELU at B = 64 (λ_L > 1): flagged; 'never' keeps λ(B) with the flag, 'auto' follows the Gram dynamics", () => {
    const spec = makeSpec({ depth: 10, width: 256, batch: 64, activation: 'gelu', bn: { eps: 0 } });
    const lam = bnGradientRate('gelu', 64, { eps: 0 });
    const never = predict(spec, { dynamics: 'never' });
    expect(never.stability!.attracting).toBe(false);
    expect(never.dynamics).toBeNull();
    expect(never.predictedGrowth).toBe(lam);
    expect(never.notes.some((n) => n.includes('not attracting'))).toBe(true);

    const auto = predict(spec, { dynamicsOptions: { samples: 128, replicas: 3 } });
    const d = auto.dynamics!;
    expect(d).not.toBeNull();
    expect(auto.bsb1Growth).toBe(lam);
    expect(value(auto.records, 'growth_bsb1')).toBe(lam);
    expect(auto.predictedGrowthSE).toBeGreaterThan(0);
    // per-layer records are the dynamics' replica means, and the log gradient is their running product
    for (let l = 1; l < 10; l++) expect(value(auto.records, 'grad_growth', l)).toBeCloseTo(d.layers[l].rate, 12);
    for (let l = 1; l <= 10; l++) expect(value(auto.records, 'norm_spread', l)).toBe(d.layers[l].normSpread);
    let cum = 0;
    for (let l = 9; l >= 1; l--) {
      cum += Math.log(d.layers[l].rate);
      expect(value(auto.records, 'log_grad_h_sq', l)).toBeCloseTo(cum, 10);
    }
    // the prediction is the replicas' mean geometric-mean rate over the sampler's interior window
    const [a, b] = interiorLayers(10);
    const geo = d.perReplica.map((r) =>
      Math.exp(Array.from({ length: b - a + 1 }, (_, i) => Math.log(r.rate[a + i])).reduce((x, y) => x + y, 0) / (b - a + 1)),
    );
    expect(auto.predictedGrowth).toBeCloseTo(geo.reduce((x, y) => x + y, 0) / geo.length, 12);
    const g = auto.records.find((r) => r.quantity === 'growth')!;
    expect(g.n).toBe(3);
    expect(g.lo! < g.value && g.value < g.hi!).toBe(true);
    expect(value(auto.records, 'growth_attractor')).toBe(d.attractor.rate);
  });

  it("'always' runs the dynamics at a stable point too; a residual or no-BN net says why it has none", () => {
    const p = predict(makeSpec({ depth: 6, width: 64, batch: 16, activation: 'tanh' }), {
      dynamics: 'always',
      dynamicsOptions: { samples: 64, replicas: 2 },
    });
    expect(p.dynamics).not.toBeNull();
    expect(p.stability!.attracting).toBe(true);
    const r = predict(makeSpec({ depth: 6, width: 64, batch: 16, residual: { scale: 1 } }), { dynamics: 'always' });
    expect(r.dynamics).toBeNull();
    expect(r.notes.some((n) => n.includes('no Gram dynamics') && n.includes('residual'))).toBe(true);
    expect(() => predict(makeSpec({ depth: 4, batch: 16 }), { dynamics: 'sometimes' as never })).toThrow(
      /dynamics: "sometimes" is not allowed; expected auto \| always \| never/,
    );
  });

  it('ε so large that the variance has no positive fixed point: no BSB1 claim, the per-layer recursion only', () => {
    // ReLU, β = −0.5, ε = 0.1, σ_w² = 2, B = 8: the exact ε map collapses (stability.test.ts: Monte Carlo σ_w²s(c) − c < 0)
    const spec = makeSpec({ depth: 10, width: 64, batch: 8, bn: { beta: -0.5, eps: 0.1 } });
    expect(() => bnGradientRate('relu', 8, spec.bn, { sigmaW2: 2 })).toThrow(/ε for which the BN fixed point has batch variance > 0/);
    const p = predict(spec, { dynamics: 'never' });
    expect(p.stability).toBeNull();
    expect(p.bsb1Growth).toBeNull();
    expect(p.notes.some((n) => n.startsWith('no BSB1 fixed point'))).toBe(true);
    // over the measurement's interior window (layers 2..8 of depth 10), as the sampler averages
    const [a, b] = interiorLayers(10);
    expect([a, b]).toEqual([2, 8]);
    const gg = p.records.filter((r) => r.quantity === 'grad_growth' && r.layer! >= a && r.layer! <= b).map((r) => Math.log(r.value));
    expect(gg.length).toBe(7);
    expect(Math.log(p.predictedGrowth)).toBeCloseTo(gg.reduce((a, b) => a + b, 0) / gg.length, 10);
  });
});
