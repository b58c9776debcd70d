// rmsnorm: per sample over the n units, no centring and no shift (Zhang & Sennrich 2019),
//   m_i = mean_n v_i²,  s_i = 1/√(m_i + ε),  y_i = v_i·s_i,  out_i = γ·y_i.
// Backward, per sample (drop i): ∂m/∂v_j = 2v_j/n, so ∂s/∂v_j = −s³v_j/n = −s²y_j/n and
// ∂y_k/∂v_j = s·δ_kj + v_k·∂s/∂v_j = s(δ_kj − y_k y_j/n). With g = g_y = γ·∂L/∂out:
//   g_v = s · (g − y · mean_n(g ⊙ y)),
// exact with ε (y and s both include it): each sample's gradient loses its component along y_i only, so
// ≈ (n−1)/n survives. mean_n out_i² = γ²·m_i/(m_i + ε) in every sample (γ² at ε = 0).
// Readout: the per-sample norm is (nearly) fixed, a linear readout of it is not (no refusal).
import { normLayer } from './norm.js';
import type { SampleNet } from './types.js';

/** Per sample: y_i = v_i·s_i; returns s (length B). y may be v. */
export function rmsNormalize(net: SampleNet, v: Float64Array, y: Float64Array, n: number, eps: number): Float64Array {
  const B = net.B;
  const inv = net.buf.take(B);
  for (let i = 0; i < B; i++) {
    const r = i * n;
    let q = 0;
    for (let k = 0; k < n; k++) q += v[r + k] * v[r + k];
    const s = 1 / Math.sqrt(q / n + eps);
    inv[i] = s;
    for (let k = 0; k < n; k++) y[r + k] = v[r + k] * s;
  }
  return inv;
}

/** g ← s_i·(g − y·mean_n(g ⊙ y)) per sample, g = g_y on entry. */
export function rmsProject(g: Float64Array, y: Float64Array, inv: Float64Array): void {
  const B = inv.length;
  const n = g.length / B;
  for (let i = 0; i < B; i++) {
    const r = i * n;
    let m = 0;
    for (let k = 0; k < n; k++) m += g[r + k] * y[r + k];
    m /= n;
    const s = inv[i];
    for (let k = 0; k < n; k++) g[r + k] = s * (g[r + k] - y[r + k] * m);
  }
}

export const rmsnorm = normLayer<'rmsnorm'>({
  normalize: rmsNormalize,
  project: (_net, g, y, inv) => rmsProject(g, y, inv),
  statLength: (net) => net.B,
  readout: () => ({ fixed: false }),
});
