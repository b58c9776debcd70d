// dense: h = x Wᵀ + b, Var W = σ_w²/fan_in, b ~ N(0, σ_b²). At infinite width each unit of h is a centred
// Gaussian whatever x is (a sum over fan_in independent terms): q ↦ σ_w² q + σ_b², qc ↦ σ_w² qc + σ_b².
// Backward: ‖Wᵀδ‖² = σ_w²·‖δ‖² in expectation over W (per unit: σ_w²·n_out/n_in), exact under gradient
// independence at any width for Gaussian W.
import { IDENTITY, type Law, momentsOf, type TheoryLayer } from './types.js';

/** The dense map of the unit moments: q_h = σ_w² q + σ_b², qc_h = σ_w² qc + σ_b² (the block segments use it too). */
export function denseMoments(sigmaW2: number, sigmaB2: number, q: number, qc: number): { qh: number; qch: number } {
  return { qh: sigmaW2 * q + sigmaB2, qch: sigmaW2 * qc + sigmaB2 };
}

export const dense = {
  doc: 'h = x Wᵀ + b: q ↦ σ_w² q + σ_b², qc ↦ σ_w² qc + σ_b² (h Gaussian at infinite width); backward ×σ_w²',
  forward(layer, law) {
    const m = momentsOf(law);
    const { qh, qch } = denseMoments(layer.sigmaW2, layer.sigmaB2, m.q, m.qc);
    const ch = qh > 1e-300 ? Math.max(-1, Math.min(1, qch / qh)) : 1;
    const out: Law = { kind: 'unit', qh, ch, pre: IDENTITY, act: null, post: IDENTITY };
    return { law: out, back: { d: layer.sigmaW2, o: layer.sigmaW2 } };
  },
  records: ['preact_var', 'log_grad_h_sq', 'log_grad_w_sq', 'grad_growth', 'cum_log_growth'],
  exactness: 'dense: the q/c-map is exact at infinite width; the backward factor σ_w² is exact in expectation under gradient independence',
  spectrum: {},
} as const satisfies TheoryLayer<'dense'>;
