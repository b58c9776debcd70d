// batchnorm: per unit over the batch. Its theory is the finite-batch BN mean field of ../batchnorm.ts,
// ../stability.ts, ../gramDynamics.ts and ../actBnFinite.ts, whose premise is a net of identical
// Linear → BN → φ or Linear → φ → BN blocks (the presets linear-bn-act and linear-act-bn, with or without
// residual): predict sends those presets to that path (../predictClassic.ts) unchanged. A batchnorm inside
// any other list has no such theory here, and the table says so.
import { SpecError } from '../../network/index.js';
import type { TheoryLayer } from './types.js';

export const BN_PREMISE =
  'the finite-batch BatchNorm theory covers the presets linear-bn-act and linear-act-bn (with or without residual): give order instead of a custom layer list';

export const batchnorm = {
  doc: 'per unit over the batch: the finite-batch BN mean field (Yang et al. 2019; ../batchnorm.ts), for the BN presets',
  forward() {
    throw new SpecError('layers', 'batchnorm', BN_PREMISE);
  },
  records: ['preact_var', 'postact_mean', 'postact_var', 'bsb1_lambda_l', 'bsb1_lambda_m', 'growth_bsb1'],
  exactness:
    'batchnorm: see the notes of the BN presets (exact under mean field and gradient independence at a finite batch, or leading order in 1/B)',
  spectrum: {},
} as const satisfies TheoryLayer<'batchnorm'>;
