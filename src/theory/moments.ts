// Activation-level Gaussian moments: closed forms for the piecewise-linear family, kink-aware
// quadrature for everything else. Every expectation the mean-field maps need goes through here.
import { type Activation, type ActivationFns, resolveActivation } from '../network/index.js';
import { arcCos0, arcCos1, piecewiseMoments, type ShiftedMoments, type Slopes } from './closedForms.js';
import { gaussExpectSplit, normalRule } from './quadrature.js';
import { normPdf, normCdf } from '../network/index.js';

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
  return pairBoth(act, q, cc, kinksOf(act), 8);
}

/** Both pair moments in one nested pass (φ and φ′ evaluated once per node); same rule as gaussExpect2Split. */
function pairBoth(act: Activation, q: number, c: number, kinks: number[], m: number): PairMoments {
  const { phi, dphi } = act;
  if (q === 0) return { phiphi: phi(0) ** 2, dphidphi: dphi(0) ** 2 };
  const s = Math.sqrt(q);
  const sc = s * Math.sqrt(Math.max(0, 1 - c * c));
  const outer = normalRule(
    kinks.map((k) => k / s),
    m,
  );
  const plain = kinks.length ? null : normalRule([], m);
  let pp = 0;
  let dd = 0;
  for (let i = 0; i < outer.nodes.length; i++) {
    const z1 = outer.nodes[i];
    const u1 = s * z1;
    const f1 = phi(u1);
    const g1 = dphi(u1);
    const m2 = s * c * z1;
    if (sc === 0) {
      pp += outer.weights[i] * f1 * phi(m2);
      dd += outer.weights[i] * g1 * dphi(m2);
      continue;
    }
    const r =
      plain ??
      normalRule(
        kinks.map((k) => (k - m2) / sc),
        m,
      );
    let a = 0;
    let b = 0;
    for (let j = 0; j < r.nodes.length; j++) {
      const u2 = m2 + sc * r.nodes[j];
      a += r.weights[j] * phi(u2);
      b += r.weights[j] * dphi(u2);
    }
    pp += outer.weights[i] * f1 * a;
    dd += outer.weights[i] * g1 * b;
  }
  return { phiphi: pp, dphidphi: dd };
}
