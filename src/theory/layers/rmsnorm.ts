// rmsnorm: per sample over the n units, y = γ x/√(mean_n x² + ε), no centring. At infinite width the affine
// map x ↦ a x, a = γ/√(q + ε) (docs/derivations.md §17.1). Forward: q ↦ γ² q/(q+ε), qc ↦ γ² qc/(q+ε).
// Backward: ∂L/∂x = (γ/r)(I − x̃x̃ᵀ/n)g, ×γ²/(q+ε) at leading order, less (2−κ)ρ/n (κ = q/(q+ε), §17.2).
import { SpecError } from '../../network/index.js';
import { applyAffine, momentsOf, type TheoryLayer } from './types.js';

export const rmsnorm = {
  doc: 'per sample: γ x/√(mean_n x² + ε) → x ↦ γx/√(q+ε) at infinite width; backward ×γ²/(q+ε), less (2−κ)ρ/n',
  forward(layer, law) {
    const m = momentsOf(law);
    if (!(m.q + layer.eps > 0)) throw new SpecError('layers', 'rmsnorm', 'an rmsnorm whose input is not zero (mean_n x² + ε > 0)');
    const a = layer.gamma / Math.sqrt(m.q + layer.eps);
    return { law: applyAffine(law, { a, b: 0 }), back: { d: a * a, o: a * a } };
  },
  records: [],
  exactness:
    'rmsnorm: the infinite-width limit; at width n the radial projection removes (2−κ)ρ/n of the squared gradient (leading order, docs/theory.md §9)',
  spectrum: { unsupported: "the free-probability law of RMSNorm's per-sample projection is not derived here" },
} as const satisfies TheoryLayer<'rmsnorm'>;
