// Fusion rules the walker applies to consecutive layers (network.ts, stepsOf). One today: batchnorm
// followed by act, out = φ(γẑ + β), the seed paper's block. It uses batchnorm.ts's math and act.ts's φ,
// and differs from running the two kernels in turn in three ways that the records see bit for bit,
// which is why it is kept: the post-activation statistics are one-pass sums (Σ out, Σ out²) rather than
// batchStats' shifted pass; the backward multiplies (g·γ)·φ′(u) where the pair would give (g·φ′(u))·γ;
// and u = γẑ + β is recomputed from ẑ instead of being cached (half the memory).
import type { ActLayer, BatchNormLayer } from '../../network/index.js';
import { actOf } from './act.js';
import { bnNormalize, bnProject } from './batchnorm.js';
import type { Backward, Forward, SampleNet } from './types.js';

export interface BnActCache {
  z: Float64Array;
  inv: Float64Array;
}

/** A kernel over two consecutive layers. */
export interface FusedStep<A, B, C = any> {
  forward(
    net: SampleNet,
    first: A,
    second: B,
    x: Float64Array,
    n: number,
    owned: boolean,
    f: Forward,
  ): { out: Float64Array; n: number; cache: C };
  backward(net: SampleNet, first: A, second: B, cache: C, g: Float64Array, b: Backward): Float64Array | null;
  release(net: SampleNet, cache: C): void;
  cacheBytes(net: SampleNet, n: number): number;
}

export const bnAct: FusedStep<BatchNormLayer, ActLayer, BnActCache> = {
  forward(net, bn, actLayer, x, nIn, owned, f) {
    const { s1, s2 } = net;
    // an image: BatchNorm2d, (B·H·W) × C (bnNormalize)
    const n = f.shape ? f.shape.c : nIn;
    const B = x.length / n;
    const z = owned ? x : net.buf.take(x.length);
    const inv = bnNormalize(net, x, z, n, bn.eps, B);
    const out = net.buf.take(x.length);
    const act = actOf(actLayer);
    const { gamma, beta } = bn;
    s1.fill(0, 0, n);
    s2.fill(0, 0, n);
    const { pw, a, b, phi } = act;
    for (let i = 0; i < B; i++) {
      const r = i * n;
      for (let k = 0; k < n; k++) {
        const u = gamma * z[r + k] + beta;
        const o = pw ? (u > 0 ? b * u : a * u) : phi(u);
        out[r + k] = o;
        s1[k] += o;
        s2[k] += o * o;
      }
    }
    if (f.stats) {
      let pm = 0;
      let pv = 0;
      for (let k = 0; k < n; k++) {
        const m = s1[k] / B;
        pm += m;
        pv += Math.max(0, s2[k] / B - m * m);
      }
      f.stats.postactMean[f.l] = pm / n;
      f.stats.postactVar[f.l] = pv / n;
    }
    return { out, n: nIn, cache: { z, inv } };
  },

  backward(net, bn, actLayer, cache, g, bk) {
    const { z, inv } = cache;
    const { gamma, beta } = bn;
    const { pw, a, b, dphi } = actOf(actLayer);
    const len = g.length;
    for (let t = 0; t < len; t++) {
      const u = gamma * z[t] + beta;
      g[t] = g[t] * gamma * (pw ? (u > 0 ? b : a) : dphi(u));
    }
    const [projected, entered] = bnProject(net, g, z, inv);
    bk.projections.push({ projected, entered });
    bnAct.release(net, cache);
    return g;
  },

  release(net, cache) {
    net.buf.give(cache.z);
    net.buf.give(cache.inv);
  },

  cacheBytes(net, n) {
    return 8 * (net.B * n + n);
  },
};

/** The rules, by the kinds of the two layers they replace. */
export const FUSIONS = [{ first: 'batchnorm', second: 'act', step: bnAct }] as const;
