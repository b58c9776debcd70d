// What finite width n changes in a norm layer's backward, at leading order in 1/n (docs/derivations.md §17.3).
// ∂L/∂x = (γ/s)·P g with P = I − 11ᵀ/n − ẑẑᵀ/n (LayerNorm) or I − x̃x̃ᵀ/n (RMSNorm), mean ẑ² = κ = v/(v+ε).
// ‖Pg‖² = ‖g‖² − (1·g)²/n − (2−κ)(ẑ·g)²/n exactly; under gradient independence g_j = e_j a_j with a_j
// independent and centred, so E(1·g)²/n = E‖g‖²/n and E(ẑ·g)²/n = ρ E‖g‖²/n, ρ = E[ẑ² e²]/E[e²], e the
// derivative from the norm's output to the next dense layer's input (φ′ of the act that follows, or 1).
import { activationOfLayer, type Activation, blocksOf, type Layer, type NetworkSpec } from '../../network/index.js';
import { kinksOf } from '../moments.js';
import { gaussExpectSplit } from '../quadrature.js';

/** ρ = E[ẑ² φ′(γẑ+β)²]/E[φ′(γẑ+β)²], ẑ ~ N(0, κ); κ without φ (e = 1). */
export function radialWeight(act: Activation | null, gamma: number, beta: number, kappa: number): number {
  if (act === null) return kappa;
  const ks = kinksOf(act).map((k) => (k - beta) / gamma);
  const e2 = (z: number) => act.dphi(gamma * z + beta) ** 2;
  const den = gaussExpectSplit(e2, 0, kappa, ks);
  return den > 0 ? gaussExpectSplit((z) => z * z * e2(z), 0, kappa, ks) / den : kappa;
}

/** c in E‖∂L/∂x‖² = (γ²/(v+ε))·E‖g‖²·(1 − c/n): LayerNorm 1 + (2−κ)ρ, RMSNorm (2−κ)ρ. */
export function normProjection(kind: 'layernorm' | 'rmsnorm', kappa: number, rho: number): number {
  return (kind === 'layernorm' ? 1 : 0) + (2 - kappa) * rho;
}

/**
 * For a norm directly after a dense layer (Linear → norm → φ) or at a block's end: the projection
 * coefficient c of its first occurrence, in a note; null for a list without norms.
 */
export function normProjectionNote(spec: NetworkSpec, layers: readonly Layer[]): string | null {
  for (const b of blocksOf(layers)) {
    const flat = b.flatMap((l) => (l.kind === 'residual' ? l.layers : [l]));
    const i = flat.findIndex((l) => l.kind === 'layernorm' || l.kind === 'rmsnorm');
    if (i < 0) continue;
    const nl = flat[i] as Extract<Layer, { kind: 'layernorm' | 'rmsnorm' }>;
    const next = flat.slice(i + 1).find((l) => l.kind === 'act' || l.kind === 'dense');
    const act = next && next.kind === 'act' ? activationOfLayer(next) : null;
    const beta = nl.kind === 'layernorm' ? nl.beta : 0;
    const eps0 = nl.eps === 0;
    const rho = eps0 ? radialWeight(act, nl.gamma, beta, 1) : Number.NaN;
    const c = eps0 ? normProjection(nl.kind, 1, rho) : Number.NaN;
    const what = nl.kind === 'layernorm' ? '(1 + (2−κ)ρ)/n' : '(2−κ)ρ/n';
    return `finite width n: ${nl.kind}'s backward projection removes ${what} of the squared gradient (κ = v/(v+ε), ρ = E[ẑ²e²]/E[e²]; leading order in 1/n, docs/theory.md §9)${eps0 ? `: here c = ${c.toFixed(6)} (ε = 0), ${(c / widthOf(spec)).toExponential(2)} at n = ${widthOf(spec)}` : ''}; the records are the n → ∞ limit`;
  }
  return null;
}

function widthOf(spec: NetworkSpec): number {
  return Array.isArray(spec.width) ? spec.width[0] : spec.width;
}
