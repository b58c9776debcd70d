// layernorm: per sample over the n units (Ba et al. 2016),
//   μ_i = mean_n v_i,  σ_i² = mean_n (v_i − μ_i)²,  s_i = 1/√(σ_i² + ε),  ẑ_i = (v_i − μ_i)·s_i,  out_i = γẑ_i + β.
// Backward, per sample i (drop i): ∂μ/∂v_j = 1/n, ∂σ²/∂v_j = 2(v_j − μ)/n, so ∂s/∂v_j = −s³(v_j − μ)/n = −s²ẑ_j/n
// and ∂ẑ_k/∂v_j = s(δ_kj − 1/n) − s ẑ_k ẑ_j/n. With g = g_ẑ = γ·∂L/∂out:
//   g_v = s · (g − mean_n g − ẑ · mean_n(g ⊙ ẑ)),
// exact with ε (ẑ and s both include it). BN's formula with the roles of samples and units exchanged:
// each sample's gradient loses its components along 1 and ẑ_i (over units), so ≈ (n−2)/n of it survives.
// Readout: Σ_k out_ik = n·β in every sample (a sum over units), while the readout sums over the batch:
// a readout row r constant over units (r = c·1) would be constant, a drawn readout is not (no refusal).
import { normLayer } from './norm.js';
import type { SampleNet } from './types.js';

/** Per sample: z_i = (v_i − μ_i)·s_i with a two-pass mean and variance; returns s (length B). z may be v. */
export function lnNormalize(net: SampleNet, v: Float64Array, z: Float64Array, n: number, eps: number): Float64Array {
  const B = net.B;
  const inv = net.buf.take(B);
  for (let i = 0; i < B; i++) {
    const r = i * n;
    let m = 0;
    for (let k = 0; k < n; k++) m += v[r + k];
    m /= n;
    let q = 0;
    for (let k = 0; k < n; k++) {
      const d = v[r + k] - m;
      q += d * d;
    }
    const s = 1 / Math.sqrt(q / n + eps);
    inv[i] = s;
    for (let k = 0; k < n; k++) z[r + k] = (v[r + k] - m) * s;
  }
  return inv;
}

/** g ← s_i·(g − mean_n g − ẑ·mean_n(g ⊙ ẑ)) per sample, g = g_ẑ on entry. */
export function lnProject(g: Float64Array, z: Float64Array, inv: Float64Array): void {
  const B = inv.length;
  const n = g.length / B;
  for (let i = 0; i < B; i++) {
    const r = i * n;
    let m1 = 0;
    let m2 = 0;
    for (let k = 0; k < n; k++) {
      m1 += g[r + k];
      m2 += g[r + k] * z[r + k];
    }
    m1 /= n;
    m2 /= n;
    const s = inv[i];
    for (let k = 0; k < n; k++) g[r + k] = s * (g[r + k] - m1 - z[r + k] * m2);
  }
}

export const layernorm = normLayer<'layernorm'>({
  normalize: lnNormalize,
  project: (_net, g, z, inv) => lnProject(g, z, inv),
  statLength: (net) => net.B,
  // per-sample normalization: Σ_i out_i depends on the weights whatever came before
  readout: () => ({ fixed: false }),
});
