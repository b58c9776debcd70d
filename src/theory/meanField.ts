// Mean field without BatchNorm (Poole et al. 2016; Schoenholz et al. 2017): the length map q, the
// correlation map c, their fixed points, χ₁, χ_c, the depth scales ξ_q, ξ_c and the critical line χ₁ = 1.
// h_l = W_l φ(h_{l−1}) + b_l, W_ij ~ N(0, σ_w²/fan_in), b_i ~ N(0, σ_b²). Formulas: docs/theory.md §3.
import type { Activation } from '../network/index.js';
import { type ActivationLike, gaussD2, gaussMoments, gaussSecond, pairMoments, pairPhiPhi, slopesOf, toActivation } from './moments.js';

/** q-map: q′ = σ_w² E φ(√q z)² + σ_b² (Poole et al. 2016, Eq. 3). */
export function qMap(activation: ActivationLike, sigmaW2: number, sigmaB2: number, q: number): number {
  const act = toActivation(activation);
  return sigmaW2 * gaussSecond(act, q) + sigmaB2;
}

/**
 * c-map for two inputs of equal length q: c′ = (σ_w² E φ(u1)φ(u2) + σ_b²) / (σ_w² E φ(u1)² + σ_b²),
 * (u1, u2) centred Gaussian with variance q and correlation c (Poole et al. 2016, Eq. 5; at q = q* the
 * denominator is q*).
 */
export function cMap(activation: ActivationLike, sigmaW2: number, sigmaB2: number, q: number, c: number): number {
  const act = toActivation(activation);
  const num = sigmaW2 * pairPhiPhi(act, q, c) + sigmaB2;
  const den = sigmaW2 * gaussSecond(act, q) + sigmaB2;
  return den > 0 ? num / den : 1;
}

function homogeneousGain(act: Activation): number | null {
  const sl = slopesOf(act);
  return sl ? (sl.a * sl.a + sl.b * sl.b) / 2 : null;
}

/**
 * Fixed point q* of the q-map reached from q0 (default 1) by iteration with Aitken acceleration;
 * Infinity when the map diverges (e.g. ReLU with σ_w² ≥ 2 and σ_b² > 0). Piecewise-linear φ: closed
 * form q* = σ_b² / (1 − σ_w²(a²+b²)/2).
 */
export function qStar(activation: ActivationLike, sigmaW2: number, sigmaB2: number, q0 = 1): number {
  const act = toActivation(activation);
  const k = homogeneousGain(act);
  if (k !== null) {
    const slope = sigmaW2 * k;
    if (slope < 1) return sigmaB2 / (1 - slope);
    if (sigmaB2 === 0 && slope === 1) return q0;
    return Number.POSITIVE_INFINITY;
  }
  // q = 0 is a fixed point when σ_b² = 0 and φ(0) = 0; it attracts when its slope σ_w² φ′(0)² is ≤ 1.
  // Near that point the iteration converges only like 1/l, so decide it directly.
  if (sigmaB2 === 0 && act.phi(0) === 0 && sigmaW2 * act.dphi(0) ** 2 <= 1) {
    const qNext = qMap(act, sigmaW2, 0, q0);
    if (qNext <= q0) return 0;
  }
  // the q-map at the last point it was evaluated at: after an accepted Aitken step the next iterate is the
  // map at that step, already evaluated for its residual (the same arguments, the same bits)
  let lastX = Number.NaN;
  let lastY = Number.NaN;
  const map = (x: number) => {
    if (x !== lastX) {
      lastY = qMap(act, sigmaW2, sigmaB2, x);
      lastX = x;
    }
    return lastY;
  };
  let q = q0;
  for (let it = 0; it < 20000; it++) {
    const q1 = map(q);
    if (!Number.isFinite(q1) || q1 > 1e200) return Number.POSITIVE_INFINITY;
    if (Math.abs(q1 - q) <= 1e-14 * Math.max(q1, 1e-300)) return q1;
    if (it % 3 === 2) {
      const q2 = map(q1);
      if (!Number.isFinite(q2) || q2 > 1e200) return Number.POSITIVE_INFINITY;
      const den = q2 - 2 * q1 + q;
      const acc = den !== 0 ? q - ((q1 - q) * (q1 - q)) / den : q2;
      // Aitken's step is taken only where it lands where the iterates are heading: beyond q2 when they move
      // monotonically, between q1 and q2 when they alternate. A small residual alone is not enough: near a
      // marginal fixed point (q = 0 with σ_w² φ′(0)² = 1, e.g. GELU at σ_w² = 4) the residual is small
      // although the iterates move away from it, and the step would jump back to it.
      const monotone = (q1 - q) * (q2 - q1) > 0;
      const heading = monotone ? (acc - q2) * (q2 - q1) >= 0 : (acc - q1) * (acc - q2) <= 0;
      const accRes = heading && acc > 0 && Number.isFinite(acc) ? Math.abs(map(acc) - acc) : Number.POSITIVE_INFINITY;
      q = accRes < Math.abs(q2 - q1) ? acc : q2;
    } else q = q1;
    if (q < 1e-300) return 0;
  }
  return q;
}

/** χ₁ = σ_w² E φ′(√q z)² at q (default q*): the per-layer growth of ‖∂L/∂h‖² (Schoenholz et al. 2017). */
export function chi1(activation: ActivationLike, sigmaW2: number, sigmaB2: number, q?: number): number {
  const act = toActivation(activation);
  const k = homogeneousGain(act);
  if (k !== null) return sigmaW2 * k;
  const qq = q ?? qStar(act, sigmaW2, sigmaB2);
  if (!Number.isFinite(qq))
    throw new RangeError(`chi1: the q-map diverges for ${act.name} at σ_w² = ${sigmaW2}, σ_b² = ${sigmaB2}; pass q explicitly`);
  return sigmaW2 * gaussD2(act, qq);
}

/** χ_c = σ_w² E φ′(u1)φ′(u2) at length q and correlation c: the slope of the c-map. */
export function chiC(activation: ActivationLike, sigmaW2: number, sigmaB2: number, q: number, c: number): number {
  void sigmaB2;
  return sigmaW2 * pairMoments(toActivation(activation), q, c).dphidphi;
}

/**
 * Stable fixed point c* of the c-map at q (default q*): 1 in the ordered phase (χ₁ ≤ 1), else the root
 * of c′(c) − c in [0, 1) found by bisection (c′(0) ≥ 0 and c′(c) < c just below 1 when χ₁ > 1).
 */
export function cStar(activation: ActivationLike, sigmaW2: number, sigmaB2: number, q?: number): number {
  const act = toActivation(activation);
  const qq = q ?? qStar(act, sigmaW2, sigmaB2);
  const k = homogeneousGain(act);
  const qUse = Number.isFinite(qq) ? qq : k !== null ? 1 : Number.NaN;
  if (!Number.isFinite(qUse)) throw new RangeError(`cStar: the q-map diverges for ${act.name}; pass q explicitly`);
  const sb = Number.isFinite(qq) ? sigmaB2 : 0; // at q → ∞ the bias is negligible (homogeneous φ)
  const x1 = k !== null ? sigmaW2 * k : sigmaW2 * gaussD2(act, qUse);
  if (x1 <= 1) return 1;
  // cMap(act, σ_w², σ_b², q, c) − c with its denominator (the q-map at q, the same for every c) evaluated once
  const den = sigmaW2 * gaussSecond(act, qUse) + sb;
  const g = (c: number) => (den > 0 ? (sigmaW2 * pairPhiPhi(act, qUse, c) + sb) / den : 1) - c;
  let lo = 0;
  let hi = 1 - 1e-9; // closer to 1 the pair quadrature error can exceed c′(c) − c ≈ (1 − χ₁)(1 − c)
  const glo = g(lo);
  if (glo <= 0) return 0;
  if (g(hi) >= 0) return 1;
  for (let it = 0; it < 200 && hi - lo > 1e-15; it++) {
    const mid = (lo + hi) / 2;
    if (g(mid) > 0) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface DepthScales {
  qStar: number;
  cStar: number;
  chi1: number;
  /** slope of the c-map at c* */
  chiC: number;
  /** slope of the q-map at q*: χ₁ + σ_w² E φ″φ, computed in Stein form σ_w² E[z φ φ′]/√q* */
  qSlope: number | null;
  /** ξ_q = −1/ln(q-map slope); null when the q-map has no finite fixed point */
  xiQ: number | null;
  /** ξ_c = −1/ln χ_c(c*); Infinity at the order–chaos boundary */
  xiC: number;
}

/** Depth scales of Schoenholz et al. (2017): ξ_q = −1/ln(χ₁ + σ_w²∫φ″φ), ξ_c = −1/ln χ_c(c*). */
export function depthScales(activation: ActivationLike, sigmaW2: number, sigmaB2: number): DepthScales {
  const act = toActivation(activation);
  const qs = qStar(act, sigmaW2, sigmaB2);
  const k = homogeneousGain(act);
  const c1 = k !== null ? sigmaW2 * k : Number.isFinite(qs) ? sigmaW2 * gaussD2(act, qs) : Number.NaN;
  const cs = cStar(act, sigmaW2, sigmaB2, Number.isFinite(qs) ? qs : undefined);
  const qUse = Number.isFinite(qs) ? qs : 1;
  const xc = cs >= 1 ? c1 : chiC(act, sigmaW2, sigmaB2, qUse, cs);
  let qSlope: number | null = null;
  if (k !== null) qSlope = sigmaW2 * k;
  else if (Number.isFinite(qs)) {
    const qq = Math.max(qs, 1e-10);
    qSlope = (sigmaW2 * gaussMoments(act, 0, qq).zphidphi) / Math.sqrt(qq);
  }
  const xi = (s: number) => (s === 1 ? Number.POSITIVE_INFINITY : -1 / Math.log(s));
  return {
    qStar: qs,
    cStar: cs,
    chi1: c1,
    chiC: xc,
    qSlope,
    xiQ: qSlope === null || !Number.isFinite(qs) ? null : xi(qSlope),
    xiC: xi(xc),
  };
}

/**
 * The critical line: σ_w² at which χ₁(σ_w², σ_b²) = 1, by bisection in log σ_w² on [1e-3, 1e3].
 * Piecewise-linear φ: 2/(a²+b²) for every σ_b².
 */
export function criticalLine(activation: ActivationLike, sigmaB2: number): number {
  const act = toActivation(activation);
  const k = homogeneousGain(act);
  if (k !== null) return 1 / k;
  const h = (lw: number) => {
    const w = Math.exp(lw);
    const qs = qStar(act, w, sigmaB2);
    if (!Number.isFinite(qs)) return 1;
    return w * gaussD2(act, qs) - 1;
  };
  let lo = Math.log(1e-3);
  let hi = Math.log(1e3);
  if (h(lo) > 0 || h(hi) < 0)
    throw new RangeError(`criticalLine: no σ_w² in [1e-3, 1e3] gives χ₁ = 1 for ${act.name} at σ_b² = ${sigmaB2}`);
  for (let it = 0; it < 100 && hi - lo > 1e-14; it++) {
    const mid = (lo + hi) / 2;
    if (h(mid) < 0) lo = mid;
    else hi = mid;
  }
  return Math.exp((lo + hi) / 2);
}

/** The critical line over several σ_b² values. */
export function criticalCurve(activation: ActivationLike, sigmaB2s: readonly number[]): { sigmaB2: number; sigmaW2: number }[] {
  return sigmaB2s.map((sigmaB2) => ({ sigmaB2, sigmaW2: criticalLine(activation, sigmaB2) }));
}
