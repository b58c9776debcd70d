// Activation-level Gaussian moments: closed forms for the piecewise-linear family, kink-aware
// quadrature for everything else. Every expectation the mean-field maps need goes through here.
import { type Activation, type ActivationFns, resolveActivation } from '../spec/index.js';
import { arcCos0, arcCos1, piecewiseMoments, type ShiftedMoments, type Slopes } from './closedForms.js';
import { gaussExpect2Split, gaussExpectSplit } from './quadrature.js';
import { normPdf, normCdf } from '../spec/index.js';

export type ActivationLike = string | Activation | ActivationFns;

/** Resolve an activation string or function pair. */
export function toActivation(a: ActivationLike): Activation {
  return resolveActivation(a as any) as Activation;
}

/** The piecewise-linear slopes of an activation, or null if it is not in that family. */
export function slopesOf(act: Activation): Slopes | null {
  return act.family && act.family.kind === 'piecewise-linear' ? { a: act.family.a, b: act.family.b } : null;
}

const KINKY_EXPR = /\b(abs|max|min|sign|floor|ceil|round|fix|heaviside|step)\s*\(|[<>]/;

/**
 * Points where φ or φ′ is not smooth, used to cut quadrature panels: 0 for the piecewise-linear family
 * and ELU; 0 for expressions that use abs/max/min/sign/... (other kink locations cannot be known and
 * lower the quadrature accuracy, see docs/theory.md §1).
 */
export function kinksOf(act: Activation): number[] {
  if (act.family) return [0];
  if (act.name.startsWith('elu')) return [0];
  if (act.expression && KINKY_EXPR.test(act.expression)) return [0];
  return [];
}

export interface GaussMoments extends ShiftedMoments {
  /** E[z φ′(μ + s z)], z ~ N(0,1) */
  zd1: number;
  /** E[z φ(x) φ′(x)], x = μ + s z (Stein form of the q-map slope) */
  zphidphi: number;
}

/** Moments of φ(x), x ~ N(mean, variance): exact for the piecewise-linear family, quadrature otherwise. */
export function gaussMoments(act: Activation, mean: number, variance: number): GaussMoments {
  const sl = slopesOf(act);
  if (sl) {
    const m = piecewiseMoments(sl, mean, variance);
    if (variance === 0) return { ...m, zd1: 0, zphidphi: 0 };
    const s = Math.sqrt(variance);
    const t = mean / s;
    const P = normCdf(t);
    const Q = normCdf(-t);
    return { ...m, zd1: (sl.b - sl.a) * normPdf(t), zphidphi: s * (sl.b * sl.b * P + sl.a * sl.a * Q) };
  }
  const kinks = kinksOf(act);
  const { phi, dphi } = act;
  const s = Math.sqrt(variance);
  const m1 = gaussExpectSplit(phi, mean, variance, kinks);
  const centred = gaussExpectSplit((x) => (phi(x) - m1) ** 2, mean, variance, kinks);
  const second = gaussExpectSplit((x) => phi(x) ** 2, mean, variance, kinks);
  const d1 = gaussExpectSplit(dphi, mean, variance, kinks);
  const d2 = gaussExpectSplit((x) => dphi(x) ** 2, mean, variance, kinks);
  const zd1 = s === 0 ? 0 : gaussExpectSplit((x) => ((x - mean) / s) * dphi(x), mean, variance, kinks);
  const zphidphi = s === 0 ? 0 : gaussExpectSplit((x) => ((x - mean) / s) * phi(x) * dphi(x), mean, variance, kinks);
  return { mean: m1, second, variance: Math.max(0, centred), d1, d2, zd1, zphidphi };
}

export interface PairMoments {
  /** E φ(u1)φ(u2) */
  phiphi: number;
  /** E φ′(u1)φ′(u2) */
  dphidphi: number;
}

/** Cross moments for a centred pair with equal variance q and correlation c. */
export function pairMoments(act: Activation, q: number, c: number): PairMoments {
  const cc = Math.max(-1, Math.min(1, c));
  const sl = slopesOf(act);
  if (sl) return { phiphi: q * arcCos1(sl, cc), dphidphi: arcCos0(sl, cc) };
  // Nested composite rules (8 nodes per panel): ~1e-10 or better for tanh-like φ up to q = 5, c = 0.99,
  // where a 64-point tensor Gauss–Hermite rule is off by 1e-3 (docs/theory.md §1).
  const kinks = kinksOf(act);
  const { phi, dphi } = act;
  return {
    phiphi: gaussExpect2Split((u, v) => phi(u) * phi(v), q, q, cc, kinks, 8),
    dphidphi: gaussExpect2Split((u, v) => dphi(u) * dphi(v), q, q, cc, kinks, 8),
  };
}
