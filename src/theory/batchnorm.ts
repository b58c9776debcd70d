// BatchNorm mean field (Yang, Pennington, Rao, Sohl-Dickstein & Schoenholz, ICLR 2019): the BSB1 fixed
// point and the gradient-explosion rate λ(B) of ‖∂L/∂h‖² per layer for Linear → BN → φ, in closed form
// for ReLU (Thm 8 / 3.10), for any φ (Thm 7 / 3.9), and in the large-batch limit; plus our large-batch
// leading order for Linear → φ → BN. Formulas and what we derived: docs/theory.md §4–§5.
import { type BnSpec, SpecError } from '../spec/index.js';
import { arcCosJ, arcCosJPrime } from './closedForms.js';
import { type ActivationLike, gaussMoments, slopesOf, toActivation } from './moments.js';
import { normalRule } from './quadrature.js';
import { type SphereMoments, sphereMoments } from './sphere.js';

/** Yang et al.'s setting: γ = 1, β = 0, ε = 0. */
export const YANG_BN: BnSpec = { gamma: 1, beta: 0, eps: 0 };

function bnOf(bn?: Partial<BnSpec>): BnSpec {
  return { ...YANG_BN, ...(bn ?? {}) };
}

function checkBatch(B: number): void {
  if (!(Number.isInteger(B) && B >= 4)) {
    throw new RangeError(`batch: ${B} is not allowed; expected an integer >= 4 (Yang et al. Thm 7: the expected rate holds E[1/χ²_(B−1)] = 1/(B−3), infinite for B ≤ 3)`);
  }
}

/** Rate of a linear network with BN: (B−2)/(B−3) (Yang et al. 2019, §3.4 / Thm 9 minimum). */
export function linearBnRate(B: number | null): number {
  if (B === null) return 1;
  checkBatch(B);
  return (B - 2) / (B - 3);
}

/**
 * λ(B) for ReLU, Yang et al. (2019) Thm 8 (Thm 3.10 in the camera-ready) with α = 1, c0 = −1/(B−1):
 * λ = (B−1)(𝒥′(c0) + (B−1)𝒥(1)) / ((B−3)(B−1)(𝒥(1) − 𝒥(c0))) − 1/(B−3), 𝒥(1) = 1.
 */
export function reluRateYang(B: number): number {
  checkBatch(B);
  const c0 = -1 / (B - 1);
  const J = arcCosJ(c0);
  const Jp = arcCosJPrime(c0);
  return (Jp + (B - 1)) / ((B - 3) * (1 - J)) - 1 / (B - 3);
}

/**
 * The Thm 7 bracket and denominator from BN-output moments:
 * λ = E[(B−1−x1²)φ̃′(x1)² + (1+x1x2)φ̃′(x1)φ̃′(x2)] / ((B−3)·q*(1−c*)), q*(1−c*) = E φ̃² − E φ̃φ̃;
 * B null: λ∞ = E φ̃′² / Var φ̃.
 */
export function rateFromMoments(m: SphereMoments): number {
  if (m.B === null) {
    const v = m.m2 - m.m1 * m.m1;
    return m.S1 / v;
  }
  const B = m.B;
  const bracket = (B - 1) * m.S1 - m.T1 + m.S2 + m.T2;
  return bracket / ((B - 3) * (m.m2 - m.pair));
}

/**
 * Yang et al. (2019) Thm 7 (Thm 3.9) for a general φ with γ = 1, β = 0, ε = 0:
 * λ(B) = (B(B−2))^(2−B/2) / (2π q*(1−c*)) ∫_{Z>0} [(B−1−z1²)φ′(z1)² + (1+z1z2)φ′(z1)φ′(z2)] Z^((B−5)/2) dz.
 * The prefactor times Z^((B−5)/2) is (B−3)/(2π)·p(z) with p the law of two BN outputs; we integrate
 * against p in normalised variables, where the weight is exp(k·ln cos θ): no power of B(B−2) is ever formed,
 * so B from 4 to 10^6 works (docs/theory.md §4.2).
 */
export function bnRateIntegral(activation: ActivationLike, B: number): number {
  checkBatch(B);
  const act = toActivation(activation);
  return rateFromMoments(sphereMoments(act, 1, 0, B, { quadrature: true }));
}

export interface BnRateOptions {
  /** Weight gain σ_w²; matters only when ε > 0 (default 1, Yang's). */
  sigmaW2?: number;
}

/**
 * ε enters BN as x = γ·(h−μ)/√(v̂+ε) + β = γ√κ·n + β with κ = v̂/(v̂+ε), n the ε = 0 output. At the
 * stationary state v̂ = σ_w²·(batch variance of φ(γ√κ n + β)); we solve κ by fixed-point iteration.
 * Exact when ε = 0; otherwise it treats v̂ as self-averaging (approximate, derived by us).
 */
export function effectiveGamma(activation: ActivationLike, B: number | null, bn?: Partial<BnSpec>, opts: BnRateOptions = {}): { kappa: number; gammaEff: number } {
  const act = toActivation(activation);
  const { gamma, beta, eps } = bnOf(bn);
  if (!(eps > 0)) return { kappa: 1, gammaEff: gamma };
  const sw = opts.sigmaW2 ?? 1;
  const fB = B === null ? 1 : (B - 1) / B;
  let kappa = 1;
  for (let it = 0; it < 200; it++) {
    const m = sphereMoments(act, gamma * Math.sqrt(kappa), beta, B);
    const v = sw * fB * (m.m2 - (B === null ? m.m1 * m.m1 : m.pair));
    const next = v / (v + eps);
    if (Math.abs(next - kappa) <= 1e-15) {
      kappa = next;
      break;
    }
    kappa = next;
  }
  return { kappa, gammaEff: gamma * Math.sqrt(kappa) };
}

/**
 * λ(B) for Linear → BN → φ with BN's γ, β, ε: Thm 7 applied to φ̃(x) = φ(γ_eff x + β) (exact for γ, β:
 * Thm 7 holds for any φ; γ_eff = γ√κ carries ε, see effectiveGamma). B null → the large-batch limit
 * λ∞ = γ² E φ′(y)² / Var φ(y), y ~ N(β, γ²). Defaults are Yang's γ = 1, β = 0, ε = 0.
 */
export function bnGradientRate(activation: ActivationLike, B: number | null, bn?: Partial<BnSpec>, opts: BnRateOptions = {}): number {
  const act = toActivation(activation);
  if (B !== null) checkBatch(B);
  const b = bnOf(bn);
  const { gammaEff } = effectiveGamma(act, B, b, opts);
  if (B !== null && b.beta === 0 && slopesOf(act)?.a === 0 && slopesOf(act)?.b === 1 && gammaEff > 0) return reluRateYang(B);
  const m = sphereMoments(act, gammaEff, b.beta, B);
  const within = B === null ? m.m2 - m.m1 * m.m1 : m.m2 - m.pair;
  if (!(within > 1e-300) || !Number.isFinite(within)) {
    // φ(γx + β) is constant on the support of the BN output (e.g. ReLU with γ√(B−1) + β ≤ 0): every sample
    // gives the same output, the next BN divides 0 by 0, and the rate is undefined (Thm 9 needs φ non-constant)
    throw new SpecError(
      'activation',
      act.name,
      `an activation that is not constant on the support of the BN output; φ(γ·x + β) with γ = ${b.gamma}, β = ${b.beta} is constant there${B === null ? '' : ` at B = ${B} (|x| ≤ √(B−1))`}`,
    );
  }
  return rateFromMoments(m);
}

export interface LargeBatchOptions {
  order?: 'linear-bn-act' | 'linear-act-bn';
  sigmaW2?: number;
  sigmaB2?: number;
}

/**
 * Large-batch rate λ∞ of ‖∂L/∂h‖² per layer.
 * linear-bn-act: γ_eff² E φ′(y)²/Var φ(y), y ~ N(β, γ_eff²) (Yang's B → ∞ limit with γ, β; A.2 of our notes).
 * linear-act-bn (derived by us): σ_w² γ² E_m[E φ′(m+f)² / (Var φ(m+f) + ε)], f ~ N(0, σ_w²γ²κ̄),
 * m ~ N(0, σ_w²β² + σ_b²) the unit's mean, κ̄ = E_m[v/(v+ε)] at the fixed point.
 */
export function largeBatchRate(activation: ActivationLike, bn?: Partial<BnSpec>, opts: LargeBatchOptions = {}): number {
  const act = toActivation(activation);
  const b = bnOf(bn);
  if ((opts.order ?? 'linear-bn-act') === 'linear-bn-act') return bnGradientRate(act, null, b, opts);
  const sw = opts.sigmaW2 ?? 2;
  const sb = opts.sigmaB2 ?? 0;
  let kbar = 1;
  let out = actBnBlock(act, b, sw * (b.beta * b.beta + b.gamma * b.gamma * kbar) + sb, sw * b.beta * b.beta + sb, null);
  for (let it = 0; it < 200; it++) {
    const next = actBnBlock(act, b, sw * (b.beta * b.beta + b.gamma * b.gamma * out.kappaBar) + sb, sw * b.beta * b.beta + sb, null);
    const done = Math.abs(next.kappaBar - kbar) <= 1e-15;
    kbar = next.kappaBar;
    out = next;
    if (done) break;
  }
  return sw * out.tau;
}

export interface ActBnBlock {
  /** γ² E_m[S1(m)/(v(m)+ε)]: gain of ‖g‖² from the BN output back to h (per unit, large batch) */
  tau: number;
  /** γ² E_m[D1(m)²/(v(m)+ε)]: the within-unit cross-sample part (for weight gradients) */
  rhoD: number;
  /** E_m κ(m), κ = v/(v+ε): batch variance of the BN output is γ²κ̄ */
  kappaBar: number;
  /** E φ(h) */
  postMean: number;
}

/**
 * One Linear → φ → BN block at large batch (derived by us): h = unit mean m ~ N(0, qc_h⁺) plus
 * within-batch fluctuation f ~ N(0, q_h − qc_h⁺); BN divides each unit by √(v(m)+ε).
 */
export function actBnBlock(act: ReturnType<typeof toActivation>, bn: BnSpec, qh: number, qch: number, B: number | null): ActBnBlock {
  const fB = B === null ? 1 : (B - 1) / B;
  const sm2 = Math.max(0, qch);
  const fv = Math.max(0, qh - sm2);
  const g2 = bn.gamma * bn.gamma;
  const one = (m: number) => {
    const gm = gaussMoments(act, m, fv);
    const v = fB * gm.variance;
    const den = v + bn.eps;
    return {
      s: den > 0 ? (g2 * gm.d2) / den : 0,
      r: den > 0 ? (g2 * gm.d1 * gm.d1) / den : 0,
      k: den > 0 ? v / den : 0,
      mean: gm.mean,
    };
  };
  if (sm2 <= 1e-300 * Math.max(qh, 1e-300)) {
    const o = one(0);
    return { tau: o.s, rhoD: o.r, kappaBar: o.k, postMean: o.mean };
  }
  const rule = normalRule([], 8);
  const sd = Math.sqrt(sm2);
  let tau = 0;
  let rhoD = 0;
  let kappaBar = 0;
  let postMean = 0;
  let wsum = 0;
  for (let i = 0; i < rule.nodes.length; i++) {
    const w = rule.weights[i];
    if (w < 1e-300) continue;
    const o = one(sd * rule.nodes[i]);
    tau += w * o.s;
    rhoD += w * o.r;
    kappaBar += w * o.k;
    postMean += w * o.mean;
    wsum += w;
  }
  return { tau: tau / wsum, rhoD: rhoD / wsum, kappaBar: kappaBar / wsum, postMean: postMean / wsum };
}

/**
 * The BSB1 fixed point of Yang et al. (Thm 5 for ReLU): Σ* = q*[(1−c*)I + c*11ᵀ] with σ_w² = 1, σ_b² = 0,
 * i.e. q* = E φ̃(x1)², c* = E φ̃(x1)φ̃(x2)/q* over the BN output at batch B (ReLU: q* = 1/2,
 * c* = 𝒥(−1/(B−1))). B null gives the large-batch limit (c* = (E φ̃)²/E φ̃²).
 */
export function bsb1FixedPoint(activation: ActivationLike, B: number | null, bn?: Partial<BnSpec>, opts: BnRateOptions = {}): { q: number; c: number } {
  const act = toActivation(activation);
  if (B !== null) checkBatch(B);
  const b = bnOf(bn);
  const { gammaEff } = effectiveGamma(act, B, b, opts);
  const m = sphereMoments(act, gammaEff, b.beta, B);
  return { q: m.m2, c: m.pair / m.m2 };
}
