// batchnorm: per unit over the batch, ẑ = (v − mean_B v)/√(var_B v + ε) (biased variance, PyTorch
// training mode), out = γẑ + β. The one copy of BN's math in the sampler: bnNormalize (forward) and
// bnProject (backward) serve this kernel, the fused BN→act rule (fused.ts) and the Jacobian sampler.
//
// Backward (Ioffe & Szegedy 2015; Luther 2020 for the compact form; derivations.md §7), exact with ε
// because ẑ and inv = 1/√(var_B v + ε) both include it: with g_ẑ = γ·∂L/∂out,
//   g_v = inv ⊙ (g_ẑ − mean_B g_ẑ − ẑ ⊙ mean_B(g_ẑ ⊙ ẑ))   per unit.
// Statistics: bnRetained = ‖g_v‖²/‖inv ⊙ g_ẑ‖², the fraction of the squared gradient that survives the
// projection (the walker checks it against roundOffBound).
import { type NormCache, normLayer } from './norm.js';
import { batchStats, type SampleNet } from './types.js';

/** ẑ (B × n) and 1/√(var_B + ε) per unit. */
export type BnCache = NormCache;

/**
 * Batch statistics of v (B × n), then z = (v − mean_B v)·inv per unit (z may be v: in place) and
 * inv = 1/√(var_B v + ε) into a fresh buffer. Returns inv. An image [B, H, W, C] (NHWC) is the same memory
 * as a (B·H·W) × C matrix: BatchNorm2d is this with rows = B·H·W and n = C (statistics per channel over
 * batch and positions, as PyTorch's).
 */
export function bnNormalize(net: SampleNet, v: Float64Array, z: Float64Array, n: number, eps: number, rows = net.B): Float64Array {
  const { mean, variance } = net;
  const B = rows;
  batchStats(v, B, n, mean, variance);
  const inv = net.buf.take(n);
  for (let k = 0; k < n; k++) inv[k] = 1 / Math.sqrt(variance[k] + eps);
  for (let i = 0; i < B; i++) {
    const r = i * n;
    for (let k = 0; k < n; k++) z[r + k] = (v[r + k] - mean[k]) * inv[k];
  }
  return inv;
}

/**
 * BN's backward projection in place: g ← inv ⊙ (g − mean_B g − ẑ·mean_B(g ⊙ ẑ)), per unit, with g = g_ẑ
 * on entry. Returns [‖g after‖², ‖inv ⊙ g before‖²].
 */
export function bnProject(net: SampleNet, g: Float64Array, z: Float64Array, inv: Float64Array): [number, number] {
  const { s1, s2 } = net;
  const n = inv.length;
  // rows: B, or B·H·W for an image (one inv per channel)
  const B = g.length / n;
  s1.fill(0, 0, n);
  s2.fill(0, 0, n);
  for (let i = 0; i < B; i++) {
    const r = i * n;
    for (let k = 0; k < n; k++) {
      const gv = g[r + k];
      s1[k] += gv;
      s2[k] += gv * z[r + k];
    }
  }
  for (let k = 0; k < n; k++) {
    s1[k] /= B;
    s2[k] /= B;
  }
  let sq = 0;
  let pre = 0;
  for (let i = 0; i < B; i++) {
    const r = i * n;
    for (let k = 0; k < n; k++) {
      const gv = g[r + k];
      const w = inv[k] * gv;
      pre += w * w;
      const v = inv[k] * (gv - s1[k] - z[r + k] * s2[k]);
      g[r + k] = v;
      sq += v * v;
    }
  }
  return [sq, pre];
}

export const batchnorm = normLayer<'batchnorm'>({
  normalize: (net, v, z, n, eps, shape) =>
    shape ? bnNormalize(net, v, z, shape.c, eps, v.length / shape.c) : bnNormalize(net, v, z, n, eps),
  project(net, g, z, inv, b) {
    const [projected, entered] = bnProject(net, g, z, inv);
    b.projections.push({ projected, entered });
  },
  statLength: (_net, n) => n,
  readout(layer, _s, c) {
    // out = γẑ + β, Σ_i ẑ_i = 0 in every unit, whatever came before
    return {
      fixed: true,
      inputs: false,
      bn: { gamma: layer.gamma, beta: layer.beta },
      why: c.last
        ? 'the last block ends in BatchNorm, out = γẑ + β, and Σ_i ẑ_i = 0 per unit'
        : 'a BatchNorm layer gives out = γẑ + β with Σ_i ẑ_i = 0 per unit',
      tail: ', so the readout L = Σ_i r·x_L(i) is constant and its gradients are zero up to round-off',
      // mse, as linear-act-bn always had
      fallback: 'mse',
    };
  },
});
