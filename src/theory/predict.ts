// predict(spec): per-layer theory records of any network. A short driver: the historical presets
// (linear-bn-act, linear-act-bn, linear-act, with or without residual) keep their path bit for bit
// (predictClassic.ts: the finite-batch BatchNorm theory is the premise of the table's batchnorm entry);
// every other net (the LayerNorm/RMSNorm presets, pre-/post-LN residual, custom layer lists) runs through
// the theory table keyed by layer kind (layers/, predictTable.ts). Definitions: docs/theory.md §7, §9.
import { kindsOf, layersOf, type NetworkSpec, SpecError } from '../network/index.js';
import { predictConv } from './conv.js';
import { BN_PREMISE } from './layers/index.js';
import { type Prediction, type PredictOptions, predictClassic } from './predictClassic.js';
import { predictTable } from './predictTable.js';

export {
  autoRunsGramDynamics,
  DYNAMICS_MODES,
  type DynamicsMode,
  GRAM_RECORDS,
  PREDICT_DYNAMICS,
  type Prediction,
  type PredictOptions,
  stationaryActBnGrowth,
} from './predictClassic.js';

/** The presets whose theory is predictClassic's (the BatchNorm mean field and the plain q-map). */
export const CLASSIC_ORDERS = ['linear-bn-act', 'linear-act-bn', 'linear-act'] as const;

/** Predict per-layer quantities for a spec (see docs/theory.md §7 for the definitions). */
export function predict(spec: NetworkSpec, opts: PredictOptions = {}): Prediction {
  if ((CLASSIC_ORDERS as readonly string[]).includes(spec.order)) return predictClassic(spec, opts);
  // image networks (conv presets, lists with conv2d/resblock): the conv mean field (conv.ts)
  if (spec.image) return predictConv(spec);
  if (kindsOf(layersOf(spec)).has('batchnorm')) throw new SpecError('layers', 'batchnorm', BN_PREMISE);
  return predictTable(spec, opts);
}
