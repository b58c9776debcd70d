// What predict takes and returns, shared by its drivers (predictTable.ts over the theory table, conv.ts for
// image networks) and by the rooms that read predict's Gram dynamics (sample, cli).
import type { SPRecord } from '../records/index.js';
import type { GramDiagnostics, GramDynamicsOptions, GramDynamicsResult } from './gramDynamics.js';
import type { Bsb1Stability } from './stability.js';

/**
 * When predict iterates the batch Gram dynamics (gramDynamics): 'auto' where the BSB1 fixed point is not
 * attracting (λ(B) there is not the rate a net follows), 'always' for every BatchNorm spec at a finite batch,
 * 'never' to report BSB1's λ(B) with its stability flag only.
 */
export const DYNAMICS_MODES = ['auto', 'always', 'never'] as const;
export type DynamicsMode = (typeof DYNAMICS_MODES)[number];

/** Monte Carlo settings predict uses for the Gram dynamics unless given (docs/theory.md §4.7). */
export const PREDICT_DYNAMICS: GramDynamicsOptions = { samples: 1024, replicas: 4, seed: 1 };

export interface PredictOptions {
  /** Pairwise correlation of the input samples (gaussianInputs' ρ); default 0. */
  inputCorr?: number;
  /** Variance of each input coordinate; default 1. */
  inputVar?: number;
  /**
   * Correlation between samples of ∂L/∂x_L at the top: 1 for the project's `readout` loss (the same
   * readout vector for every sample, the default), 0 for per-sample-independent loss gradients.
   * Only residual Linear → BN → φ nets and the weight gradients of no-BN nets depend on it.
   */
  topGradientCorr?: number;
  /** When to iterate the batch Gram dynamics (default 'auto': where BSB1 is not attracting). */
  dynamics?: DynamicsMode;
  /** Monte Carlo settings of the dynamics (default PREDICT_DYNAMICS; progress reports each layer). */
  dynamicsOptions?: GramDynamicsOptions;
}

export interface Prediction {
  records: SPRecord[];
  /** Interior per-layer growth of ‖∂L/∂h‖² (λ(B) for linear-bn-act; χ₁ for no-BN nets). */
  predictedGrowth: number;
  /** 1/ln(predictedGrowth) in layers: > 0 explosion toward the input, < 0 vanishing, Infinity if growth = 1. */
  depthScale: number;
  /** ln(‖∂L/∂h_1‖² / ‖∂L/∂h_L‖²) */
  logGrowthTotal: number;
  /** What is exact and what is approximate for this spec. */
  notes: string[];
  /** Stability of the BSB1 fixed point (Linear → BN → φ; null for other orders and residual nets). */
  stability: Bsb1Stability | null;
  /** λ(B) at the BSB1 fixed point (Linear → BN → φ), whether or not it attracts; null otherwise. */
  bsb1Growth: number | null;
  /** The batch Gram dynamics, where they were iterated (see PredictOptions.dynamics); else null. */
  dynamics: GramDynamicsResult | null;
  /** Standard error of predictedGrowth where it is a Monte Carlo estimate (the dynamics); else 0. */
  predictedGrowthSE: number;
}

/** Per-layer diagnostics of the batch Gram emitted as records (theory dynamics and sampled nets alike). */
export const GRAM_RECORDS = [
  ['norm_spread', 'normSpread'],
  ['distinct', 'distinct'],
  ['eff_rank', 'effRank'],
  ['gram_dev_l', 'devL'],
  ['gram_dev_m', 'devM'],
] as const satisfies readonly (readonly [string, keyof GramDiagnostics])[];
