// BatchNorm mean field (Yang, Pennington, Rao, Sohl-Dickstein & Schoenholz, ICLR 2019): the BSB1 fixed
// point and the gradient-explosion rate λ(B) of ‖∂L/∂h‖² per layer for Linear → BN → φ, in closed form
// for ReLU (Thm 8 / 3.10), for any φ (Thm 7 / 3.9), and in the large-batch limit; plus our large-batch
// leading order for Linear → φ → BN. Formulas and what we derived: docs/theory.md §4–§5.
import { type BnSpec, lgamma, SpecError } from '../network/index.js';
import { arcCosJ, arcCosJPrime } from './closedForms.js';
import { type ActivationLike, gaussMoments, kinksOf, slopesOf, toActivation } from './moments.js';
import { gaussLegendre, normalRule, type Rule } from './quadrature.js';
import { type SphereMoments, sphereMoments } from './sphere.js';

/** Yang et al.'s setting: γ = 1, β = 0, ε = 0. */
export const YANG_BN: BnSpec = { gamma: 1, beta: 0, eps: 0 };

function bnOf(bn?: Partial<BnSpec>): BnSpec {
  return { ...YANG_BN, ...(bn ?? {}) };
}

function checkBatch(B: number): void {
  if (!(Number.isInteger(B) && B >= 4)) {
    throw new RangeError(
      `batch: ${B} is not allowed; expected an integer >= 4 (Yang et al. Thm 7: the expected rate holds E[1/χ²_(B−1)] = 1/(B−3), infinite for B ≤ 3)`,
    );
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
 * ε enters BN as x = γ·(h−μ)/√(v̂+ε) + β = γ√κ·n + β with κ = v̂/(v̂+ε), n the ε = 0 output. This is the
 * self-averaging approximation: it sets v̂ = σ_w²·(B−1)/B·(m2 − pair)(γ√κ) for every unit and solves κ by
 * fixed-point iteration. Exact at ε = 0 and at B = ∞; at finite B with ε > 0 use bnEpsFixedPoint, which
 * integrates over the law of v̂ (bnGradientRate and bsb1FixedPoint do).
 */
export function effectiveGamma(
  activation: ActivationLike,
  B: number | null,
  bn?: Partial<BnSpec>,
  opts: BnRateOptions = {},
): { kappa: number; gammaEff: number } {
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

const chiCache = new Map<number, Rule>();
/**
 * A rule for the χ² law with k > 0 degrees of freedom (weights sum to 1; nodes are values of X ~ χ²_k):
 * composite 8-point Gauss–Legendre in t = ln X, where the density e^{(k/2)t − e^t/2}/(2^{k/2}Γ(k/2)) is
 * smooth, on panels of width ≤ min(1, sd/2) (sd ≈ √(2/k), the width in t) between quantiles whose tails
 * weigh < 1e-18. It integrates functions with a pole near X = 0 (κ = X/(X + δ), δ → 0) to ~1e-13, where
 * Gauss–Laguerre converges only like exp(−c√(nδ)).
 */
export function chiSquareRule(k: number): Rule {
  if (!(k > 0 && Number.isFinite(k))) throw new RangeError(`chiSquareRule: k = ${k} is not allowed; expected a finite number > 0`);
  let r = chiCache.get(k);
  if (r) return r;
  const lnNorm = (k / 2) * Math.LN2 + lgamma(k / 2);
  const lnDens = (t: number) => (k / 2) * t - Math.exp(t) / 2 - lnNorm;
  // tails: P(X < x) ≤ (x/2)^{k/2}/Γ(k/2+1) and P(X > x) ≤ e^{−(x−k)²/(4x)}·… ; pad generously
  const lo = Math.max((2 / k) * (-18 * Math.LN10 + lgamma(k / 2 + 1)) + Math.LN2, Math.log(Math.max(k - 14 * Math.sqrt(2 * k), 1e-300)));
  const hi = Math.log(k + 14 * Math.sqrt(2 * k) + 90);
  const sd = Math.sqrt(2 / k);
  const h = Math.min(1, sd / 2);
  const panels = Math.max(1, Math.ceil((hi - lo) / h));
  const gl = gaussLegendre(8);
  const nodes: number[] = [];
  const weights: number[] = [];
  const hw = (hi - lo) / panels / 2;
  let tot = 0;
  for (let p = 0; p < panels; p++) {
    const mid = lo + (2 * p + 1) * hw;
    for (let i = 0; i < 8; i++) {
      const t = mid + hw * gl.nodes[i];
      const w = hw * gl.weights[i] * Math.exp(lnDens(t));
      if (!(w > 0)) continue;
      nodes.push(Math.exp(t));
      weights.push(w);
      tot += w;
    }
  }
  r = { nodes: Float64Array.from(nodes), weights: Float64Array.from(weights, (w) => w / tot) };
  if (chiCache.size > 1000) chiCache.clear();
  chiCache.set(k, r);
  return r;
}

type KappaMoments = Pick<SphereMoments, 'm1' | 'm2' | 'pair' | 'S1' | 'T1' | 'S2' | 'T2'>;
const MOMENT_KEYS = ['m1', 'm2', 'pair', 'S1', 'T1', 'S2', 'T2'] as const;

/**
 * The sphere moments of φ(γ√κ·x + β) as functions of κ ∈ (0, 1]. Closed forms (piecewise-linear family at
 * β = 0) are evaluated directly; otherwise Chebyshev interpolation on pieces of [0, 1] cut where a kink of
 * φ crosses the edge |x| = √(B−1) of the support (the moments are analytic in g² = γ²κ between such
 * points: the law of x is symmetric, so they are even in g). n first-kind points per piece.
 */
function kappaMoments(
  act: ReturnType<typeof toActivation>,
  gamma: number,
  beta: number,
  B: number,
  n: number,
): (kappa: number) => KappaMoments {
  if (slopesOf(act) && beta === 0) return (k) => sphereMoments(act, gamma * Math.sqrt(k), beta, B);
  const cuts = [0, 1];
  for (const kk of kinksOf(act)) {
    const kc = ((kk - beta) / (gamma * Math.sqrt(B - 1))) ** 2;
    if (kc > 1e-12 && kc < 1 - 1e-12) cuts.push(kc);
  }
  cuts.sort((x, y) => x - y);
  const pieces = cuts.slice(0, -1).map((lo, p) => {
    const hi = cuts[p + 1];
    const vals = MOMENT_KEYS.map(() => new Float64Array(n));
    for (let j = 0; j < n; j++) {
      const u = Math.cos((Math.PI * (j + 0.5)) / n);
      const m = sphereMoments(act, gamma * Math.sqrt(lo + ((u + 1) / 2) * (hi - lo)), beta, B);
      MOMENT_KEYS.forEach((key, i) => {
        vals[i][j] = m[key];
      });
    }
    // Chebyshev coefficients c_r = (2/n) Σ_j f_j cos(πr(j+½)/n), c_0 halved
    const coef = vals.map((f) => {
      const c = new Float64Array(n);
      for (let r = 0; r < n; r++) {
        let t = 0;
        for (let j = 0; j < n; j++) t += f[j] * Math.cos((Math.PI * r * (j + 0.5)) / n);
        c[r] = ((r === 0 ? 1 : 2) / n) * t;
      }
      return c;
    });
    return { lo, hi, coef };
  });
  return (k) => {
    let p = 0;
    while (p + 1 < pieces.length && k > pieces[p].hi) p++;
    const { lo, hi, coef } = pieces[p];
    const u = Math.max(-1, Math.min(1, (2 * (k - lo)) / (hi - lo) - 1));
    const out = {} as KappaMoments;
    MOMENT_KEYS.forEach((key, i) => {
      // Clenshaw
      const c = coef[i];
      let b1 = 0;
      let b2 = 0;
      for (let r = n - 1; r >= 1; r--) {
        const t = 2 * u * b1 - b2 + c[r];
        b2 = b1;
        b1 = t;
      }
      out[key] = u * b1 - b2 + c[0];
    });
    return out;
  };
}

const kappaMomentCache = new Map<string, (kappa: number) => KappaMoments>();
function cachedKappaMoments(
  act: ReturnType<typeof toActivation>,
  gamma: number,
  beta: number,
  B: number,
  n: number,
): (kappa: number) => KappaMoments {
  // activations are keyed by name: named ones are fixed functions; an expr: name carries its expression
  const key = `${act.name}|${act.expression ?? ''}|${gamma}|${beta}|${B}|${n}`;
  let f = kappaMomentCache.get(key);
  if (!f) {
    f = kappaMoments(act, gamma, beta, B, n);
    if (kappaMomentCache.size > 200) kappaMomentCache.clear();
    kappaMomentCache.set(key, f);
  }
  return f;
}

/**
 * One Linear → BN → φ block with ε > 0 at finite B, for a layer whose pre-activation h has BSB1 covariance with
 * population batch variance Vh (GΣ_hG = Vh·G): each unit's v = Vh·X/B, X ~ χ²_(B−1), κ = v/(v+ε) (derived by
 * us, docs/theory.md §4.4). Forward moments are averages over X (m1, m2, pair: the block output's per-sample
 * mean, second moment, cross-sample moment). Backward moments are the ones to use in the ε = 0 per-layer
 * formula (§4.5, which divides by (B−3)·Vh): S1, S2 averaged and T1, T2 weighted by (2−κ)κ, all over
 * χ²_(B−3) (E[B/(Vh X)·f] = B/((B−3)Vh)·E_{χ²_(B−3)} f). At ε = 0 every field is the plain sphere moment.
 */
export interface BnEpsLayer {
  m1: number;
  m2: number;
  pair: number;
  S1: number;
  T1: number;
  S2: number;
  T2: number;
  /** E κ over units */
  kappaMean: number;
}

export function bnEpsLayer(
  activation: ActivationLike,
  B: number,
  bn: Partial<BnSpec>,
  Vh: number,
  opts: { chebyshev?: number } = {},
): BnEpsLayer {
  const act = toActivation(activation);
  checkBatch(B);
  const { gamma, beta, eps } = bnOf(bn);
  if (!(eps > 0) || !(Vh < Number.POSITIVE_INFINITY)) {
    const m = sphereMoments(act, gamma, beta, B);
    return { m1: m.m1, m2: m.m2, pair: m.pair, S1: m.S1, T1: m.T1, S2: m.S2, T2: m.T2, kappaMean: 1 };
  }
  const mom = cachedKappaMoments(act, gamma, beta, B, opts.chebyshev ?? 24);
  const e = B * eps;
  const fwd = chiSquareRule(B - 1);
  const back = chiSquareRule(B - 3);
  const out: BnEpsLayer = { m1: 0, m2: 0, pair: 0, S1: 0, T1: 0, S2: 0, T2: 0, kappaMean: 0 };
  for (let i = 0; i < fwd.nodes.length; i++) {
    const k = (Vh * fwd.nodes[i]) / (Vh * fwd.nodes[i] + e);
    const m = mom(k);
    const w = fwd.weights[i];
    out.m1 += w * m.m1;
    out.m2 += w * m.m2;
    out.pair += w * m.pair;
    out.kappaMean += w * k;
  }
  for (let i = 0; i < back.nodes.length; i++) {
    const k = (Vh * back.nodes[i]) / (Vh * back.nodes[i] + e);
    const m = mom(k);
    const w = back.weights[i];
    const a = (2 - k) * k;
    out.S1 += w * m.S1;
    out.S2 += w * m.S2;
    out.T1 += w * a * m.T1;
    out.T2 += w * a * m.T2;
  }
  return out;
}

/** Linear → BN → φ at its BSB1 fixed point with ε > 0 and finite B, the per-unit batch variance random. */
export interface BnEpsFixedPoint {
  B: number;
  /** s = q*(1−c*) = E(m2 − pair): the within-batch second moment of the block output (φ of the BN output) */
  s: number;
  /** E φ̃(x1)², averaged over units (the law of v) */
  q: number;
  /** E φ̃(x1)φ̃(x2) / q */
  c: number;
  /** E φ̃(x1) */
  postMean: number;
  /** E κ, κ = v/(v+ε): the BN output's batch variance is γ²·E κ */
  kappaMean: number;
  /** E v = σ_w²·s·(B−1)/B: the mean biased batch variance of h */
  preactVar: number;
  /** the gradient rate λ of ‖∂L/∂h‖² per layer (gradient independence) */
  rate: number;
}

/**
 * Exact (mean field, gradient independence, BSB1) Linear → BN → φ with ε > 0 at finite B (derived by us,
 * docs/theory.md §4.4). At BSB1, h = Wy has per-unit covariance σ_w²Σ, GΣG = s·G, so a unit's biased batch
 * variance is v = σ_w²·s·X/B, X ~ χ²_(B−1), independent of its direction n = √B·Gh/‖Gh‖ (uniform on the
 * sphere of 4.1); the BN output is γ√κ·n + β with κ = v/(v+ε) = sX/(sX + Bε/σ_w²). Forward:
 * s = E_X[(m2 − pair)(γ√κ)]. Backward, with J = γ/√(v+ε)·(G − κnnᵀ/B), J² = γ²/(v+ε)·(G − (2−κ)κnnᵀ/B)
 * and gradient Π ∝ G: λ = E_X[((B−1)S1 + S2 − (2−κ)κ(T1 − T2))/(sX)], moments at g = γ√κ (S1 ∝ γ_e²
 * turns γ²/(v+ε) into σ_w²/(Bv) = 1/(sX)). E_X[f/X] = E_{χ²_(B−3)}[f]/(B−3), so at ε = 0 this is Thm 7.
 * σ_w² enters only through ε/σ_w². Quadrature: generalized Gauss–Laguerre (n nodes) in X.
 */
export function bnEpsFixedPoint(
  activation: ActivationLike,
  B: number,
  bn?: Partial<BnSpec>,
  opts: BnRateOptions & { chebyshev?: number } = {},
): BnEpsFixedPoint {
  const act = toActivation(activation);
  checkBatch(B);
  const { gamma, beta, eps } = bnOf(bn);
  const sw = opts.sigmaW2 ?? 1;
  const e = (B * eps) / sw; // κ = sX/(sX + e)
  const m0 = sphereMoments(act, gamma, beta, B);
  const s0 = m0.m2 - m0.pair; // κ = 1: the ε = 0 value, an upper bound
  if (!(s0 > 1e-300) || !Number.isFinite(s0)) {
    throw new SpecError(
      'activation',
      act.name,
      `an activation that is not constant on the support of the BN output; φ(γ·x + β) with γ = ${gamma}, β = ${beta} is constant there at B = ${B}`,
    );
  }
  if (!(e > 0)) {
    const rate = rateFromMoments(m0);
    return { B, s: s0, q: m0.m2, c: m0.pair / m0.m2, postMean: m0.m1, kappaMean: 1, preactVar: (sw * s0 * (B - 1)) / B, rate };
  }
  const layer = (s: number) => bnEpsLayer(act, B, { gamma, beta, eps }, sw * s, opts);
  const F = (s: number) => {
    const l = layer(s);
    return l.m2 - l.pair;
  };
  // s = F(s): F is increasing and bounded by s0, so iteration from s0 descends to the largest root; secant
  // steps on g(s) = s − F(s), kept inside (0, s0], speed it up where F′(s*) is near 1 (large ε)
  let sPrev = s0;
  let gPrev = s0 - F(s0);
  let s = s0 - gPrev;
  for (let it = 0; it < 500; it++) {
    const g = s - F(s);
    if (Math.abs(g) <= 1e-15 * s0) break;
    let next = g !== gPrev ? s - (g * (s - sPrev)) / (g - gPrev) : s - g;
    if (!(next > 0 && next <= s0)) next = s - g;
    sPrev = s;
    gPrev = g;
    s = next;
  }
  if (!(s > 1e-300) || !Number.isFinite(s)) {
    throw new SpecError(
      'eps',
      eps,
      `an ε for which the BN fixed point has batch variance > 0 (it collapses to 0 at B = ${B}, σ_w² = ${sw})`,
    );
  }
  const l = layer(s);
  const q = l.m2;
  const pair = l.pair;
  const postMean = l.m1;
  const kappaMean = l.kappaMean;
  const rate = ((B - 1) * l.S1 + l.S2 - l.T1 + l.T2) / ((B - 3) * s);
  return { B, s, q, c: pair / q, postMean, kappaMean, preactVar: (sw * s * (B - 1)) / B, rate };
}

/**
 * λ(B) for Linear → BN → φ with BN's γ, β, ε: Thm 7 applied to φ̃(x) = φ(γx + β) (exact for γ, β: Thm 7
 * holds for any φ). ε > 0 at finite B: the exact rate over the law of the batch variance, bnEpsFixedPoint
 * (it depends on σ_w² through ε/σ_w²). B null → the large-batch limit λ∞ = γ_e² E φ′(y)² / Var φ(y),
 * y ~ N(β, γ_e²), γ_e = γ√κ with κ = v/(v+ε) and v = σ_w² Var φ(y) self-averaging (effectiveGamma).
 * Defaults are Yang's γ = 1, β = 0, ε = 0.
 */
export function bnGradientRate(activation: ActivationLike, B: number | null, bn?: Partial<BnSpec>, opts: BnRateOptions = {}): number {
  const act = toActivation(activation);
  if (B !== null) checkBatch(B);
  const b = bnOf(bn);
  const { gammaEff } = B === null || !(b.eps > 0) ? effectiveGamma(act, B, b, opts) : { gammaEff: b.gamma };
  if (B !== null && !(b.eps > 0) && b.beta === 0 && slopesOf(act)?.a === 0 && slopesOf(act)?.b === 1 && gammaEff > 0)
    return reluRateYang(B);
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
  if (B !== null && b.eps > 0) return bnEpsFixedPoint(act, B, b, opts).rate;
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
export function bsb1FixedPoint(
  activation: ActivationLike,
  B: number | null,
  bn?: Partial<BnSpec>,
  opts: BnRateOptions = {},
): { q: number; c: number } {
  const act = toActivation(activation);
  if (B !== null) checkBatch(B);
  const b = bnOf(bn);
  if (B !== null && b.eps > 0) {
    const fp = bnEpsFixedPoint(act, B, b, opts);
    return { q: fp.q, c: fp.c };
  }
  const { gammaEff } = effectiveGamma(act, B, b, opts);
  const m = sphereMoments(act, gammaEff, b.beta, B);
  return { q: m.m2, c: m.pair / m.m2 };
}

/**
 * Large-batch leading order of the stationary per-layer growth of ‖∂L/∂h‖² for Linear → φ → BN (derived by us): the BN output state
 * (q = β² + γ²κ̄, qc = β² − γ²κ̄/(B−1)) iterated to its fixed point, then σ_w²(τ + ρ_D/(B−1)) — the
 * second term from the within-batch anticorrelation of the projected gradient (0 at B = ∞).
 */
export function stationaryActBnGrowth(
  act: ReturnType<typeof toActivation>,
  spec: { batch: number | null; bn: BnSpec; init: { sigmaW2: number; sigmaB2: number } },
): number {
  const B = spec.batch;
  const { gamma, beta } = spec.bn;
  const sw = spec.init.sigmaW2;
  const sb = spec.init.sigmaB2;
  let kbar = 1;
  let blk: ActBnBlock | null = null;
  for (let it = 0; it < 200; it++) {
    const g2k = gamma * gamma * kbar;
    const qx = beta * beta + g2k;
    const qcx = beta * beta - (B === null ? 0 : g2k / (B - 1));
    blk = actBnBlock(act, spec.bn, sw * qx + sb, sw * qcx + sb, B);
    const done = Math.abs(blk.kappaBar - kbar) <= 1e-15;
    kbar = blk.kappaBar;
    if (done) break;
  }
  const b = blk!;
  return sw * (b.tau + (B === null ? 0 : b.rhoD / (B - 1)));
}
