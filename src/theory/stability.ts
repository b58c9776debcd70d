// Linear stability of the BSB1 fixed point of the BatchNorm Gram map (Linear → BN → φ).
// At infinite width the B×B Gram matrix evolves by Σ ↦ F(Σ) = E_{h~N(0,Σ)}[φ̃(BN h)φ̃(BN h)ᵀ] with
// φ̃(x) = φ(γx + β). F depends on Σ only through GΣG (G = I − 11ᵀ/B) and, at ε = 0, not on its scale. The
// centred symmetric tangent space splits into three S_B irreducibles (scale, eigenvalue 0; L, the standard
// representation Δ = G diag(v) G, v ⟂ 1; M, the [B−2, 2] representation, zero diagonal and zero row sums),
// so the Jacobian at BSB1 is one number on L and one on M (Schur). Yang et al. 2019 state both for ReLU
// (Thm 6); we derive them for any φ from the score-function form of F′ and pair moments of the BN output
// law (docs/drafts/stability.md):
//   λ_L = [½ E φ̃²(x1²−1) − (B−1)/(B−2)·E φ̃1φ̃2(x1²−1)] / (m2 − pair),
//   λ_M = (B−1)[(B−1)(B−2) E φ̃1φ̃2x1x2 + 2(B−1) E φ̃1φ̃2(x1²−1) + (B−2)·pair] / (B(B−2)(B−3)(m2 − pair)),
// and, at B → ∞ (z ~ N(0,1)), λ_L = E[(φ̃−Eφ̃)²(z²−1)]/(2 Var φ̃) = E[(φ̃−Eφ̃)φ̃′z]/Var φ̃ and
// λ_M = (E φ̃′)²/Var φ̃ ≤ 1 (Cauchy–Schwarz), so at large B only L can be unstable.
import { type BnSpec, SpecError } from '../spec/index.js';
import { effectiveGamma, YANG_BN } from './batchnorm.js';
import { type ActivationLike, gaussMoments, kinksOf, slopesOf, toActivation } from './moments.js';
import { gaussExpectSplit, type Rule } from './quadrature.js';
import { sphereMarginalRule } from './sphere.js';

export interface Bsb1Stability {
  B: number | null;
  /** Jacobian eigenvalue of the Gram map at BSB1 on L (per-sample centred norms, Δ = G diag(v) G, v ⟂ 1) */
  lambdaL: number;
  /** Jacobian eigenvalue on M (the [B−2, 2] representation: zero diagonal, zero row sums) */
  lambdaM: number;
  /** max(λ_L, λ_M) < 1: BSB1 attracts every small perturbation */
  attracting: boolean;
  /** |1 − max(λ_L, λ_M)| < 1e-3 (e.g. ReLU at β = 0: λ_L → 1⁻ as B grows, and λ_L(∞) = 1 exactly) */
  marginal: boolean;
}

/** Orthonormal-Gegenbauer recurrence coefficient b_k for the density ∝ (1 − t²)^alpha (as in sphere.ts). */
function gegB(alpha: number, k: number): number {
  const den = (2 * k + 2 * alpha + 1) * (2 * k + 2 * alpha - 1);
  return den === 0 ? Math.SQRT1_2 : Math.sqrt((k * (k + 2 * alpha)) / den);
}

/**
 * Cross pair moments E f(x1) g(x2) over two BN outputs of one batch, by the Funk–Hecke series
 * Σ_k f̂_k ĝ_k p_k(c0)/p_k(1), c0 = −1/(B−1), f̂_k = E f(x1) p_k(t1) on the marginal rule (docs/theory.md §4.2;
 * the same series as sphere.ts, here for f ≠ g). For smooth φ only.
 */
function funkHeckeCross(B: number, rule: Rule, pairs: [Float64Array, Float64Array][], maxK = 400): number[] {
  const alpha = (B - 4) / 2;
  const r = Math.sqrt(B - 1);
  const c0 = -1 / (B - 1);
  const n = rule.nodes.length;
  const w = rule.weights;
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) t[i] = rule.nodes[i] / r;
  const scale = pairs.map(([f, g]) => {
    let sf = 0;
    let sg = 0;
    for (let i = 0; i < n; i++) {
      sf += w[i] * f[i] * f[i];
      sg += w[i] * g[i] * g[i];
    }
    return Math.sqrt(sf * sg) + 1e-300;
  });
  const sums = pairs.map(() => 0);
  let pPrev = new Float64Array(n);
  let pCur = new Float64Array(n).fill(1);
  let pNext = new Float64Array(n);
  let one0 = 0;
  let one1 = 1;
  let c00 = 0;
  let c01 = 1;
  let quiet = 0;
  for (let k = 0; k <= maxK; k++) {
    if (k > 0) {
      const bk = gegB(alpha, k);
      const bkm = k > 1 ? gegB(alpha, k - 1) : 0;
      for (let i = 0; i < n; i++) pNext[i] = (t[i] * pCur[i] - bkm * pPrev[i]) / bk;
      const recycled = pPrev;
      pPrev = pCur;
      pCur = pNext;
      pNext = recycled;
      const o = (one1 - bkm * one0) / bk;
      one0 = one1;
      one1 = o;
      const c = (c0 * c01 - bkm * c00) / bk;
      c00 = c01;
      c01 = c;
    }
    const ratio = c01 / one1;
    let biggest = 0;
    for (let j = 0; j < pairs.length; j++) {
      const [f, g] = pairs[j];
      let cf = 0;
      let cg = 0;
      for (let i = 0; i < n; i++) {
        const wp = w[i] * pCur[i];
        cf += wp * f[i];
        cg += wp * g[i];
      }
      const term = cf * cg * ratio;
      sums[j] += term;
      biggest = Math.max(biggest, Math.abs(term) / scale[j]);
    }
    // |f̂_k ĝ_k| ≤ ‖f‖‖g‖ and |p_k(c0)/p_k(1)| ≤ 1: stop after four terms below 1e-17 of the scale
    if (k >= 2 && biggest < 1e-17) {
      if (++quiet >= 4) break;
    } else quiet = 0;
  }
  return sums;
}

/**
 * E φ̃1φ̃2·{1, x1² − 1, x1x2} over the pair law of two BN outputs, in one pass of a nested composite rule
 * (the construction of sphere.ts's nested rule): x2 = −x1/(B−1) + C√(1−t1²)·u, C = √(B(B−2)/(B−1)),
 * u ∝ (1 − u²)^((B−5)/2), with both rules cut at the kinks, and the outer one also where an inner kink meets
 * the edge of the inner support. The u rule is sphereMarginalRule at B − 1 rescaled by 1/√(B−2).
 */
function nestedTriple(B: number, kinksX: number[], ph: (x: number) => number, m = 16): [number, number, number] {
  const outerKinks = kinksX.slice();
  const a = 1 / (B - 1);
  const C2 = (B * (B - 2)) / (B - 1);
  for (const k of kinksX) {
    const qa = a * a + C2 * a;
    const qb = 2 * a * k;
    const qc = k * k - C2;
    const disc = qb * qb - 4 * qa * qc;
    if (disc > 0) for (const sg of [-1, 1]) outerKinks.push((-qb + sg * Math.sqrt(disc)) / (2 * qa));
  }
  const outer = sphereMarginalRule(B, outerKinks, m);
  const r = Math.sqrt(B - 1);
  const C = Math.sqrt(C2);
  const ru = Math.sqrt(B - 2);
  let pair = 0;
  let c = 0;
  let e = 0;
  for (let i = 0; i < outer.nodes.length; i++) {
    const x1 = outer.nodes[i];
    const t1 = x1 / r;
    const rad = C * Math.sqrt(Math.max(0, 1 - t1 * t1));
    const shift = -x1 / (B - 1);
    const inner = sphereMarginalRule(B - 1, rad > 0 ? kinksX.map((k) => ((k - shift) / rad) * ru) : [], m);
    let s0 = 0;
    let s1 = 0;
    for (let q = 0; q < inner.nodes.length; q++) {
      const x2 = shift + (rad * inner.nodes[q]) / ru;
      const f = inner.weights[q] * ph(x2);
      s0 += f;
      s1 += f * x2;
    }
    const w = outer.weights[i] * ph(x1);
    pair += w * s0;
    c += w * s0 * (x1 * x1 - 1);
    e += w * s1 * x1;
  }
  return [pair, c, e];
}

function constantError(name: string, bn: BnSpec, B: number | null): SpecError {
  return new SpecError(
    'activation',
    name,
    `an activation that is not constant on the support of the BN output; φ(γ·x + β) with γ = ${bn.gamma}, β = ${bn.beta} is constant there${B === null ? '' : ` at B = ${B} (|x| ≤ √(B−1))`}`,
  );
}

function verdict(B: number | null, lambdaL: number, lambdaM: number): Bsb1Stability {
  const top = Math.max(lambdaL, lambdaM);
  return { B, lambdaL, lambdaM, attracting: top < 1, marginal: Math.abs(1 - top) < 1e-3 };
}

/**
 * Stability of the BSB1 fixed point of Linear → BN → φ at batch B (integer ≥ 4), or in the large-batch
 * limit (B = null): the eigenvalues λ_L, λ_M of the Jacobian of the infinite-width Gram map there, for
 * φ̃(x) = φ(γx + β) of the BN output. Exact (under the mean field) at ε = 0 for any γ, β. With ε > 0 the map is
 * not scale-free; ε is carried by the effective γ of effectiveGamma (γ√κ, κ = v̂/(v̂+ε) at the fixed point,
 * σ_w² from opts), which treats the batch variance v̂ as self-averaging: an approximation. Derivation:
 * docs/drafts/stability.md. Throws SpecError when φ̃ is constant on the support of the BN output.
 */
export function bsb1Stability(activation: ActivationLike, B: number | null, bn?: Partial<BnSpec>, opts: { sigmaW2?: number } = {}): Bsb1Stability {
  const act = toActivation(activation);
  if (B !== null && !(Number.isInteger(B) && B >= 4)) {
    throw new RangeError(`batch: ${B} is not allowed; expected an integer >= 4 (the M representation needs B ≥ 4) or null`);
  }
  const b: BnSpec = { ...YANG_BN, ...(bn ?? {}) };
  const g = effectiveGamma(act, B, b, opts).gammaEff;
  const beta = b.beta;
  if (g === 0 || !Number.isFinite(g)) throw constantError(act.name, b, B);
  const kinks = kinksOf(act).map((k) => (k - beta) / g);
  const ph = (x: number) => act.phi(g * x + beta);

  if (B === null) {
    const gm = gaussMoments(act, beta, g * g);
    const v = gm.variance;
    if (!(v > 1e-300) || !Number.isFinite(v)) throw constantError(act.name, b, B);
    // Positively homogeneous φ̃ (the piecewise-linear family at β = 0): λ_L(∞) = 1 exactly (Euler: φ̃ = zφ̃′).
    const homogeneous = beta === 0 && slopesOf(act) !== null;
    const num = homogeneous ? 2 * v : gaussExpectSplit((z) => (ph(z) - gm.mean) ** 2 * (z * z - 1), 0, 1, kinks);
    const ez = g * gm.d1; // E φ̃(z) z = E φ̃′ (Stein)
    return verdict(null, num / (2 * v), (ez * ez) / v);
  }

  const rule = sphereMarginalRule(B, kinks);
  const n = rule.nodes.length;
  let m2 = 0;
  let a = 0; // E φ̃²(x1² − 1)
  for (let i = 0; i < n; i++) {
    const x = rule.nodes[i];
    const f = ph(x);
    m2 += rule.weights[i] * f * f;
    a += rule.weights[i] * f * f * (x * x - 1);
  }
  let pair: number; // E φ̃1 φ̃2
  let c: number; // E φ̃1 φ̃2 (x1² − 1)
  let e: number; // E φ̃1 φ̃2 x1 x2
  if (kinks.length === 0) {
    const fv = new Float64Array(n);
    const fw = new Float64Array(n);
    const fx = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const x = rule.nodes[i];
      fv[i] = ph(x);
      fw[i] = fv[i] * (x * x - 1);
      fx[i] = fv[i] * x;
    }
    [pair, c, e] = funkHeckeCross(B, rule, [
      [fv, fv],
      [fw, fv],
      [fx, fx],
    ]);
  } else {
    [pair, c, e] = nestedTriple(B, kinks, ph);
  }
  const s = m2 - pair;
  if (!(s > 1e-300 * Math.max(m2, 1e-300)) || !Number.isFinite(s)) throw constantError(act.name, b, B);
  const lambdaL = (a / 2 - ((B - 1) / (B - 2)) * c) / s;
  const lambdaM = ((B - 1) * ((B - 1) * (B - 2) * e + 2 * (B - 1) * c + (B - 2) * pair)) / (B * (B - 2) * (B - 3) * s);
  return verdict(B, lambdaL, lambdaM);
}
