// Moments of a BatchNorm output at batch size B. With ε = 0, BN maps a batch column h ∈ R^B to
// x = √B·Gh/‖Gh‖ (G = I − 11ᵀ/B): a uniform point on the sphere of radius √B in the (B−1)-dimensional
// subspace ⟂ 1 (Yang et al. 2019, §3). One coordinate x1 = √(B−1)·t has density ∝ (1 − t²)^((B−4)/2);
// a pair (x1, x2) has density ∝ Z^((B−5)/2), Z = B(B−2) − B(x1²+x2²) + (x1−x2)² (the Thm 7 weight).
// We integrate functions of the BN output φ̃(x) = φ(g·x + β) over these laws:
//  - closed forms for the piecewise-linear family at β = 0 (homogeneity reduces the sphere to a Gaussian);
//  - smooth φ: a 1-D rule in t plus the Funk–Hecke (Gegenbauer addition) series for pair moments;
//  - kinked φ: nested composite rules (t, then x2 given x1), cut at the kinks.
// Derivations: docs/theory.md §4.
import type { Activation } from '../network/index.js';
import { lgamma } from '../network/index.js';
import { arcCos0, arcCos1, scaledSlopes } from './closedForms.js';
import { gaussMoments, kinksOf, slopesOf } from './moments.js';
import { gaussExpectSplit, gaussLegendre, type Rule } from './quadrature.js';

/** Moments of the BN output x (n in the large-batch limit) through φ̃(x) = φ(g x + β), φ̃′ = g φ′(g x + β). */
export interface SphereMoments {
  B: number | null;
  /** E φ̃(x1) */
  m1: number;
  /** E φ̃(x1)² */
  m2: number;
  /** E φ̃(x1) φ̃(x2) (two samples of one batch) */
  pair: number;
  /** E φ̃′(x1)² */
  S1: number;
  /** E x1² φ̃′(x1)² */
  T1: number;
  /** E φ̃′(x1) φ̃′(x2) */
  S2: number;
  /** E x1 x2 φ̃′(x1) φ̃′(x2) */
  T2: number;
  /** E φ̃′(x1) */
  D1: number;
  /** E x1 φ̃′(x1) */
  ND1: number;
}

const EDGES = [-9.5, -7.5, -6, -4.75, -3.75, -3, -2.3, -1.6, -0.9, -0.3, 0.3, 0.9, 1.6, 2.3, 3, 3.75, 4.75, 6, 7.5, 9.5];
const HALF_PI = Math.PI / 2;

/**
 * Composite rule for the density ∝ (1 − t²)^((k−1)/2) on [−1, 1], by t = sin θ (weight cos^k θ dθ),
 * with panels scaled to the width 1/√(k+1) of the peak and cut at the given t-kinks. Returns t-nodes
 * and normalised weights. k ≥ 0.
 */
function thetaRule(k: number, kinksT: number[], m: number): Rule {
  const s = 1 / Math.sqrt(k + 1);
  const edges = [-HALF_PI, HALF_PI];
  for (const e of EDGES) if (Math.abs(s * e) < HALF_PI - 1e-9) edges.push(s * e);
  for (const kt of kinksT) if (kt > -1 && kt < 1) edges.push(Math.asin(kt));
  edges.sort((x, y) => x - y);
  const gl = gaussLegendre(m);
  const ts: number[] = [];
  const ws: number[] = [];
  let tot = 0;
  for (let p = 0; p + 1 < edges.length; p++) {
    const lo = edges[p];
    const hi = edges[p + 1];
    if (hi - lo <= 1e-13) continue;
    const h = (hi - lo) / 2;
    const mid = (hi + lo) / 2;
    for (let i = 0; i < m; i++) {
      const th = mid + h * gl.nodes[i];
      // log-space weight: cos^k θ = exp(k ln cos θ); no overflow or underflow trouble for k up to 10^6
      const w = h * gl.weights[i] * (k === 0 ? 1 : Math.exp(k * Math.log(Math.cos(th))));
      if (w === 0) continue;
      ts.push(Math.sin(th));
      ws.push(w);
      tot += w;
    }
  }
  const weights = Float64Array.from(ws);
  for (let i = 0; i < weights.length; i++) weights[i] /= tot;
  return { nodes: Float64Array.from(ts), weights };
}

const marginalCache = new Map<string, Rule>();
/**
 * Rule for one coordinate x1 of the BN output at batch B (density ∝ (1 − x²/(B−1))^((B−4)/2) on
 * |x| < √(B−1)), cut at the given x-kinks. Nodes are x values; weights sum to 1.
 */
export function sphereMarginalRule(B: number, kinksX: readonly number[] = [], m = 12): Rule {
  const r = Math.sqrt(B - 1);
  const make = () => {
    const t = thetaRule(
      B - 3,
      kinksX.map((k) => k / r),
      m,
    );
    const x = new Float64Array(t.nodes.length);
    for (let i = 0; i < x.length; i++) x[i] = r * t.nodes[i];
    return { nodes: x, weights: t.weights };
  };
  if (kinksX.length) return make();
  const key = `${B}|${m}`;
  let rule = marginalCache.get(key);
  if (!rule) {
    if (marginalCache.size > 10000) marginalCache.clear();
    rule = make();
    marginalCache.set(key, rule);
  }
  return rule;
}

/** Orthonormal-Gegenbauer recurrence coefficient b_k for the density ∝ (1 − t²)^alpha. */
export function gegB(alpha: number, k: number): number {
  const den = (2 * k + 2 * alpha + 1) * (2 * k + 2 * alpha - 1);
  return den === 0 ? Math.SQRT1_2 : Math.sqrt((k * (k + 2 * alpha)) / den);
}

/**
 * Pair expectations E f_j(x1) f_j(x2) for several functions at once, by the Funk–Hecke series
 * E f(x1) g(x2) = Σ_k f̂_k ĝ_k p_k(c0)/p_k(1), c0 = −1/(B−1), with p_k the orthonormal Gegenbauer
 * polynomials of the marginal law and f̂_k = E f(x1) p_k(t1). Derived in docs/theory.md §4.3.
 */
function funkHeckePairs(B: number, rule: Rule, fvals: Float64Array[], maxK = 400): number[] {
  const alpha = (B - 4) / 2;
  const r = Math.sqrt(B - 1);
  const c0 = -1 / (B - 1);
  const n = rule.nodes.length;
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) t[i] = rule.nodes[i] / r;
  let pPrev = new Float64Array(n);
  let pCur = new Float64Array(n).fill(1);
  let one0 = 0;
  let one1 = 1; // p_k(1)
  let c00 = 0;
  let c01 = 1; // p_k(c0)
  const sums = fvals.map(() => 0);
  // |E f(x1) f(x2)| ≤ E f², so terms below 1e-17·E f² no longer matter.
  const norms = fvals.map((f) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += rule.weights[i] * f[i] * f[i];
    return s;
  });
  let quiet = 0;
  let pNext = new Float64Array(n);
  for (let k = 0; k <= maxK; k++) {
    if (k > 0) {
      const bk = gegB(alpha, k);
      const bkm = k > 1 ? gegB(alpha, k - 1) : 0;
      for (let i = 0; i < n; i++) pNext[i] = (t[i] * pCur[i] - bkm * pPrev[i]) / bk;
      const recycled = pPrev;
      pPrev = pCur;
      pCur = pNext;
      pNext = recycled;
      const o = (1 * one1 - bkm * one0) / bk;
      one0 = one1;
      one1 = o;
      const c = (c0 * c01 - bkm * c00) / bk;
      c00 = c01;
      c01 = c;
    }
    const ratio = c01 / one1;
    let biggest = 0;
    for (let j = 0; j < fvals.length; j++) {
      const f = fvals[j];
      let coef = 0;
      for (let i = 0; i < n; i++) coef += rule.weights[i] * f[i] * pCur[i];
      const term = coef * coef * ratio;
      sums[j] += term;
      biggest = Math.max(biggest, Math.abs(term) / (norms[j] + 1e-300));
    }
    if (k >= 2 && biggest < 1e-17) {
      if (++quiet >= 4) break;
    } else quiet = 0;
  }
  return sums;
}

/**
 * The cuts of the outer rule of a nested pair rule: the x-kinks, and the x1 where an inner kink x2 = k meets the
 * edge of the inner support, (k + x1/(B−1))² = C²(1 − x1²/(B−1)), C² = B(B−2)/(B−1).
 */
export function pairOuterKinks(B: number, kinksX: readonly number[]): number[] {
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
  return outerKinks;
}

/**
 * Nested composite rule for the pair (x1, x2): x2 = −x1/(B−1) + C√(1−t1²)·u with C = √(B(B−2)/(B−1))
 * and u ∝ (1 − u²)^((B−5)/2), cut at the x-kinks in both coordinates. Returns E of each integrand.
 */
function nestedPairs(B: number, kinksX: number[], fs: ((x1: number, x2: number) => number)[], m = 12): number[] {
  // The inner integral is not smooth in x1 where an inner kink x2 = k meets the edge of the inner
  // support: (k + x1/(B−1))² = C²(1 − x1²/(B−1)). Cut the outer rule there too.
  const outer = sphereMarginalRule(B, pairOuterKinks(B, kinksX), m);
  // (outer and inner rules both m nodes per panel)
  const r = Math.sqrt(B - 1);
  const C = Math.sqrt((B * (B - 2)) / (B - 1));
  const out = fs.map(() => 0);
  const plainInner = kinksX.length ? null : thetaRule(B - 4, [], m);
  for (let i = 0; i < outer.nodes.length; i++) {
    const x1 = outer.nodes[i];
    const t1 = x1 / r;
    const rad = C * Math.sqrt(Math.max(0, 1 - t1 * t1));
    const shift = -x1 / (B - 1);
    const inner = plainInner ?? thetaRule(B - 4, rad > 0 ? kinksX.map((k) => (k - shift) / rad) : [], m);
    for (let j = 0; j < fs.length; j++) {
      let acc = 0;
      for (let q = 0; q < inner.nodes.length; q++) acc += inner.weights[q] * fs[j](x1, shift + rad * inner.nodes[q]);
      out[j] += outer.weights[i] * acc;
    }
  }
  return out;
}

/** E x⁺ for one coordinate of the BN output: √(B−1)·Γ((B−1)/2) / (2√π·Γ(B/2)). */
export function sphereMeanPositivePart(B: number): number {
  return (Math.sqrt(B - 1) * Math.exp(lgamma((B - 1) / 2) - lgamma(B / 2))) / (2 * Math.sqrt(Math.PI));
}

/**
 * Moments of φ̃(x) = φ(g x + β) over the BN output law at batch B (B ≥ 4), or over N(0,1) when B is
 * null (the large-batch limit, where two samples are independent).
 */
export function sphereMoments(
  act: Activation,
  g: number,
  beta: number,
  B: number | null,
  opts: { quadrature?: boolean } = {},
): SphereMoments {
  if (B === null) {
    const gm = gaussMoments(act, beta, g * g);
    const kinks = kinksOf(act).map((k) => (k - beta) / g);
    const dph = (x: number) => g * act.dphi(g * x + beta);
    const T1 = gaussExpectSplit((x) => x * x * dph(x) ** 2, 0, 1, kinks);
    const D1 = g * gm.d1;
    const ND1 = Math.abs(g) * gm.zd1;
    return { B, m1: gm.mean, m2: gm.second, pair: gm.mean * gm.mean, S1: g * g * gm.d2, T1, S2: D1 * D1, T2: ND1 * ND1, D1, ND1 };
  }
  if (!(Number.isInteger(B) && B >= 4)) throw new RangeError(`batch: ${B} is not allowed; expected an integer >= 4 for BatchNorm moments`);
  const sl = slopesOf(act);
  if (sl && beta === 0 && !opts.quadrature) {
    const s = scaledSlopes(sl, g);
    const rho = -1 / (B - 1);
    const ex = sphereMeanPositivePart(B);
    const half = (s.a * s.a + s.b * s.b) / 2;
    const m1 = (s.b - s.a) * ex;
    return {
      B,
      m1,
      m2: half,
      pair: arcCos1(s, rho),
      S1: half,
      T1: half,
      S2: arcCos0(s, rho),
      T2: arcCos1(s, rho),
      D1: (s.a + s.b) / 2,
      ND1: m1,
    };
  }
  const kinksX = kinksOf(act).map((k) => (k - beta) / g);
  const ph = (x: number) => act.phi(g * x + beta);
  const dph = (x: number) => g * act.dphi(g * x + beta);
  const rule = sphereMarginalRule(B, kinksX);
  const n = rule.nodes.length;
  const fv = new Float64Array(n);
  const dv = new Float64Array(n);
  const xdv = new Float64Array(n);
  let m1 = 0;
  let m2 = 0;
  let S1 = 0;
  let T1 = 0;
  let D1 = 0;
  let ND1 = 0;
  for (let i = 0; i < n; i++) {
    const x = rule.nodes[i];
    const w = rule.weights[i];
    const f = ph(x);
    const d = dph(x);
    fv[i] = f;
    dv[i] = d;
    xdv[i] = x * d;
    m1 += w * f;
    m2 += w * f * f;
    S1 += w * d * d;
    T1 += w * x * x * d * d;
    D1 += w * d;
    ND1 += w * x * d;
  }
  let pair: number;
  let S2: number;
  let T2: number;
  if (kinksX.length === 0) {
    [pair, S2, T2] = funkHeckePairs(B, rule, [fv, dv, xdv]);
  } else {
    [pair, S2, T2] = nestedPairs(B, kinksX, [(a, b) => ph(a) * ph(b), (a, b) => dph(a) * dph(b), (a, b) => a * b * dph(a) * dph(b)], 16);
  }
  return { B, m1, m2, pair, S1, T1, S2, T2, D1, ND1 };
}

/** The nested (two-dimensional) sphere rule, exported for cross-checks of the Funk–Hecke series. */
export function spherePairExpectNested(B: number, f: (x1: number, x2: number) => number, kinksX: number[] = [], m = 12): number {
  return nestedPairs(B, kinksX, [f], m)[0];
}
