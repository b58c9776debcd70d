// layernorm: per sample over the n units, y = γ (x − m)/√(v + ε) + β, m = mean_n x, v = var_n x. At
// infinite width m → μ and v → q − μ² of the unit law (they self-average), so LN is the affine map
// x ↦ a x + b with a = γ/√(q − μ² + ε), b = β − aμ, the same for every sample (docs/derivations.md §17.1).
// Forward: q ↦ γ² v/(v+ε) + β², qc ↦ γ²(qc − μ²)/(v+ε) + β². Backward: ∂L/∂x = (γ/s)(I − 11ᵀ/n − ẑẑᵀ/n)g,
// ×γ²/(v+ε) at leading order; the projection removes (1 + (2−κ)ρ)/n of ‖g‖² (κ = v/(v+ε), §17.2):
// lnFiniteWidth.
import { SpecError } from '../../network/index.js';
import { applyAffine, momentsOf, type TheoryLayer } from './types.js';

export const layernorm = {
  doc: 'per sample: γ(x − mean_n x)/√(var_n x + ε) + β → affine at infinite width; backward ×γ²/(v+ε), less (1+(2−κ)ρ)/n',
  forward(layer, law) {
    const m = momentsOf(law);
    const v = Math.max(0, m.q - m.mu * m.mu);
    if (!(v + layer.eps > 0)) throw new SpecError('layers', 'layernorm', 'a layernorm whose input varies across units (var_n x + ε > 0)');
    const a = layer.gamma / Math.sqrt(v + layer.eps);
    return { law: applyAffine(law, { a, b: layer.beta - a * m.mu }), back: { d: a * a, o: a * a } };
  },
  records: [],
  exactness:
    'layernorm: the forward map and the backward factor γ²/(v+ε) are the infinite-width limit; at width n the projection onto the mean and radial directions removes (1 + (2−κ)ρ)/n of the squared gradient (leading order, docs/theory.md §9)',
  spectrum: { unsupported: "the free-probability law of LayerNorm's per-sample projection is not derived here" },
} as const satisfies TheoryLayer<'layernorm'>;
