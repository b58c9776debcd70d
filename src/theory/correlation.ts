// The gradient-independence reconstruction (GIA) of the per-layer gradient ratio from measured weights
// and batch statistics (docs/derivations.md §13, docs/theory.md §6; once called the "correlation-aware rate"):
//   R_l = ‖∂L/∂h_{l−1}‖² / ‖∂L/∂h_l‖² ≈ E[φ′(y_{l−1})²]·γ²·(n_{l−1}/n_l)·mean_j(c_j² / σ_{l−1,j}²)
// with c_j² = ‖W_l[:, j]‖² and σ_{l−1,j}² the batch variance (+ε) of unit j of h_{l−1}; factorised as
// R = λ∞ · Ω_W · A_corr.
// It keeps the measured forward statistics but assumes the backward gradient isotropic and independent
// of W_l and of the gates φ′ (and drops BN's mean/variance paths). That holds at initialization; training
// breaks it within a few steps (the gradient aligns with W's top singular directions, and with the active
// gates), so during training this is a labelled approximation, not a prediction: the trainer records it
// as `gia_growth` beside the exact factorisation R = (‖W‖²/n)·α_W·A·κ·(1 − ρ_P) of the measured ratio
// (src/train/factors.ts, docs/training.md), which says which assumption fails and when.
import type { BnSpec } from '../network/index.js';
import { type ActivationLike, gaussMoments, toActivation } from './moments.js';

export interface LayerCovarianceSummary {
  /** batch variance (+eps) of each unit j of block l−1's pre-normalization output h_{l−1}, length n_{l−1} */
  preVar: ArrayLike<number>;
  /** ‖W_l[:, j]‖², column j of block l's weight (n_l × n_{l−1}), length n_{l−1} */
  colNormSq: ArrayLike<number>;
  /** measured mean of φ′(y_{l−1})² over batch and units, y = γ·ẑ + β the activation's input */
  dphiSqMean: number;
  /** n_l */
  nCur: number;
  /** optional: ‖W_{l−1}[j, :]‖², row j of block l−1's weight, length n_{l−1}; separates Ω_W from A_corr exactly */
  prevRowNormSq?: ArrayLike<number>;
}

export interface CorrelationAwareRate {
  /** R_l predicted from the measured statistics */
  rate: number;
  /** γ² E φ′(y)² / Var φ(y), y ~ N(β, γ²): the rate at initialisation, large batch */
  lambdaInf: number;
  /** weight-norm ratio: (n_{l−1}/n_l)·mean c_j² / mean ‖w_{l−1,j}‖² (with prevRowNormSq), else / (mean σ_j² / Var φ) */
  omegaW: number;
  /** the rest: R / (λ∞ Ω_W); 1 at initialisation, < 1 when weights align with correlated directions */
  aCorr: number;
}

function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

function check(field: string, xs: ArrayLike<number>, n: number, positive: boolean): void {
  if (xs.length !== n) throw new RangeError(`${field}: length ${xs.length} is not allowed; expected n_{l−1} = ${n}`);
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i];
    if (!Number.isFinite(v) || (positive ? v <= 0 : v < 0)) {
      throw new RangeError(`${field}[${i}]: ${v} is not allowed; expected a finite number ${positive ? '> 0' : '>= 0'}`);
    }
  }
}

/**
 * The gradient-independence reconstruction of layer l's ratio from measured statistics (A.5, derived by
 * us). Assumes gradient independence and neglects BN's mean/variance gradient paths (O(1/B)); exact
 * factors of the measured ratio are in src/train/factors.ts.
 */
export function correlationAwareRate(
  s: LayerCovarianceSummary,
  activation: ActivationLike,
  bn: Partial<BnSpec> = {},
): CorrelationAwareRate {
  const nPrev = s.preVar.length;
  if (nPrev < 1) throw new RangeError('preVar: empty is not allowed; expected one batch variance per unit of h_{l−1}');
  check('preVar', s.preVar, nPrev, true);
  check('colNormSq', s.colNormSq, nPrev, false);
  if (!(Number.isFinite(s.dphiSqMean) && s.dphiSqMean >= 0))
    throw new RangeError(`dphiSqMean: ${s.dphiSqMean} is not allowed; expected a finite number >= 0`);
  if (!(Number.isInteger(s.nCur) && s.nCur >= 1)) throw new RangeError(`nCur: ${s.nCur} is not allowed; expected an integer >= 1`);
  const gamma = bn.gamma ?? 1;
  const beta = bn.beta ?? 0;
  const act = toActivation(activation);
  let ratioMean = 0;
  for (let j = 0; j < nPrev; j++) ratioMean += s.colNormSq[j] / s.preVar[j];
  ratioMean /= nPrev;
  const widthRatio = nPrev / s.nCur;
  const rate = s.dphiSqMean * gamma * gamma * widthRatio * ratioMean;
  const gm = gaussMoments(act, beta, gamma * gamma);
  if (!(gm.variance > 0))
    throw new RangeError(`activation: ${act.name} has zero output variance at γ = ${gamma}, β = ${beta}; λ∞ is undefined`);
  const lambdaInf = (gamma * gamma * gm.d2) / gm.variance;
  let omegaW: number;
  if (s.prevRowNormSq) {
    check('prevRowNormSq', s.prevRowNormSq, nPrev, true);
    omegaW = (widthRatio * mean(s.colNormSq)) / mean(s.prevRowNormSq);
  } else {
    omegaW = (widthRatio * mean(s.colNormSq) * gm.variance) / mean(s.preVar);
  }
  const aCorr = omegaW > 0 && lambdaInf > 0 ? rate / (lambdaInf * omegaW) : 0;
  return { rate, lambdaInf, omegaW, aCorr };
}
