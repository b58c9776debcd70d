// The trainer's table of layers, keyed by layer kind (src/network/layers.ts): a kind missing here is a
// compile error. The Mlp (model.ts) builds and walks a network's layer list through it.
import { blocksOf, type Layer, type LayerKind } from '../../network/index.js';
import { act } from './act.js';
import { batchnorm } from './batchnorm.js';
import { conv2d, flatten, gap, resblock } from './conv.js';
import { dense } from './dense.js';
import { groupnorm } from './groupnorm.js';
import { layernorm } from './layernorm.js';
import { residual } from './residual.js';
import { rmsnorm } from './rmsnorm.js';
import type { TrainLayer } from './types.js';

export const TRAIN_LAYERS = {
  dense,
  batchnorm,
  layernorm,
  rmsnorm,
  groupnorm,
  act,
  residual,
  conv2d,
  gap,
  flatten,
  resblock,
} satisfies Record<LayerKind, TrainLayer<any, any>>;

/** The block the exact gradient factors (factors.ts) and their gradient-independence reconstruction are derived for. */
export const FACTOR_BLOCK: readonly LayerKind[] = ['dense', 'batchnorm', 'act'];

/**
 * Whether the gradient-factor probes apply: every block is exactly Linear → BN → φ (no residual, no
 * other norm, nothing after φ), the network factors.ts is derived for.
 */
export function exactFactorsApply(layers: readonly Layer[]): boolean {
  return blocksOf(layers).every((b) => b.length === FACTOR_BLOCK.length && b.every((l, i) => l.kind === FACTOR_BLOCK[i]));
}

export { batchNorm, batchNormEval } from './batchnorm.js';
export { kernelFromRowMajor, linear } from './dense.js';
export { type GroupLayout, groupNorm } from './groupnorm.js';
export { layerNorm } from './layernorm.js';
export { rmsNorm } from './rmsnorm.js';
export type { BnBatchStats, BuildContext, Built, ForwardContext, Node, ParamInit, ParamKind, TrainLayer } from './types.js';
