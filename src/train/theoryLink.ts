// The link to the theory room's gradient-independence reconstruction of the per-layer gradient ratio
// (docs/derivations.md §13; src/theory/correlation.ts, `correlationAwareRate`). It is recorded as `gia_growth`, a
// labelled approximation beside the exact factorisation (src/train/factors.ts), not a prediction: it assumes
// the backward gradient independent of the weights, which training breaks within a few steps
// (docs/training.md). Loaded lazily so that a build without it (or a theory module that fails to load)
// still trains; then `gia_growth` probes are skipped and the manifest says so (giaGrowth: false).
import { createRequire } from 'node:module';
import type { Activation, BnSpec } from '../network/index.js';

export interface CorrelationAwareInput {
  /** Batch variance (+ ε) of each unit j of block l's pre-normalization output h_l. */
  preVar: ArrayLike<number>;
  /** ‖W_{l+1}[:, j]‖², the squared norm of the next Linear layer's input column j. */
  colNormSq: ArrayLike<number>;
  /** E[φ′(z_l)²] over the batch and units of block l. */
  dphiSqMean: number;
  /** Width n_{l+1} of the next block. */
  nCur: number;
  /** ‖W_l[j, :]‖², the squared norms of block l's weight rows (separates Ω_W from A_corr exactly). */
  prevRowNormSq?: ArrayLike<number>;
}
export interface CorrelationAwareResult {
  rate: number;
  lambdaInf: number;
  omegaW: number;
  aCorr: number;
}
export type CorrelationAwareRate = (s: CorrelationAwareInput, activation: Activation, bn: BnSpec) => CorrelationAwareResult;

let cached: Promise<CorrelationAwareRate | null> | null = null;

/** The theory room's correlationAwareRate (the gradient-independence reconstruction), or null when it is not there. */
export function loadCorrelationAwareRate(): Promise<CorrelationAwareRate | null> {
  cached ??= (async () => {
    try {
      const spec = '../theory/index.js';
      // in a pool thread of a checkout (TypeScript through tsx's require hook) import() of a .ts module fails
      // (ERR_UNKNOWN_FILE_EXTENSION): require it there, as src/sweep/load.ts does
      const mod: any = await import(spec).catch((e) => {
        if ((e as NodeJS.ErrnoException).code !== 'ERR_UNKNOWN_FILE_EXTENSION' && !import.meta.url.endsWith('.ts')) throw e;
        return createRequire(import.meta.url)(spec);
      });
      return typeof mod.correlationAwareRate === 'function' ? (mod.correlationAwareRate as CorrelationAwareRate) : null;
    } catch {
      return null;
    }
  })();
  return cached;
}
