// groupnorm on a flat activation: per sample, the n units split into G groups of n/G, each normalized over its
// own units, y = γ (x − m_g)/√(v_g + ε) + β. At infinite width with G fixed each group holds n/G → ∞ units of
// the same unit law, so m_g → μ and v_g → q − μ² exactly as layernorm's m and v do (the group statistics
// self-average, docs/derivations.md §17.6): the map is layernorm's affine map
// x ↦ a x + b, a = γ/√(q − μ² + ε), b = β − aμ, whatever G. Backward ×γ²/(v+ε) at leading order; each group's
// projection removes (1 + (2−κ)ρ)/(n/G) of its share of ‖g‖², so G·(1 + (2−κ)ρ)/n in all (leading order in G/n).
// Image nets do not run through this table (theory/layers/conv.ts).
import type { TheoryLayer } from './types.js';
import { layernorm } from './layernorm.js';

export const groupnorm = {
  doc: 'per sample and group of n/G units: γ(x − mean_g x)/√(var_g x + ε) + β → layernorm’s affine map at infinite width (G fixed); backward ×γ²/(v+ε), less G(1+(2−κ)ρ)/n',
  forward(layer, law) {
    return layernorm.forward({ kind: 'layernorm', gamma: layer.gamma, beta: layer.beta, eps: layer.eps }, law);
  },
  records: [],
  exactness:
    'groupnorm: the infinite-width limit at fixed G (each group of n/G units self-averages: the layernorm map); at width n the per-group projections remove G·(1 + (2−κ)ρ)/n of the squared gradient (leading order in G/n, docs/theory.md)',
  spectrum: { unsupported: "the free-probability law of GroupNorm's per-sample, per-group projection is not derived here" },
} as const satisfies TheoryLayer<'groupnorm'>;
