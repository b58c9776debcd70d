// The exact factorisation of the measured per-layer gradient ratio of a Linear→BN→φ net, and the
// degenerate-gradient check of training probes (docs/training.md, "Gradient factors").
//
// Block l: h_l = x_{l−1}W_lᵀ + b_l, z_l = γ∘ẑ_l + β, x_l = φ(z_l); g_h^l = ∂L/∂h_l, g_x^l = ∂L/∂x_l.
//   R_l = ‖g_h^l‖²/‖g_h^{l+1}‖² = F_W · F_BN
//   F_W  = ‖g_h^{l+1} W_{l+1}‖²/‖g_h^{l+1}‖² = (‖W_{l+1}‖²_F/n_{l+1}) · α_W      (backward through Linear l+1)
//   F_BN = ‖g_h^l‖²/‖g_x^l‖²                 = A · κ · (1 − ρ_P)                 (backward through φ, γ, BN of block l)
// with, per unit j of block l (s_j² = σ_j² + ε the BN denominator, u_j = ‖g_x,j^l‖²/‖g_x^l‖²):
//   a_j = γ_j² E_b[φ′(z_j)²]/s_j²                      A = Σ_j u_j a_j
//   κ   = ‖γ∘s⁻¹∘φ′∘g_x^l‖² / Σ_j a_j ‖g_x,j^l‖²        (gate–gradient correlation, energy·gain weighted)
//   ρ_P = 1 − ‖g_h^l‖²/‖γ∘s⁻¹∘φ′∘g_x^l‖²                (the fraction BN's mean/variance projection removes)
// Every factor is a ratio of two measured sums and the product telescopes, so F_W·F_BN = R up to the
// rounding of those sums. Under gradient independence (g_h^{l+1} isotropic and independent of W_{l+1}),
// E‖gW‖² = ‖g‖²‖W‖²_F/n_{l+1}, so α_W = 1 in expectation; n = n_{l+1}, the dimension g_h^{l+1} lives in.
// The gradient-independence reconstruction (src/theory/correlation.ts) is R_GIA = (‖W‖²_F/n_{l+1})·A_GIA with
// A_GIA = γ²·mean_{b,j}φ′²·Σ_j (c_j²/‖W‖²_F)/s_j² (c_j² = ‖W_{l+1}[:, j]‖², spec γ), i.e. it sets α_W = κ = 1,
// ρ_P = 0 and weights units by c_j² instead of their gradient energy.

/** Per-unit sums of block l (length n_l each), read back from the device. */
export interface UnitSums {
  /** ‖g_x,j^l‖² = Σ_b (∂L/∂x_l)_{bj}² */
  gx2: ArrayLike<number>;
  /** E_b[φ′(z_j)²] */
  dphi2: ArrayLike<number>;
  /** Σ_b (φ′(z)∘g_x^l)_{bj}² */
  gated2: ArrayLike<number>;
  /** Σ_b (g_h^l)_{bj}² */
  gh2: ArrayLike<number>;
  /** s_j² = σ_j² + ε (biased batch variance of h_l, as BN normalises) */
  varEps: ArrayLike<number>;
  /** γ_j² (learned) */
  gamma2: ArrayLike<number>;
}

export interface GradientFactors {
  /** F_W = ‖g_h^{l+1}W_{l+1}‖²/‖g_h^{l+1}‖² */
  fW: number;
  /** ‖W_{l+1}‖²_F / n_{l+1} */
  weightGain: number;
  /** α_W = F_W / (‖W_{l+1}‖²_F/n_{l+1}) */
  alphaW: number;
  /** F_BN = ‖g_h^l‖²/‖g_x^l‖² */
  fBN: number;
  /** A = Σ_j u_j γ_j² E_b φ′_j² / s_j² */
  unitGain: number;
  /** κ, gate–gradient correlation */
  kappa: number;
  /** ρ_P, fraction removed by BN's projection */
  rhoP: number;
  /** F_W·F_BN (= ‖g_h^l‖²/‖g_h^{l+1}‖² from the per-unit sums) */
  product: number;
}

/**
 * The factors of R_l from the per-unit sums of block l, ‖g_h^{l+1}‖² and ‖W_{l+1}‖²_F (float64 on the host).
 * Returns null when a denominator is 0 (no gradient reaches block l) or a sum is not finite.
 */
export function combineFactors(u: UnitSums, gradTopSq: number, weightSq: number, nNext: number): GradientFactors | null {
  const n = u.gx2.length;
  let sG = 0;
  let sA = 0;
  let sK = 0;
  let sH = 0;
  for (let j = 0; j < n; j++) {
    const w = u.gamma2[j] / u.varEps[j];
    sG += u.gx2[j];
    sA += w * u.dphi2[j] * u.gx2[j];
    sK += w * u.gated2[j];
    sH += u.gh2[j];
  }
  // (a unit with zero batch variance at ε = 0 makes a_j infinite: no factors then)
  if (!(gradTopSq > 0 && sG > 0 && sA > 0 && sK > 0 && weightSq > 0) || !Number.isFinite(sA + sK + sH)) return null;
  const fW = sG / gradTopSq;
  const weightGain = weightSq / nNext;
  const fBN = sH / sG;
  return { fW, weightGain, alphaW: fW / weightGain, fBN, unitGain: sA / sG, kappa: sK / sA, rhoP: 1 - sH / sK, product: sH / gradTopSq };
}

/** u = 2⁻²⁴, the unit round-off of float32. */
export const F32_UNIT_ROUNDOFF = 2 ** -24;

export interface Degeneracy {
  /** null: a usable gradient; 'zero': ‖∂L/∂h_L‖² = 0 (or not finite); 'round-off': at float32 round-off */
  kind: null | 'zero' | 'round-off';
  /** ν = ‖g_h^L‖/‖γ∘s⁻¹∘φ′∘g_x^L‖ (linear-bn-act), the part of the gradient BN's projection lets through; NaN where not computed */
  nu: number;
  /** the threshold ν was compared with: 1024·√B·u */
  threshold: number;
}

/**
 * Whether the gradient at the top block is usable. ‖∂L/∂h_L‖² = 0 is 'zero' (the loss does not depend on
 * h_L). For linear-bn-act, BN's backward subtracts from γ∘s⁻¹∘φ′∘g_x^L its batch mean and its ẑ
 * component; when the loss gradient is (nearly) the same for every sample, as for a sum-of-outputs loss
 * through BN→identity, what is left is float32 round-off, of order √B·u times the input. ν below
 * 1024·√B·u means round-off may be more than about 0.1% of the measured gradient: 'round-off'.
 */
export function degeneracyOf(topSq: number, preSq: number | null, batch: number): Degeneracy {
  const threshold = 1024 * Math.sqrt(batch) * F32_UNIT_ROUNDOFF;
  if (!(Number.isFinite(topSq) && topSq > 0)) return { kind: 'zero', nu: 0, threshold };
  if (preSq === null || !(preSq > 0)) return { kind: null, nu: Number.NaN, threshold };
  const nu = Math.sqrt(topSq / preSq);
  return { kind: nu < threshold ? 'round-off' : null, nu, threshold };
}
