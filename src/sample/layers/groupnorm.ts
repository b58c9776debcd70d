// groupnorm: per sample over each group of channels × positions (Wu & He 2018; PyTorch's GroupNorm(G, C)). An
// activation is B × n in memory, n = P·C with P = H·W positions of C channels (NHWC; P = 1, C = n when flat);
// group g of sample i holds the m = P·C/G entries (p, c) with ⌊c/(C/G)⌋ = g. Per (i, g):
//   μ = mean_m v,  σ² = mean_m (v − μ)²,  s = 1/√(σ² + ε),  ẑ = (v − μ)·s,  out = γẑ + β.
// Backward: layernorm's (layernorm.ts) on each (sample, group) set of m entries, g = g_ẑ = γ·∂L/∂out,
//   g_v = s · (g − mean_m g − ẑ · mean_m(g ⊙ ẑ)),
// exact with ε. G = 1 is layernorm over the whole sample; G = C instance norm (each channel over its positions).
// Readout: per-sample statistics, like layernorm: not blind in general (no refusal). Not detected: instance
// norm (C/G = 1) followed by gap gives mean_p ẑ = 0 per (sample, channel), an output constant in the weights
// (as G = n on a flat activation, ẑ = 0): the readout rule sees no shapes, and the run-time round-off test
// (network.ts) covers BatchNorm's projection only, so such a net gets round-off gradients without an error.
import type { ImageShape } from '../../network/index.js';
import type { SampleLayer, SampleNet } from './types.js';

export interface GroupNormCache {
  /** ẑ, B × n. */
  z: Float64Array;
  /** s = 1/√(σ² + ε) per (sample, group), B × G. */
  inv: Float64Array;
  /** Channels C and positions P of the input (P = 1, C = n when flat). */
  c: number;
  p: number;
}

/** Channels and positions of an input of width n with shape s (flat: n channels at one position). */
function layout(n: number, s: ImageShape | null): { c: number; p: number } {
  return s ? { c: s.c, p: s.h * s.w } : { c: n, p: 1 };
}

/**
 * Per (sample, group): z = (v − μ)·s with a two-pass mean and variance over the group's P·C/G entries; returns s
 * (B × G, sample-major). z may be v. v is B × (P·C), NHWC.
 */
export function gnNormalize(
  net: SampleNet,
  v: Float64Array,
  z: Float64Array,
  c: number,
  p: number,
  groups: number,
  eps: number,
): Float64Array {
  const B = net.B;
  const cg = c / groups;
  const m = p * cg;
  const inv = net.buf.take(B * groups);
  for (let i = 0; i < B; i++) {
    const r = i * p * c;
    for (let g = 0; g < groups; g++) {
      const c0 = g * cg;
      let mu = 0;
      for (let q = 0; q < p; q++) {
        const at = r + q * c + c0;
        for (let k = 0; k < cg; k++) mu += v[at + k];
      }
      mu /= m;
      let var2 = 0;
      for (let q = 0; q < p; q++) {
        const at = r + q * c + c0;
        for (let k = 0; k < cg; k++) {
          const d = v[at + k] - mu;
          var2 += d * d;
        }
      }
      const s = 1 / Math.sqrt(var2 / m + eps);
      inv[i * groups + g] = s;
      for (let q = 0; q < p; q++) {
        const at = r + q * c + c0;
        for (let k = 0; k < cg; k++) z[at + k] = (v[at + k] - mu) * s;
      }
    }
  }
  return inv;
}

/** g ← s·(g − mean g − ẑ·mean(g ⊙ ẑ)) per (sample, group), g = g_ẑ on entry. */
export function gnProject(g: Float64Array, z: Float64Array, inv: Float64Array, c: number, p: number, groups: number): void {
  const B = inv.length / groups;
  const cg = c / groups;
  const m = p * cg;
  for (let i = 0; i < B; i++) {
    const r = i * p * c;
    for (let gr = 0; gr < groups; gr++) {
      const c0 = gr * cg;
      let m1 = 0;
      let m2 = 0;
      for (let q = 0; q < p; q++) {
        const at = r + q * c + c0;
        for (let k = 0; k < cg; k++) {
          m1 += g[at + k];
          m2 += g[at + k] * z[at + k];
        }
      }
      m1 /= m;
      m2 /= m;
      const s = inv[i * groups + gr];
      for (let q = 0; q < p; q++) {
        const at = r + q * c + c0;
        for (let k = 0; k < cg; k++) g[at + k] = s * (g[at + k] - m1 - z[at + k] * m2);
      }
    }
  }
}

export const groupnorm: SampleLayer<'groupnorm', GroupNormCache> = {
  forward(net, layer, x, n, owned, f) {
    const { c, p } = layout(n, f.shape);
    const z = owned ? x : net.buf.take(x.length);
    const inv = gnNormalize(net, x, z, c, p, layer.groups, layer.eps);
    const out = net.buf.take(x.length);
    const { gamma, beta } = layer;
    for (let t = 0; t < out.length; t++) out[t] = gamma * z[t] + beta;
    return { out, n, cache: { z, inv, c, p } };
  },
  backward(net, layer, cache, g) {
    if (layer.gamma !== 1) for (let t = 0; t < g.length; t++) g[t] *= layer.gamma;
    gnProject(g, cache.z, cache.inv, cache.c, cache.p, layer.groups);
    net.buf.give(cache.z);
    net.buf.give(cache.inv);
    return g;
  },
  release(net, _layer, cache) {
    net.buf.give(cache.z);
    net.buf.give(cache.inv);
  },
  cacheBytes: (net, layer, n) => 8 * net.B * (n + layer.groups),
  // per-sample statistics: Σ_i out_i depends on the weights whatever came before (see the header on instance norm)
  readout: () => ({ fixed: false }),
};
