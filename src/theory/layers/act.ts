// act: u = φ(y) elementwise. Forward: E φ(y)², E φ(y^a)φ(y^b) of the unit's Gaussian law (closed forms for
// the ReLU family, kink-aware quadrature otherwise: moments.ts). Backward: ×E φ′(y)² (diagonal) and
// ×E φ′(y^a)φ′(y^b) (cross-sample), at the activation's own input law.
import { activationOfLayer } from '../../network/index.js';
import { actStats, IDENTITY, type TheoryLayer, unsupportedList } from './types.js';

export const act = {
  doc: 'u = φ(y): q ↦ E φ(y)², qc ↦ E φ(y^a)φ(y^b); backward ×E φ′(y)² at its input law',
  forward(layer, law) {
    if (law.kind !== 'unit')
      unsupportedList('an activation on a residual stream or on the input (its law is not a function of one Gaussian)');
    if (law.act !== null) unsupportedList('two activations in one block');
    const phi = activationOfLayer(layer);
    const s = actStats(phi, law.pre, law.qh, law.ch);
    return { law: { ...law, act: phi, post: IDENTITY }, back: { d: s.d2, o: s.dphidphi } };
  },
  records: ['postact_mean', 'postact_var'],
  exactness: 'act: exact at infinite width (Gaussian expectations to ~1e-12)',
  spectrum: {},
} as const satisfies TheoryLayer<'act'>;
