// Linear → φ → BN at finite batch size B: the exact gradient-independence rate of ‖∂L/∂h‖² per layer at the
// permutation-symmetric fixed point, by Monte Carlo over the direction of a unit's centred pre-activation
// with the radial part by quadrature and antithetic pairs (derived by us; docs/theory.md §5).
import { type BnSpec, normalStream, SpecError } from '../network/index.js';
import { type ActivationLike, gaussMoments, kinksOf, slopesOf, toActivation } from './moments.js';
import { gaussFromRecurrence, type Rule } from './quadrature.js';

export interface ActBnRateOptions {
  /** Weight gain σ_w² (default 2). */
  sigmaW2?: number;
  /** Bias variance σ_b² (default 0). */
  sigmaB2?: number;
  /** Standard normals to spend (default 1.5e6): draws = ⌊normals/(B+1)⌋ antithetic pairs. */
  normals?: number;
  /** Seed of the normalStream (default 1). */
  seed?: number;
  /** Gauss–Laguerre nodes for the radial integral (default 12). */
  radialNodes?: number;
}

export interface ActBnRate {
  B: number;
  /** λ: the per-layer growth of ‖∂L/∂h‖² (gradient independence, symmetric fixed point) */
  rate: number;
  /** Monte Carlo standard error of rate (over independent antithetic pairs) */
  se: number;
  /** E κ, κ = v/(v+ε), v the biased batch variance of φ(h): the BN output has batch variance γ²·E κ */
  kappaMean: number;
  /** c = σ_w²γ²κ̄·B/(B−1): h ~ N(0, c·G + (σ_w²β² + σ_b²)·11ᵀ) per unit */
  c: number;
  /** E φ(h) */
  postMean: number;
  /** E of the biased batch variance of h, c·(B−1)/B */
  preactVar: number;
  /** the BN output's per-sample second moment β² + γ²κ̄ and cross-sample moment β² − γ²κ̄/(B−1) */
  q: number;
  qc: number;
  /** antithetic pairs used; whether the radial integral was done by quadrature */
  draws: number;
  radialQuadrature: boolean;
}

const lagCache = new Map<string, Rule>();
/** Gauss–Laguerre rule for X ~ χ²_k (probability weights; nodes are values of X). */
function chiGauss(k: number, n: number): Rule {
  const key = `${k}|${n}`;
  let r = lagCache.get(key);
  if (!r) {
    const alpha = k / 2 - 1;
    const a = new Float64Array(n + 1);
    const b = new Float64Array(n + 1);
    b[0] = 1;
    for (let j = 0; j <= n; j++) a[j] = 2 * j + alpha + 1;
    for (let j = 1; j <= n; j++) b[j] = Math.sqrt(j * (j + alpha));
    const g = gaussFromRecurrence(a, b, n);
    r = { nodes: Float64Array.from(g.nodes, (u) => 2 * u), weights: g.weights };
    if (lagCache.size > 200) lagCache.clear();
    lagCache.set(key, r);
  }
  return r;
}

/**
 * Exact (up to Monte Carlo) gradient-independence rate for Linear → φ → BN at batch B ≥ 4 (derived by us).
 *
 * Forward: at a permutation-symmetric fixed point every unit's BN output is γ√κ·m + β with m = √B·Gy/‖Gy‖ on
 * the √B sphere of the centred subspace (y = φ(h), κ = v/(v+ε), v = ‖Gy‖²/B), so by exchangeability the
 * BN output's Gram is Σ* = β²11ᵀ + γ²κ̄·B/(B−1)·G exactly, and h = Wx + b ~ N(0, c·G + b·11ᵀ) with
 * c = σ_w²γ²κ̄B/(B−1), b = σ_w²β² + σ_b²; κ̄ = E κ is solved self-consistently (same draws throughout).
 *
 * Backward: with J = γ/√(v+ε)·(G − κmmᵀ/B) (symmetric, J1 = 0), D = diag φ′(h), and the incoming gradient
 * covariance σ_w²(q_d I + q_o 11ᵀ): q_d′ = λ q_d with
 *   λ = σ_w²γ²/(B−1) · E[(1−2/B)Σφ′² + (Σφ′)²/B² − (v+2ε)/(B(v+ε)²)·(Σφ′²m̃² − (Σφ′m̃)²/B)] / (v+ε)],
 * m̃ = y − ȳ (so that m̃/√v = m; (2−κ)κ/v = (v+2ε)/(v+ε)²). At ε = 0, γ = 1 this is the audit's
 * B/(B−3)·E[(tr(D²P) − dᵀPd/B)/‖Gφ(x)‖²]; for φ = identity it is (B−2)/(B−3).
 *
 * Estimator: h = μ1 + √(cX)·ω with ω uniform on the unit sphere of the centred subspace, X ~ χ²_(B−1), μ ~ N(0, b).
 * ω and μ are drawn (antithetic pairs (ω, μ), (−ω, −μ)); the X integral is Gauss–Laguerre (E[f/X] as
 * E_{χ²_(B−3)}[f]/(B−3)) when the integrand is smooth in X (b = 0, or φ without kinks), else X = ‖Gz‖² from
 * the same draw. se is over pairs; it ignores the (tiny) dependence of κ̄ on the same draws.
 */
export function actBnGradientRate(activation: ActivationLike, B: number, bn: Partial<BnSpec> = {}, opts: ActBnRateOptions = {}): ActBnRate {
  const act = toActivation(activation);
  if (!(Number.isInteger(B) && B >= 4)) throw new SpecError('batch', B, 'an integer >= 4 (the rate holds E[1/χ²_(B−1)] = 1/(B−3))');
  const gamma = bn.gamma ?? 1;
  const beta = bn.beta ?? 0;
  const eps = bn.eps ?? 0;
  const sw = opts.sigmaW2 ?? 2;
  const sb = opts.sigmaB2 ?? 0;
  const bvar = sw * beta * beta + sb;
  const radialQuadrature = bvar === 0 || kinksOf(act).length === 0;
  // positively homogeneous φ with μ ≡ 0: the pieces scale with the radius, so per direction they are computed once
  const homogeneous = slopesOf(act) !== null && bvar === 0;
  const nr = homogeneous && !(eps > 0) ? 1 : (opts.radialNodes ?? 12);
  const M = Math.max(16, Math.floor((opts.normals ?? 1.5e6) / (B + 1)));
  const rng = normalStream(opts.seed ?? 1, 'actBnGradientRate', B);
  // directions ω (unit, centred), μ/√b, and ‖Gz‖² (for the plain radial case)
  const om = new Float64Array(M * B);
  const xi = new Float64Array(M);
  const rad = new Float64Array(M);
  for (let k = 0; k < M; k++) {
    const o = k * B;
    let zb = 0;
    for (let i = 0; i < B; i++) {
      const z = rng();
      om[o + i] = z;
      zb += z;
    }
    zb /= B;
    let nn = 0;
    for (let i = 0; i < B; i++) {
      const z = om[o + i] - zb;
      om[o + i] = z;
      nn += z * z;
    }
    const inv = 1 / Math.sqrt(nn);
    for (let i = 0; i < B; i++) om[o + i] *= inv;
    rad[k] = nn;
    xi[k] = bvar > 0 ? rng() : 0;
  }
  const fwdRule = chiGauss(B - 1, nr);
  const backRule = chiGauss(B - 3, nr);
  const sdMu = Math.sqrt(bvar);
  const y = new Float64Array(B);
  const d = new Float64Array(B);
  // one direction at one radius: fills y, d; returns v (biased batch variance of y) and the pieces
  const point = (o: number, sgn: number, mu: number, r: number) => {
    let yb = 0;
    for (let i = 0; i < B; i++) {
      const h = sgn * (mu + r * om[o + i]);
      y[i] = act.phi(h);
      d[i] = act.dphi(h);
      yb += y[i];
    }
    yb /= B;
    let v = 0;
    for (let i = 0; i < B; i++) {
      const t = y[i] - yb;
      y[i] = t;
      v += t * t;
    }
    return v / B;
  };
  const kappaAt = (v: number) => (eps > 0 ? v / (v + eps) : 1);
  // homogeneous case: at unit radius, per (draw, sign): v1, P = (1−2/B)Σφ′² + (Σφ′)²/B², Q = Σφ′²m̃² − (Σφ′m̃)²/B
  const v1 = homogeneous ? new Float64Array(2 * M) : null;
  const P1 = homogeneous ? new Float64Array(2 * M) : null;
  const Q1 = homogeneous ? new Float64Array(2 * M) : null;
  const pieces = () => {
    let A1 = 0;
    let Sd = 0;
    let C1 = 0;
    let C2 = 0;
    for (let i = 0; i < B; i++) {
      const di = d[i];
      A1 += di * di;
      Sd += di;
      C1 += di * di * y[i] * y[i];
      C2 += di * y[i];
    }
    return { P: (1 - 2 / B) * A1 + (Sd * Sd) / (B * B), Q: C1 - (C2 * C2) / B };
  };
  if (v1 && P1 && Q1) {
    for (let k = 0; k < M; k++) {
      for (let s = 0; s < 2; s++) {
        v1[2 * k + s] = point(k * B, s === 0 ? 1 : -1, 0, 1);
        const pq = pieces();
        P1[2 * k + s] = pq.P;
        Q1[2 * k + s] = pq.Q;
      }
    }
  }
  // E κ over the draws, for a given c
  const meanKappa = (c: number) => {
    if (!(eps > 0)) return 1;
    let t = 0;
    if (v1) {
      for (let k = 0; k < 2 * M; k++) for (let j = 0; j < nr; j++) t += fwdRule.weights[j] * kappaAt(c * fwdRule.nodes[j] * v1[k]);
      return t / (2 * M);
    }
    for (let k = 0; k < M; k++) {
      const mu = sdMu * xi[k];
      let pair = 0;
      for (const sgn of [1, -1]) {
        if (radialQuadrature) {
          for (let j = 0; j < nr; j++) pair += fwdRule.weights[j] * kappaAt(point(k * B, sgn, mu, Math.sqrt(c * fwdRule.nodes[j])));
        } else pair += kappaAt(point(k * B, sgn, mu, Math.sqrt(c * rad[k])));
      }
      t += pair / 2;
    }
    return t / M;
  };
  const cOf = (kbar: number) => (sw * gamma * gamma * kbar * B) / (B - 1);
  // κ̄ = K(κ̄): K is increasing and ≤ 1; iterate from 1 (descends to the largest root), secant-accelerated
  let kbar = 1;
  if (eps > 0) {
    let kPrev = 1;
    let gPrev = 1 - meanKappa(cOf(1));
    kbar = 1 - gPrev;
    for (let it = 0; it < 200; it++) {
      const g = kbar - meanKappa(cOf(kbar));
      if (Math.abs(g) <= 1e-13) break;
      let next = g !== gPrev ? kbar - (g * (kbar - kPrev)) / (g - gPrev) : kbar - g;
      if (!(next > 0 && next <= 1)) next = kbar - g;
      kPrev = kbar;
      gPrev = g;
      kbar = next;
    }
    if (!(kbar > 1e-12))
      throw new SpecError('eps', eps, `an ε for which the Linear → φ → BN fixed point keeps a batch variance > 0 at B = ${B}`);
  }
  const c = cOf(kbar);
  // the rate: per direction, σ_w²γ²/(B−1)·E_X[N/(v+ε)]
  const combine = (v: number, P: number, Q: number) => {
    const ve = v + eps;
    return P / ve - ((v + 2 * eps) / (B * ve * ve * ve)) * Q;
  };
  const integrand = (v: number) => {
    if (!(v > 0)) return 0; // φ(h) constant over the batch: no gradient passes BN's projection
    const pq = pieces();
    return combine(v, pq.P, pq.Q);
  };
  const pref = (sw * gamma * gamma) / (B - 1);
  // Welford: the spread can be ~1e-16 of the mean (identity), where Σx²/M − mean² cancels
  let mean = 0;
  let m2 = 0;
  for (let k = 0; k < M; k++) {
    const mu = sdMu * xi[k];
    let pair = 0;
    if (v1 && P1 && Q1) {
      for (let s = 2 * k; s < 2 * k + 2; s++) {
        if (!(v1[s] > 0)) continue;
        let t = 0;
        for (let j = 0; j < nr; j++) {
          // at radius² cX: v = cXv1, Q scales like v; X·f(X) with f = P/(v+ε) − (v+2ε)Q/(B(v+ε)³)
          const X = backRule.nodes[j];
          const cx = c * X;
          t += backRule.weights[j] * X * combine(cx * v1[s], P1[s], cx * Q1[s]);
        }
        pair += t / (B - 3);
      }
    } else
      for (const sgn of [1, -1]) {
        if (radialQuadrature) {
          // E_X[f(X)] = E_{χ²_(B−3)}[X f(X)]/(B−3), X f(X) smooth and bounded at X → 0
          let t = 0;
          for (let j = 0; j < nr; j++) {
            const X = backRule.nodes[j];
            t += backRule.weights[j] * X * integrand(point(k * B, sgn, mu, Math.sqrt(c * X)));
          }
          pair += t / (B - 3);
        } else pair += integrand(point(k * B, sgn, mu, Math.sqrt(c * rad[k])));
      }
    const val = (pref * pair) / 2;
    const dv = val - mean;
    mean += dv / (k + 1);
    m2 += dv * (val - mean);
  }
  const rate = mean;
  const se = Math.sqrt(m2 / (M - 1) / M);
  const g2k = gamma * gamma * kbar;
  const gm = gaussMoments(act, 0, (c * (B - 1)) / B + bvar);
  return {
    B,
    rate,
    se,
    kappaMean: kbar,
    c,
    postMean: gm.mean,
    preactVar: (c * (B - 1)) / B,
    q: beta * beta + g2k,
    qc: beta * beta - g2k / (B - 1),
    draws: M,
    radialQuadrature,
  };
}
