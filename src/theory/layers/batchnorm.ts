// batchnorm: per unit over the batch. Its theory is the finite-batch BN mean field of ../batchnorm.ts,
// ../stability.ts, ../gramDynamics.ts and ../actBnFinite.ts, a property of a whole Linear → BN → φ or
// Linear → φ → BN block (the samples of a batch are coupled): the block segments of blocks.ts, which the
// table recognises in a list of identical such blocks (the presets linear-bn-act and linear-act-bn, with or
// without residual, or the same blocks written as layers). A batchnorm anywhere else has no theory here,
// and the table says so.
import { SpecError } from '../../network/index.js';
import type { TheoryLayer } from './types.js';

export const BN_PREMISE =
  'a batchnorm only inside identical blocks dense → batchnorm → act or dense → act → batchnorm (each alone or as the whole inner list of a residual), the blocks of the presets linear-bn-act and linear-act-bn: the finite-batch BatchNorm theory is that of a whole block';

export const batchnorm = {
  doc: 'per unit over the batch: the finite-batch BN mean field (Yang et al. 2019; ../batchnorm.ts), a property of the block segments dense-bn-act and dense-act-bn (blocks.ts)',
  forward() {
    throw new SpecError('layers', 'batchnorm', BN_PREMISE);
  },
  records: ['preact_var', 'postact_mean', 'postact_var', 'bsb1_lambda_l', 'bsb1_lambda_m', 'growth_bsb1'],
  exactness:
    'batchnorm: see the notes of its block segment (exact under mean field and gradient independence at a finite batch, or leading order in 1/B)',
  spectrum: {},
} as const satisfies TheoryLayer<'batchnorm'>;
