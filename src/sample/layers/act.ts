// act: out = φ(v) elementwise; backward g ← g ⊙ φ′(v). Statistics: postactMean, postactVar = batch mean
// and variance of out (mean over units). A piecewise-linear φ (b·x for x > 0, a·x below) runs as a
// branch instead of a call.
import { type ActLayer, type Activation, activationOfLayer } from '../../network/index.js';
import { batchStats, meanOf, ownedCopy, type SampleLayer } from './types.js';

export interface Act {
  name: string;
  pw: boolean;
  a: number;
  b: number;
  phi: (x: number) => number;
  dphi: (x: number) => number;
}

const byName = new Map<string, Act>();
const byFns = new WeakMap<object, Act>();

/** The layer's φ, parsed once per activation (string or API function pair). */
export function actOf(layer: ActLayer): Act {
  const key = layer.activation;
  let a = typeof key === 'string' ? byName.get(key) : byFns.get(key);
  if (!a) {
    const act: Activation = activationOfLayer(layer);
    const f = act.family;
    a = f
      ? { name: act.name, pw: true, a: f.a, b: f.b, phi: act.phi, dphi: act.dphi }
      : { name: act.name, pw: false, a: 0, b: 0, phi: act.phi, dphi: act.dphi };
    if (typeof key === 'string') byName.set(key, a);
    else byFns.set(key, a);
  }
  return a;
}

/** dst = φ(src) elementwise (src may equal dst). */
export function applyPhi(act: Act, src: Float64Array, dst: Float64Array, len: number): void {
  if (act.pw) {
    const { a, b } = act;
    for (let t = 0; t < len; t++) {
      const x = src[t];
      dst[t] = x > 0 ? b * x : a * x;
    }
  } else {
    const phi = act.phi;
    for (let t = 0; t < len; t++) dst[t] = phi(src[t]);
  }
}

/** g ← g ⊙ φ′(v). */
export function mulDphi(act: Act, g: Float64Array, v: Float64Array, len: number): void {
  if (act.pw) {
    const { a, b } = act;
    for (let t = 0; t < len; t++) g[t] *= v[t] > 0 ? b : a;
  } else {
    const dphi = act.dphi;
    for (let t = 0; t < len; t++) g[t] *= dphi(v[t]);
  }
}

export interface ActCache {
  /** The input v (φ′ is evaluated there). */
  v: Float64Array;
}

export const act: SampleLayer<'act', ActCache> = {
  forward(net, layer, x, n, owned, f) {
    const a = actOf(layer);
    const v = ownedCopy(net, x, owned);
    const out = net.buf.take(v.length);
    applyPhi(a, v, out, v.length);
    if (f.stats) {
      // an image: per channel over batch and positions
      const c = f.shape ? f.shape.c : n;
      f.stats.postactVar[f.l] = batchStats(out, out.length / c, c, net.mean, net.variance);
      f.stats.postactMean[f.l] = meanOf(net.mean, c);
    }
    return { out, n, cache: { v } };
  },

  backward(net, layer, cache, g) {
    mulDphi(actOf(layer), g, cache.v, g.length);
    net.buf.give(cache.v);
    return g;
  },

  release(net, _layer, cache) {
    net.buf.give(cache.v);
  },

  cacheBytes(net, _layer, n) {
    return 8 * net.B * n;
  },

  readout(layer, s, c) {
    if (!s.fixed || s.inputs) return s;
    const a = actOf(layer);
    // φ linear: φ(v) = a·v keeps v affine in ẑ
    const linear = a.pw && a.a === a.b;
    // right after a BatchNorm (v = γẑ + β, |ẑ| ≤ √(B−1) for a batch of B, biased variance; ε only
    // shrinks it): |β| ≥ |γ|·√(B−1) keeps v on one side of the kink, where φ(v) = slope·v
    let slope = linear ? a.a : Number.NaN;
    let why = `φ = ${a.name} is linear`;
    if (!linear && a.pw && s.bn && c.batch !== null) {
      const { gamma, beta } = s.bn;
      const reach = Math.abs(gamma) * Math.sqrt(c.batch - 1);
      if (beta >= reach) slope = a.b;
      else if (beta <= -reach) slope = a.a;
      why = `γẑ + β stays on one side of ${a.name}'s kink for every batch of ${c.batch} (|β| = ${Math.abs(beta)} ≥ |γ|·√(B−1) = ${reach.toPrecision(4)})`;
    }
    if (Number.isNaN(slope)) return { fixed: false };
    if (!s.bn) return { ...s, why: `${s.why}, and φ = ${a.name} after it is linear` };
    // (the batch-null limit has no sampled nets; the rule is not applied there)
    if (c.batch === null) return { fixed: false };
    const { gamma, beta } = s.bn;
    return {
      fixed: true,
      inputs: false,
      bn: { gamma: slope * gamma, beta: slope * beta },
      why: `with activation ${a.name}, γ = ${gamma}, β = ${beta}: ${why}, so φ(γẑ + β) is affine in the BatchNorm output ẑ, Σ_i ẑ_i = 0 per unit`,
      tail: ', and the readout L = Σ_i r·x_L(i) is constant: its gradients are round-off',
      fallback: 'projection',
    };
  },
};
