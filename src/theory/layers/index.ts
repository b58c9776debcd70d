// The theory table: one entry per layer kind (a kind missing here is a compile error). Each entry maps the
// infinite-width state forward, says what the layer does to the backward signal, the records it
// contributes, what is exact, and whether the Jacobian spectrum supports it. Driver: ../predictTable.ts.
import { LAYER_KINDS, type LayerKind, type MaybeSupported } from '../../network/index.js';
import { act } from './act.js';
import { batchnorm } from './batchnorm.js';
import { conv2d, flatten, gap, resblock } from './conv.js';
import { dense } from './dense.js';
import { groupnorm } from './groupnorm.js';
import { layernorm } from './layernorm.js';
import { residual } from './residual.js';
import { rmsnorm } from './rmsnorm.js';
import type { TheoryLayer } from './types.js';

export const THEORY_LAYERS = { dense, batchnorm, layernorm, rmsnorm, groupnorm, act, residual, conv2d, gap, flatten, resblock } satisfies {
  [K in LayerKind]: TheoryLayer<K>;
};

/** What the free-probability Jacobian spectrum supports, per kind (for checkSupported). */
export const SPECTRUM_SUPPORT = Object.fromEntries(LAYER_KINDS.map((k) => [k, THEORY_LAYERS[k].spectrum])) as Record<
  LayerKind,
  MaybeSupported
>;

export { BN_PREMISE } from './batchnorm.js';
export * from './finiteWidth.js';
export * from './segment.js';
export * from './types.js';
