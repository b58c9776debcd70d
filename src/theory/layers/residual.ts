// residual: the wrapper x ↦ x + α·inner(x). At infinite width the unit x_j and the branch output u_j are
// independent (u_j depends on x only through Σ_k W_jk x_k), so μ ↦ μ + αμ_u, q ↦ q + α²q_u + 2αμμ_u,
// qc ↦ qc + α²qc_u + 2αμμ_u. Backward: ∂L/∂x = g + α J_innerᵀ g; the cross term averages to zero over W
// (gradient independence), so ‖∂L/∂x‖² = ‖g‖²(1 + α² σ_w² ∏ inner factors).
import { type Law, type Moments, momentsOf, type TheoryLayer } from './types.js';

/** The stream after x + α·u, u the branch output independent of x: μ + αμ_u, q + α²q_u + 2αμμ_u, qc likewise. */
export function residualMoments(x: Moments, u: Moments, al: number): Moments {
  const cross = 2 * al * x.mu * u.mu;
  return { mu: x.mu + al * u.mu, q: x.q + al * al * u.q + cross, qc: x.qc + al * al * u.qc + cross };
}

export const residual = {
  doc: 'x + α·inner(x): q ↦ q + α²q_inner + 2αμμ_inner; backward ×(1 + α²·σ_w²·∏ inner factors)',
  forward(layer, law, ctx) {
    if (!ctx.segment) throw new Error('residual: the driver passes ctx.segment to run the inner list');
    const inner = ctx.segment(layer.layers, law);
    const x = momentsOf(law);
    const u = momentsOf(inner.law);
    const al = layer.scale;
    const out: Law = { kind: 'moments', ...residualMoments(x, u, al) };
    const sw = inner.dense.sigmaW2;
    return {
      law: out,
      back: { d: 1 + al * al * sw * inner.pre.d * inner.post.d, o: 1 + al * al * sw * inner.pre.o * inner.post.o },
      inner,
    };
  },
  records: [],
  exactness: 'residual: exact at infinite width under gradient independence; the growth per block falls with depth (a power law)',
  spectrum: { unsupported: 'the free-probability spectrum covers plain (non-residual) nets' },
} as const satisfies TheoryLayer<'residual'>;
