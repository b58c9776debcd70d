// The conv theory (src/theory/conv.ts): the Monte Carlo of the infinite-channel mean field against Yang's closed
// form where positions are independent (k = 1: BatchNorm2d over N = B·H·W iid positions is the MLP's BN at batch
// N), and against sampled float64 nets (conv-bn-act, and a ResNet stage of basic blocks) where the spatial
// correlation matters; the large-effective-batch order against λ(B) at k = 1; predict()'s dispatch.
// Tolerances: Z = 3 standard errors (Monte Carlo replicas and sampled seeds, combined), plus a finite-channel
// allowance measured, not assumed: the mean field is the C → ∞ limit of growth g(C) = g∞ + a/C + O(1/C²), so
// g(C/2) − g(C) = a/C is the bias at C; each net is also sampled at C/2 and |g(C/2) − g(C)| / g(C) is the
// relative allowance (its noise is in the combined se), as claim 9 does.
import { describe, expect, it } from 'vitest';
import { makeSpec, type NetworkSpec } from '../../src/network/index.js';
import { forwardBackward } from '../../src/sample/network.js';
import { bnGradientRate } from '../../src/theory/batchnorm.js';
import {
  convLeadingRate,
  convMeanField,
  type ConvMeanFieldOptions,
  effectiveBatch,
  predictConv,
  shiftAverage,
} from '../../src/theory/conv.js';
import { predict } from '../../src/theory/predict.js';
import { expectAgrees, expectExcludes, expectResolves } from '../helpers/agreement.js';

const Z = 3;

/** Geometric mean of per-layer growth over layers lo..hi (1-based), and its SE over runs. */
function geo(runs: Float64Array[], lo: number, hi: number): { growth: number; se: number } {
  const logs = runs.map((g) => {
    let s = 0;
    for (let l = lo; l <= hi; l++) s += Math.log(g[l - 1]);
    return s / (hi - lo + 1);
  });
  const m = logs.reduce((a, b) => a + b, 0) / logs.length;
  const sd = Math.sqrt(logs.reduce((a, b) => a + (b - m) ** 2, 0) / (logs.length - 1));
  return { growth: Math.exp(m), se: (Math.exp(m) * sd) / Math.sqrt(logs.length) };
}

function theory(o: Omit<ConvMeanFieldOptions, 'seed'>, replicas: number) {
  return Array.from({ length: replicas }, (_, r) => convMeanField({ ...o, seed: 100 + r }).growth);
}

function sampled(spec: NetworkSpec, seeds: number) {
  return Array.from({ length: seeds }, (_, s) => forwardBackward(spec, s + 1).gradGrowth);
}

describe('the Monte Carlo mean field', () => {
  it('k = 1 (positions independent): the interior growth is Yang’s λ(N) at N = B·H·W = 16', () => {
    // 4096 particles: the Monte Carlo has an O(1/M) bias (measured +1.2% at M = 512 here, 0.04% at 4096)
    const runs = theory({ block: 'conv-bn-act', batch: 4, height: 2, width: 2, kernel: 1, depth: 8, activation: 'relu', draws: 4096 }, 4);
    const { growth, se } = geo(runs, 3, 6);
    const lambda = bnGradientRate('relu', 16, { eps: 1e-5 }, { sigmaW2: 2 });
    expectResolves({ relTol: 0, se, z: Z }, lambda, 0.01 * lambda);
    expectAgrees(lambda, growth, { relTol: 0, se, z: Z }, 'Monte Carlo growth');
    // power: the large-batch λ∞ = π/(π − 1) is excluded
    expectExcludes(Math.PI / (Math.PI - 1), growth, { relTol: 0, se, z: Z }, 'λ∞');
  });

  it('shiftAverage: k = 1 is the identity, 𝒜ᵀ is the adjoint of 𝒜 (tr(𝒜(K)·Π) = tr(K·𝒜ᵀ(Π)))', () => {
    const [B, H, W] = [2, 3, 4];
    const N = B * H * W;
    const K = new Float64Array(N * N).map((_, t) => Math.sin(1 + t * 0.37));
    const P = new Float64Array(N * N).map((_, t) => Math.cos(2 + t * 0.11));
    expect(Array.from(shiftAverage(K, B, H, W, 1, 1))).toEqual(Array.from(K));
    const a = shiftAverage(K, B, H, W, 3, 1);
    const at = shiftAverage(P, B, H, W, 3, -1);
    let l = 0;
    let r = 0;
    let mag = 0;
    for (let i = 0; i < N; i++)
      for (let j = 0; j < N; j++) {
        l += a[i * N + j] * P[i * N + j];
        r += K[i * N + j] * at[i * N + j];
        mag += Math.abs(K[i * N + j] * at[i * N + j]);
      }
    // two sums of the same N²k² products in different orders: round-off ≤ 2·N²k²·u·Σ|terms| (far above what is seen)
    expect(Math.abs(l - r)).toBeLessThan(2 * N * N * 9 * 2 ** -53 * mag);
    // the identity covariance has N_eff = N
    const I = new Float64Array(N * N);
    for (let i = 0; i < N; i++) I[i * N + i] = 1;
    expect(effectiveBatch(I, N)).toBeCloseTo(N, 10);
  });

  it('the large-effective-batch order at k = 1 (N_eff = N): λ∞(1 + c/N) is λ(N) to O(1/N²)', () => {
    for (const N of [256, 1024]) {
      const lambda = bnGradientRate('relu', N, { eps: 1e-5 });
      const lead = convLeadingRate('relu', N);
      // the next order is c₂/N² with c₂ = O(c²) = O(1): below 10/N² relative
      expect(Math.abs(lead / lambda - 1)).toBeLessThan(10 / (N * N));
    }
  });
});

describe('theory against sampled nets', () => {
  it('conv-bn-act, k = 3, B = 2, 6 × 6, depth 8, C = 64: interior growth (layers 2..6)', () => {
    const [B, H, L, C] = [2, 6, 8, 64];
    const runs = theory({ block: 'conv-bn-act', batch: B, height: H, width: H, kernel: 3, depth: L, activation: 'relu', draws: 256 }, 3);
    const th = geo(runs, 2, 6);
    const at = (c: number) => geo(sampled(makeSpec({ order: 'conv-bn-act', depth: L, width: c, batch: B, image: [H, H, c] }), 12), 2, 6);
    const sm = at(C);
    const half = at(C / 2);
    const bias = Math.abs(half.growth - sm.growth) / sm.growth;
    // the resolution of theory against the net at C; the C/2 net's noise enters through the allowance's se
    expectResolves({ relTol: 0, se: Math.hypot(th.se, sm.se), z: Z }, th.growth, 0.04 * th.growth);
    const se = Math.hypot(th.se, sm.se, half.se);
    expectAgrees(th.growth, sm.growth, { relTol: bias, se, z: Z }, 'sampled conv-bn-act growth');
    // power: the MLP's rate at the pooled batch N = B·H·W = 72 (BN over N values as if independent) is excluded
    const naive = bnGradientRate('relu', B * H * H, { eps: 1e-5 }, { sigmaW2: 2 });
    expectExcludes(naive, sm.growth, { relTol: bias, se, z: Z }, `λ(N = ${B * H * H})`);
  });

  it('a ResNet stage: 5 basic blocks (identity shortcuts), k = 3, B = 2, 4 × 4, C = 128: the stage growth and each block, 1..4', () => {
    const [B, H, L, C] = [2, 4, 5, 128];
    const runs = theory({ block: 'resblock', batch: B, height: H, width: H, kernel: 3, depth: L, activation: 'relu', draws: 1024 }, 3);
    const net = (c: number) => [...Array.from({ length: L }, () => ({ kind: 'resblock', channels: c })), { kind: 'gap' }];
    const sm = sampled(makeSpec({ layers: net(C), image: [H, H, C], batch: B }), 16);
    const smHalf = sampled(makeSpec({ layers: net(C / 2), image: [H, H, C / 2], batch: B }), 16);
    // the stage: the geometric mean over blocks 1..4 (resolved to 5%), then each block (resolved to 15%)
    const th = geo(runs, 1, L - 1);
    const st = geo(sm, 1, L - 1);
    const stHalf = geo(smHalf, 1, L - 1);
    const seStage = Math.hypot(th.se, st.se, stHalf.se);
    expectResolves({ relTol: 0, se: seStage, z: Z }, th.growth, 0.05 * th.growth);
    expectAgrees(th.growth, st.growth, { relTol: Math.abs(stHalf.growth / st.growth - 1), se: seStage, z: Z }, 'sampled stage growth');
    for (let l = 1; l < L; l++) {
      const t = geo(runs, l, l);
      const s = geo(sm, l, l);
      const h = geo(smHalf, l, l);
      const se = Math.hypot(t.se, s.se, h.se);
      expectResolves({ relTol: 0, se, z: Z }, t.growth, 0.15 * t.growth);
      expectAgrees(t.growth, s.growth, { relTol: Math.abs(h.growth / s.growth - 1), se, z: Z }, `sampled growth at block ${l}`);
    }
    // the growth per block is not constant: it falls from block 2 on as the stream's variance grows (a power law)
    expect(geo(runs, 2, 2).growth).toBeGreaterThan(geo(runs, 3, 3).growth);
  });
});

describe('predict() on image nets', () => {
  it('conv-bn-act and vgg go to the conv theory (records per layer, a growth with its SE); an underived list is refused naming why', () => {
    const spec = makeSpec({ order: 'conv-bn-act', depth: 6, width: 8, batch: 2, image: [4, 4, 8] });
    const p = predict(spec);
    expect(p.records.filter((r) => r.quantity === 'grad_growth').length).toBe(5);
    expect(p.predictedGrowthSE).toBeGreaterThan(0);
    const direct = predictConv(spec);
    expect(direct.predictedGrowth).toBe(p.predictedGrowth);
    const vgg = predict(makeSpec({ order: 'vgg', depth: 6, width: 4, batch: 2, image: [8, 8, 4] }));
    expect(vgg.records.filter((r) => r.quantity === 'grad_growth').length).toBe(5);
    // valid padding (the image shrinks by k − 1 per layer) is not derived: one line naming the field and what is allowed
    const valid = makeSpec({
      layers: [{ kind: 'conv2d', channels: 4, padding: 0 }, { kind: 'batchnorm' }, { kind: 'act', activation: 'relu' }, { kind: 'gap' }],
      image: [8, 8, 4],
      batch: 2,
    });
    expect(() => predict(valid)).toThrow(/^layers: .*padding 'same'/);
  });
});
