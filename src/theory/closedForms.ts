// Closed-form Gaussian moments of the piecewise-linear family φ(x) = b·x (x > 0), a·x (x < 0)
// (ReLU a=0,b=1; leaky ReLU a=slope,b=1; identity a=b=1): the arc-cosine kernels of degree 0 and 1
// (Cho & Saul 2009; the ABReLU kernel of neural-tangents) and the moments of a shifted input
// x ~ N(μ, s²) (truncated-normal moments). Sources and derivations: docs/theory.md §2.
import { normCdf, normPdf } from '../network/index.js';

export interface Slopes {
  /** slope for x < 0 */
  a: number;
  /** slope for x > 0 */
  b: number;
}

/** Slopes of x ↦ φ(g·x) for a piecewise-linear φ: positive g scales, negative g swaps and negates. */
export function scaledSlopes(s: Slopes, g: number): Slopes {
  return g >= 0 ? { a: s.a * g, b: s.b * g } : { a: s.b * g, b: s.a * g };
}

/** Moments of φ(x), x ~ N(mu, s2), φ piecewise linear. */
export interface ShiftedMoments {
  /** E φ(x) */
  mean: number;
  /** E φ(x)² */
  second: number;
  /** Var φ(x), computed without cancellation where it matters */
  variance: number;
  /** E φ′(x) */
  d1: number;
  /** E φ′(x)² */
  d2: number;
}

/**
 * E φ, E φ², Var φ, E φ′, E φ′² for x ~ N(mu, s2). With t = μ/s, p = pdf(t), P = Φ(t):
 * E x⁺ = μP + s p, E (x⁺)² = (μ²+s²)P + μ s p, E x⁻ = E x − E x⁺ (x⁻ = min(x,0)), E (x⁻)² = E x² − E (x⁺)².
 */
export function piecewiseMoments(sl: Slopes, mu: number, s2: number): ShiftedMoments {
  const { a, b } = sl;
  if (s2 === 0) {
    const v = mu > 0 ? b * mu : a * mu;
    const d = mu > 0 ? b : a;
    return { mean: v, second: v * v, variance: 0, d1: d, d2: d * d };
  }
  const s = Math.sqrt(s2);
  const t = mu / s;
  const p = normPdf(t);
  const P = normCdf(t);
  const Q = normCdf(-t);
  const ePos = mu * P + s * p;
  const eNeg = mu * Q - s * p; // E min(x, 0)
  const e2Pos = (mu * mu + s2) * P + mu * s * p;
  const e2Neg = (mu * mu + s2) * Q - mu * s * p;
  const mean = b * ePos + a * eNeg;
  const second = b * b * e2Pos + a * a * e2Neg;
  // Var φ = b² Var x⁺ + a² Var x⁻ + 2ab Cov(x⁺, x⁻), Cov = −E x⁺ E x⁻ (x⁺x⁻ = 0).
  // Var x⁺ = s²[P(1+t²) + t p − (tP + p)²] written as s²·h(t) with h evaluated stably for t < 0.
  const varPos = s2 * truncVarFactor(t);
  const varNeg = s2 * truncVarFactor(-t);
  const variance = Math.max(0, b * b * varPos + a * a * varNeg - 2 * a * b * ePos * eNeg);
  return { mean, second, variance, d1: b * P + a * Q, d2: b * b * P + a * a * Q };
}

/** Var(max(z + t, 0)) for z ~ N(0,1), stable in the left tail (asymptotic series below t = −8). */
export function truncVarFactor(t: number): number {
  if (t > -8) {
    const p = normPdf(t);
    const P = normCdf(t);
    const m = t * P + p;
    return Math.max(0, P * (1 + t * t) + t * p - m * m);
  }
  // t → −∞: with u = −t, R = Φ(t)/p(t) (Mills ratio of u), E x⁺ = p(1 − uR), E (x⁺)² = p((1+u²)R − u).
  const u = -t;
  // Mills ratio by its continued fraction R = 1/(u + 1/(u + 2/(u + 3/(u + ...))))
  let cf = u;
  for (let k = 60; k >= 1; k--) cf = u + k / cf;
  const R = 1 / cf;
  const p = normPdf(t);
  const m1 = p * (1 - u * R);
  const m2 = p * ((1 + u * u) * R - u);
  return Math.max(0, m2 - m1 * m1);
}

/** θ = arccos(c) clipped to [0, π]. */
function angle(c: number): number {
  return Math.acos(Math.max(-1, Math.min(1, c)));
}

/**
 * Degree-0 arc-cosine kernel E[φ′(u1)φ′(u2)] for a centred pair with correlation c (any variances):
 * (a²+b²)(π−θ)/(2π) + 2ab·θ/(2π), θ = arccos c. (Orthant probabilities of a bivariate normal.)
 */
export function arcCos0(sl: Slopes, c: number): number {
  const th = angle(c);
  return ((sl.a * sl.a + sl.b * sl.b) * (Math.PI - th) + 2 * sl.a * sl.b * th) / (2 * Math.PI);
}

/**
 * Degree-1 arc-cosine kernel E[φ(u1)φ(u2)] for a centred pair with unit variances and correlation c:
 * ((a−b)²/(2π))·√(1−c²) + [(a²+b²)/2 − ((a−b)²/(2π))·θ]·c  (Cho & Saul 2009; neural-tangents ABRelu).
 * Multiply by √(q1 q2) for other variances. Equals E[u1 u2 φ′(u1) φ′(u2)] since φ(u) = u φ′(u).
 */
export function arcCos1(sl: Slopes, c: number): number {
  const cc = Math.max(-1, Math.min(1, c));
  const th = angle(cc);
  const d2 = (sl.a - sl.b) ** 2;
  return (d2 / (2 * Math.PI)) * Math.sqrt(Math.max(0, 1 - cc * cc)) + ((sl.a * sl.a + sl.b * sl.b) / 2 - (d2 / (2 * Math.PI)) * th) * cc;
}

/** The ReLU arc-cosine kernel of Yang et al. (2019): 𝒥(c) = (√(1−c²) + (π − arccos c)c)/π = 2·arcCos1(ReLU, c). */
export function arcCosJ(c: number): number {
  const cc = Math.max(-1, Math.min(1, c));
  return (Math.sqrt(Math.max(0, 1 - cc * cc)) + (Math.PI - angle(cc)) * cc) / Math.PI;
}

/** 𝒥′(c) = (π − arccos c)/π. */
export function arcCosJPrime(c: number): number {
  return (Math.PI - angle(c)) / Math.PI;
}
