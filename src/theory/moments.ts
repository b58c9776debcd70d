// Activation-level Gaussian moments: closed forms for the piecewise-linear family, kink-aware
// quadrature for everything else. Every expectation the mean-field maps need goes through here.
import { type Activation, type ActivationFns, normCdf, normPdf, resolveActivation } from '../network/index.js';
import { arcCos0, arcCos1, piecewiseMoments, type ShiftedMoments, type Slopes } from './closedForms.js';
import { gaussExpectSplit, gaussHermite, normalRule } from './quadrature.js';

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

let momentScratch = new Float64Array(0);

/**
 * Whether φ′ may be taken from φ at the same point: the table's tanh, whose φ′(x) is 1 − tanh(x)²
 * (network/activation.ts), so 1 − φ(x)² is the same number bit for bit (test/theory/quadrature.test.ts).
 */
function dphiFromPhi(act: Activation): boolean {
  return act.base === 'tanh' && act.phi === Math.tanh;
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
  if (!(variance > 0)) {
    // variance 0 (or refused by gaussExpectSplit): the integrals one by one
    const m1 = gaussExpectSplit(phi, mean, variance, kinks);
    const centred = gaussExpectSplit((x) => (phi(x) - m1) ** 2, mean, variance, kinks);
    const second = gaussExpectSplit((x) => phi(x) ** 2, mean, variance, kinks);
    const d1 = gaussExpectSplit(dphi, mean, variance, kinks);
    const d2 = gaussExpectSplit((x) => dphi(x) ** 2, mean, variance, kinks);
    return { mean: m1, second, variance: Math.max(0, centred), d1, d2, zd1: 0, zphidphi: 0 };
  }
  // The seven integrals of gaussExpectSplit's rule with φ and φ′ evaluated once per node: each sum has
  // the terms and the order of its own gaussExpectSplit call, so the result is the same bit for bit.
  const s = Math.sqrt(variance);
  const { nodes, weights } = normalRule(
    kinks.map((k) => (k - mean) / s),
    12,
  );
  const n = nodes.length;
  if (momentScratch.length < n) momentScratch = new Float64Array(n);
  const ps = momentScratch;
  const fromPhi = dphiFromPhi(act);
  let m1 = 0;
  let second = 0;
  let d1 = 0;
  let d2 = 0;
  let zd1 = 0;
  let zphidphi = 0;
  for (let i = 0; i < n; i++) {
    const x = mean + s * nodes[i];
    const p = phi(x);
    const d = fromPhi ? 1 - p ** 2 : dphi(x);
    ps[i] = p;
    const w = weights[i];
    m1 += w * p;
    second += w * p ** 2;
    d1 += w * d;
    d2 += w * d ** 2;
    const z = (x - mean) / s;
    zd1 += w * (z * d);
    zphidphi += w * (z * p * d);
  }
  let centred = 0;
  for (let i = 0; i < n; i++) centred += weights[i] * (ps[i] - m1) ** 2;
  return { mean: m1, second, variance: Math.max(0, centred), d1, d2, zd1, zphidphi };
}

/**
 * E φ(x)² and E φ′(x)², x ~ N(0, variance): the same numbers as gaussMoments(act, 0, variance).second and
 * .d2, bit for bit (the same rule and summation), at a seventh of its cost (the q-map and χ₁ need only these).
 */
export function gaussSecond(act: Activation, variance: number): number {
  if (slopesOf(act)) return gaussMoments(act, 0, variance).second;
  const { phi } = act;
  return gaussExpectSplit((x) => phi(x) ** 2, 0, variance, kinksOf(act));
}

/** E φ′(x)², x ~ N(0, variance), bit for bit gaussMoments(act, 0, variance).d2. */
export function gaussD2(act: Activation, variance: number): number {
  if (slopesOf(act)) return gaussMoments(act, 0, variance).d2;
  const { dphi } = act;
  return gaussExpectSplit((x) => dphi(x) ** 2, 0, variance, kinksOf(act));
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
  return pairBoth(act, q, cc, kinksOf(act), 8, true);
}

/**
 * E φ(u1)φ(u2) alone: pairMoments(act, q, c).phiphi bit for bit (the same rule and sums), without the φ′
 * evaluations (the c-map needs only this).
 */
export function pairPhiPhi(act: Activation, q: number, c: number): number {
  const cc = Math.max(-1, Math.min(1, c));
  const sl = slopesOf(act);
  if (sl) return q * arcCos1(sl, cc);
  return pairBoth(act, q, cc, kinksOf(act), 8, false).phiphi;
}

/**
 * Both pair moments in one nested pass (φ and φ′ evaluated once per node); same rule as gaussExpect2Split.
 * With withD false only φφ is summed (dphidphi is NaN): the same φφ bits, without evaluating φ′.
 */
function pairBoth(act: Activation, q: number, c: number, kinks: number[], m: number, withD: boolean): PairMoments {
  const { phi, dphi } = act;
  if (q === 0) return { phiphi: phi(0) ** 2, dphidphi: withD ? dphi(0) ** 2 : Number.NaN };
  const fromPhi = dphiFromPhi(act);
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
    const m2 = s * c * z1;
    if (sc === 0) {
      pp += outer.weights[i] * f1 * phi(m2);
      if (withD) dd += outer.weights[i] * dphi(u1) * dphi(m2);
      continue;
    }
    const r =
      plain ??
      normalRule(
        kinks.map((k) => (k - m2) / sc),
        m,
      );
    const rn = r.nodes;
    const rw = r.weights;
    let a = 0;
    let b = 0;
    if (!withD) for (let j = 0; j < rn.length; j++) a += rw[j] * phi(m2 + sc * rn[j]);
    else if (fromPhi)
      for (let j = 0; j < rn.length; j++) {
        const f = phi(m2 + sc * rn[j]);
        a += rw[j] * f;
        b += rw[j] * (1 - f ** 2);
      }
    else
      for (let j = 0; j < rn.length; j++) {
        const u2 = m2 + sc * rn[j];
        a += rw[j] * phi(u2);
        b += rw[j] * dphi(u2);
      }
    pp += outer.weights[i] * f1 * a;
    if (withD) dd += outer.weights[i] * (fromPhi ? 1 - f1 ** 2 : dphi(u1)) * b;
  }
  return { phiphi: pp, dphidphi: withD ? dd : Number.NaN };
}

// ---------- pair moments as a Mehler series at one variance (deep nets) ----------

/**
 * Mehler's formula at one variance q: with h_k = He_k/√k! (orthonormal under N(0, 1)), a_k = E[φ(√q z) h_k(z)]
 * and b_k = E[φ′(√q z) h_k(z)],
 *   E φ(u1)φ(u2) = Σ_k a_k² c^k = E φ² − (1 − c)·Σ_j R_j c^j,  R_j = Σ_{k>j} a_k²,
 * and the same for φ′ with b_k, for a centred pair of variance q and correlation c. The second form keeps
 * the fixed point c = 1 exact and 1 − c′ accurate to a relative error of the tolerance (docs/theory.md §1).
 * The coefficients come from one trapezoid rule on [−12, 12] (h = 0.04), checked against the rule of twice
 * the spacing; the series stops at the first K with E φ² − Σ_{k≤K} a_k² ≤ tol·E φ² (Parseval) and the
 * same for φ′. Truncation error for every |c| ≤ 1: ≤ 2·tol·E φ² (φφ), ≤ 2·tol·E φ′² (φ′φ′).
 */
export interface PairSeries {
  q: number;
  mean: number;
  second: number;
  d2: number;
  /** R_j = Σ_{k>j} a_k², j = 0..K−1 */
  R: Float64Array;
  /** RD_j = Σ_{k>j} b_k² */
  RD: Float64Array;
  /** E φ² − Σ_{k≤K} a_k² and E φ′² − Σ_{k≤K} b_k²: the truncation bounds */
  tailA: number;
  tailD: number;
}

/** Relative tolerance of the Mehler series (truncation and grid check). */
export const SERIES_TOL = 1e-14;
const SERIES_HALF = 300; // nodes −12..12 at spacing 12/300 = 0.04
const SERIES_KMAX = 400;
let seriesGrid: { z: Float64Array; w: Float64Array } | null = null;
function grid(): { z: Float64Array; w: Float64Array } {
  if (!seriesGrid) {
    const n = 2 * SERIES_HALF + 1;
    const h = 12 / SERIES_HALF;
    const z = new Float64Array(n);
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      z[i] = (i - SERIES_HALF) * h;
      w[i] = h * Math.exp(-0.5 * z[i] * z[i]) * 0.3989422804014327;
    }
    seriesGrid = { z, w };
  }
  return seriesGrid;
}

interface RawSeries {
  mean: number;
  second: number;
  d2: number;
  /** a_k², b_k², k = 0..K */
  A: number[];
  D: number[];
}

let scratch = new Float64Array(0);

/**
 * The series on one rule (nodes z, weights w of N(0, 1)), k ≤ kmax: null where E φ² − Σ a_k² does not fall
 * to tol·E φ² (and the same for φ′) by kmax, or goes below −tol·E φ² (the rule aliases).
 */
function seriesOnRule(
  act: Activation,
  q: number,
  z: ArrayLike<number>,
  w: ArrayLike<number>,
  kmax: number,
  tol: number,
  against: RawSeries | null = null,
): RawSeries | null {
  const n = z.length;
  const s = Math.sqrt(q);
  if (scratch.length < 4 * n) scratch = new Float64Array(4 * n);
  const wf = scratch.subarray(0, n);
  const wg = scratch.subarray(n, 2 * n);
  let mean = 0;
  let second = 0;
  let d2 = 0;
  const fromPhi = dphiFromPhi(act);
  for (let i = 0; i < n; i++) {
    const f = act.phi(s * z[i]);
    const g = fromPhi ? 1 - f ** 2 : act.dphi(s * z[i]);
    wf[i] = w[i] * f;
    wg[i] = w[i] * g;
    mean += wf[i];
    second += wf[i] * f;
    d2 += wg[i] * g;
  }
  if (!Number.isFinite(second) || !Number.isFinite(d2)) return null;
  // against x: null as soon as agree(x, this series) is certain to fail (its sums over k only grow)
  if (against) {
    const x = against;
    const far = (u: number, v: number, scale: number) => !(Math.abs(u - v) <= tol * scale);
    if (far(x.second, second, second) || far(x.d2, d2, d2) || far(x.mean, mean, Math.sqrt(second))) return null;
  }
  let dA = 0;
  let dD = 0;
  const A: number[] = [];
  const D: number[] = [];
  let hPrev = scratch.subarray(2 * n, 3 * n).fill(0);
  let hCur = scratch.subarray(3 * n, 4 * n).fill(1);
  let cumA = 0;
  let cumD = 0;
  let a = 0;
  let b = 0;
  for (let i = 0; i < n; i++) {
    a += wf[i];
    b += wg[i];
  }
  for (let k = 0; k <= kmax; k++) {
    A.push(a * a);
    D.push(b * b);
    if (against) {
      dA += Math.abs((against.A[k] ?? 0) - a * a);
      dD += Math.abs((against.D[k] ?? 0) - b * b);
      if (dA > tol * second || dD > tol * d2) return null;
    }
    cumA += a * a;
    cumD += b * b;
    const tailA = second - cumA;
    const tailD = d2 - cumD;
    if (tailA < -tol * second || tailD < -tol * d2) return null; // more than Parseval allows: the rule aliases
    if (tailA <= tol * second && tailD <= tol * d2) return { mean, second, d2, A, D };
    // h_{k+1} = (z h_k − √k h_{k−1}) / √(k+1), and a_{k+1}, b_{k+1} in the same pass
    const sk = Math.sqrt(k);
    const sk1 = 1 / Math.sqrt(k + 1);
    const hNext = hPrev;
    a = 0;
    b = 0;
    for (let i = 0; i < n; i++) {
      const h = (z[i] * hCur[i] - sk * hPrev[i]) * sk1;
      hNext[i] = h;
      a += wf[i] * h;
      b += wg[i] * h;
    }
    hPrev = hCur;
    hCur = hNext;
  }
  return null;
}

function finish(q: number, r: RawSeries): PairSeries {
  const K = r.A.length - 1;
  const R = new Float64Array(K);
  const RD = new Float64Array(K);
  let ra = 0;
  let rd = 0;
  let cumA = r.A[0];
  let cumD = r.D[0];
  for (let j = K - 1; j >= 0; j--) {
    ra += r.A[j + 1];
    rd += r.D[j + 1];
    R[j] = ra;
    RD[j] = rd;
  }
  cumA += ra;
  cumD += rd;
  return { q, mean: r.mean, second: r.second, d2: r.d2, R, RD, tailA: Math.max(0, r.second - cumA), tailD: Math.max(0, r.d2 - cumD) };
}

/** Two series agree to tol: Σ_k |a_k² − a′_k²| ≤ tol·E φ² (so F(c) agrees for every |c| ≤ 1), and for φ′. */
function agree(x: RawSeries, y: RawSeries, tol: number): boolean {
  const close = (u: number, v: number, scale: number) => Math.abs(u - v) <= tol * scale;
  if (!close(x.second, y.second, y.second) || !close(x.d2, y.d2, y.d2) || !close(x.mean, y.mean, Math.sqrt(y.second))) return false;
  let dA = 0;
  let dD = 0;
  for (let k = 0; k < Math.max(x.A.length, y.A.length); k++) {
    dA += Math.abs((x.A[k] ?? 0) - (y.A[k] ?? 0));
    dD += Math.abs((x.D[k] ?? 0) - (y.D[k] ?? 0));
  }
  return dA <= tol * y.second && dD <= tol * y.d2;
}

const GH_SIZES = [12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 112, 128, 150] as const;

/** The trapezoid fallback: spacing 0.04 on [−12, 12], checked against its even nodes (spacing 0.08). */
function trapezoidSeries(act: Activation, q: number, tol: number): RawSeries | null {
  const { z, w } = grid();
  const y = seriesOnRule(act, q, z, w, SERIES_KMAX, tol);
  if (!y) return null;
  const half = Math.floor(z.length / 2) + 1;
  const z2 = new Float64Array(half);
  const w2 = new Float64Array(half);
  for (let i = 0; i < half; i++) {
    z2[i] = z[2 * i];
    w2[i] = 2 * w[2 * i];
  }
  const x = seriesOnRule(act, q, z2, w2, SERIES_KMAX, tol);
  // the rule of spacing 0.08 already agrees to tol: the rule of spacing 0.04 is far closer (geometric convergence)
  return x && agree(x, y, tol) ? y : null;
}

/** A series and the rule that made it (the Gauss–Hermite size 2n, or 0 for the trapezoid rule). */
interface CheckedSeries {
  raw: RawSeries;
  n: number;
}

/**
 * The first Gauss–Hermite size n ≥ from whose series agrees with the 2n one; the n one is kept (it is
 * within tol of the 2n one, which is far closer to the limit) with n, to be reused. Then the trapezoid rule.
 */
function checkedSeries(act: Activation, q: number, tol: number, from = 0): CheckedSeries | null {
  if (!(q >= 0 && Number.isFinite(q)) || kinksOf(act).length > 0) return null;
  // the series on the rule of N nodes (k ≤ N − 1), each computed once: the 2n rule of one size is the n rule
  // of a later one (24, 32, …, 128), and the same arguments give the same bits
  const onRule = new Map<number, RawSeries | null>();
  const series = (N: number): RawSeries | null => {
    let r = onRule.get(N);
    if (r === undefined) {
      const rule = gaussHermite(N);
      r = seriesOnRule(act, q, rule.nodes, rule.weights, N - 1, tol);
      onRule.set(N, r);
    }
    return r;
  };
  for (const n of GH_SIZES) {
    if (n < from) continue;
    const x = series(n);
    if (!x) continue;
    // a 2n rule that is no later size's n rule is needed only to agree with x: stopped once it cannot
    let y: RawSeries | null;
    if ((GH_SIZES as readonly number[]).includes(2 * n)) y = series(2 * n);
    else {
      const r2 = gaussHermite(2 * n);
      y = seriesOnRule(act, q, r2.nodes, r2.weights, 2 * n - 1, tol, x);
    }
    if (y && agree(x, y, tol)) return { raw: x, n };
  }
  const y = trapezoidSeries(act, q, tol);
  return y ? { raw: y, n: 0 } : null;
}

/**
 * The Mehler series of φ at variance q, or null where it does not reach the tolerance within 400 terms or
 * no rule resolves φ (a kinked φ, or a large q for a φ with a sharp bend): use pairMoments there.
 * Rules tried in turn: Gauss–Hermite with n and 2n nodes (n = 12, 16, …, 128), accepted when the two
 * series agree to tol (Σ_k |a_k² − a′_k²| ≤ tol·E φ², the same for φ′, and E φ, E φ², E φ′²; the 2n one
 * is kept); else the trapezoid rule of spacing 0.04 on [−12, 12], checked against its even nodes.
 */
export function pairSeries(act: Activation, q: number, tol = SERIES_TOL): PairSeries | null {
  const r = checkedSeries(act, q, tol);
  return r ? finish(q, r.raw) : null;
}

/** E φ(u1)φ(u2) and E φ′(u1)φ′(u2) at correlation c from a Mehler series (error bound: see PairSeries). */
export function pairFromSeries(sr: PairSeries, c: number): PairMoments {
  const cc = Math.max(-1, Math.min(1, c));
  let g = 0;
  let gd = 0;
  for (let j = sr.R.length - 1; j >= 0; j--) {
    g = g * cc + sr.R[j];
    gd = gd * cc + sr.RD[j];
  }
  const t = 1 - cc;
  return { phiphi: sr.second - t * g, dphidphi: sr.d2 - t * gd };
}

/** What one plain block (dense → φ) needs at the activation's input variance q and correlation c. */
export interface LayerMoments {
  gm: Pick<GaussMoments, 'mean' | 'second' | 'd2'>;
  pm: PairMoments;
}

/**
 * Nets of at most this many blocks keep the nested composite rule (gaussMoments and pairMoments, bit for
 * bit as before: the golden records); deeper nets use the Mehler series where it converges.
 */
export const SERIES_MIN_DEPTH = 16;

/**
 * Which rule deep plain nets use: 'series' (the default, past SERIES_MIN_DEPTH blocks) or 'nested' (the
 * nested composite rule at every depth: the reference that tests and benchmarks compare against).
 */
export const layerMomentsRule: { mode: 'series' | 'nested' } = { mode: 'series' };

/**
 * The moments of a plain block, as a function of (q, c), for a net of the given depth: closed forms for
 * the ReLU family; the nested rule for shallow nets, kinked φ and where the series does not converge; the
 * Mehler series (one per distinct q, reused while q stays at its fixed point) otherwise.
 */
export function layerMomentsFn(act: Activation, depth: number): (q: number, c: number) => LayerMoments {
  const exact = (q: number, c: number): LayerMoments => ({ gm: gaussMoments(act, 0, q), pm: pairMoments(act, q, c) });
  if (slopesOf(act) || depth <= SERIES_MIN_DEPTH || kinksOf(act).length > 0 || layerMomentsRule.mode === 'nested') return exact;
  const memo = new Map<number, PairSeries | null>();
  // the rule last checked, and the q it was checked at: taken without a new check for q′ in [q/1000, q]
  // (a smaller variance only brings φ(√q′ z) closer to a polynomial of low degree)
  // A q at which no rule resolved the series: every larger q takes the nested rule at once (a larger
  // variance only sharpens φ(√q z)).
  let rule: { n: number; q: number } | null = null;
  let failQ = Number.POSITIVE_INFINITY;
  const make = (q: number): PairSeries | null => {
    if (q >= failQ) return null;
    if (rule && rule.n > 0 && q <= rule.q && q >= rule.q * 1e-3) {
      const r = gaussHermite(rule.n);
      const y = seriesOnRule(act, q, r.nodes, r.weights, rule.n - 1, SERIES_TOL);
      if (y) return finish(q, y);
    }
    // a larger q than the last check needs at least its rule; a much smaller one starts from the smallest
    const from = rule && rule.n > 0 && q > rule.q ? rule.n : 0;
    const cs = checkedSeries(act, q, SERIES_TOL, from);
    if (!cs) failQ = Math.min(failQ, q);
    rule = cs ? { n: cs.n, q } : null;
    return cs ? finish(q, cs.raw) : null;
  };
  return (q, c) => {
    let sr = memo.get(q);
    if (sr === undefined) {
      if (memo.size > 64) memo.clear();
      sr = make(q);
      memo.set(q, sr);
    }
    if (sr === null) return exact(q, c);
    return { gm: { mean: sr.mean, second: sr.second, d2: sr.d2 }, pm: pairFromSeries(sr, c) };
  };
}
