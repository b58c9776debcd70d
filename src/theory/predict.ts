// predict(spec): per-layer theory records of any network. A short driver: an image network (conv presets,
// lists with conv2d/resblock) runs on the conv mean field (conv.ts); every other net on the theory table
// (predictTable.ts), which runs a list of identical Linear → BN → φ, Linear → φ → BN or Linear → φ blocks
// on its block segment (layers/blocks.ts, predictBlocks.ts) and any other list layer by layer through the
// per-kind entries (layers/). Definitions: docs/theory.md §7, §9.
import type { NetworkSpec } from '../network/index.js';
import { predictConv } from './conv.js';
import { predictTable } from './predictTable.js';
import type { Prediction, PredictOptions } from './predictTypes.js';

export { autoRunsGramDynamics } from './predictBlocks.js';
export {
  DYNAMICS_MODES,
  type DynamicsMode,
  GRAM_RECORDS,
  PREDICT_DYNAMICS,
  type Prediction,
  type PredictOptions,
} from './predictTypes.js';

/** The presets whose blocks are the block segments of layers/blocks.ts (the BatchNorm mean field and the plain q-map). */
export const CLASSIC_ORDERS = ['linear-bn-act', 'linear-act-bn', 'linear-act'] as const;

/** Predict per-layer quantities for a spec (see docs/theory.md §7 for the definitions). */
export function predict(spec: NetworkSpec, opts: PredictOptions = {}): Prediction {
  if (spec.image) return predictConv(spec);
  return predictTable(spec, opts);
}
