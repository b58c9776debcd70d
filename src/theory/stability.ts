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
// λ_M = (E φ̃′)²/Var φ̃ ≤ 1 (Cauchy–Schwarz), so at large B only L can be unstable. With ε > 0 the exact
// eigenvalues average these over the χ² law of the batch variance (see bsb1Stability).
import { type BnSpec, SpecError } from '../network/index.js';
import { effectiveGamma, YANG_BN } from './batchnorm.js';
import { type ActivationLike, gaussMoments, kinksOf, slopesOf, toActivation } from './moments.js';
import { gaussExpectSplit, gaussLegendre, type Rule } from './quadrature.js';
import { gegB, pairOuterKinks, sphereMarginalRule } from './sphere.js';

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
function nestedTriple(B: number, kinksX: number[], ph: (x: number) => number, m = 10): [number, number, number] {
  const C2 = (B * (B - 2)) / (B - 1);
  const outer = sphereMarginalRule(B, pairOuterKinks(B, kinksX), m);
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
 * φ̃(x) = φ(γx + β) of the BN output. Exact under the mean field (infinite width) for any γ, β:
 * - ε = 0: the map is scale-free; λ from pair moments of the BN output law.
 * - ε > 0, finite B: the batch variance v̂ = c·χ²_(B−1)/B varies from unit to unit and BN outputs
 *   γ√κ(v̂)·n + β; λ = E_w[w·(sλ)(g_w)]/E_w[s(g_w)] at the fixed point c = σ_w² E_w s(g_w) (w = χ²_(B−1)/(B−1),
 *   sigmaW2 from opts, default 1). When 5(ε/v̄)/B < 1e-5 the self-averaging γ_eff = γ√κ(v̄) of effectiveGamma is
 *   used instead (error below 1e-5). Interpolation in κ makes this path accurate to ~1e-6 for kinked φ̃,
 *   ~1e-12 for smooth φ̃.
 * - ε > 0, B = null: v̂ self-averages, γ_eff is exact.
 * Derivation: docs/drafts/stability.md. Throws SpecError when φ̃ is constant on the support of the BN output,
 * and when ε is so large that the variance decays to 0 (no BSB1 state with nonzero variance exists).
 */
export function bsb1Stability(
  activation: ActivationLike,
  B: number | null,
  bn?: Partial<BnSpec>,
  opts: { sigmaW2?: number } = {},
): Bsb1Stability {
  const act = toActivation(activation);
  if (B !== null && !(Number.isInteger(B) && B >= 4)) {
    throw new RangeError(`batch: ${B} is not allowed; expected an integer >= 4 (the M representation needs B ≥ 4) or null`);
  }
  const b: BnSpec = { ...YANG_BN, ...(bn ?? {}) };
  const beta = b.beta;
  const sw = opts.sigmaW2 ?? 1;

  if (B === null) {
    // B → ∞: v̂ self-averages, so ε acts exactly through γ_eff = γ√κ (effectiveGamma)
    const g = effectiveGamma(act, B, b, opts).gammaEff;
    if (g === 0 || !Number.isFinite(g)) throw constantError(act.name, b, B);
    const kinks = kinksOf(act).map((k) => (k - beta) / g);
    const ph = (x: number) => act.phi(g * x + beta);
    const gm = gaussMoments(act, beta, g * g);
    const v = gm.variance;
    if (!(v > 1e-300) || !Number.isFinite(v)) throw constantError(act.name, b, B);
    // Positively homogeneous φ̃ (the piecewise-linear family at β = 0): λ_L(∞) = 1 exactly (Euler: φ̃ = zφ̃′).
    const homogeneous = beta === 0 && slopesOf(act) !== null;
    const num = homogeneous ? 2 * v : gaussExpectSplit((z) => (ph(z) - gm.mean) ** 2 * (z * z - 1), 0, 1, kinks);
    const ez = g * gm.d1; // E φ̃(z) z = E φ̃′ (Stein)
    return verdict(null, num / (2 * v), (ez * ez) / v);
  }

  const fin = (gg: number) => finiteB(act, gg, beta, B);
  const fromMoments = (m: FiniteMoments) => {
    if (!(m.s > 1e-300 * Math.max(m.m2, 1e-300)) || !Number.isFinite(m.s)) throw constantError(act.name, b, B);
    return verdict(B, m.nL / m.s, m.nM / m.s);
  };
  if (b.gamma === 0) throw constantError(act.name, b, B);
  if (!(b.eps > 0)) return fromMoments(fin(b.gamma));
  // ε > 0: the batch variance v̂ = c·w·(B−1)/B, w = χ²_(B−1)/(B−1), fluctuates from unit to unit, so the BN
  // output is γ√κ(w)·n + β, κ = v̂/(v̂+ε), with n the ε = 0 output (independent of w). Exact under the mean
  // field: λ = E_w[w·(sλ)(g_w)] / E_w[s(g_w)], g_w = γ√κ(w), at the fixed point c = σ_w² E_w[s(g_w)]
  // (docs/drafts/stability.md §5). When ε ≪ v̄ the self-averaging γ_eff of effectiveGamma is used instead: its
  // error, measured ≈ C(ε/v̄)/B with C ≤ 4.4, is then below 1e-5 (5(ε/v̄)/B < 1e-5).
  const fB = (B - 1) / B;
  const m1 = fin(b.gamma);
  if (!(m1.s > 1e-300 * Math.max(m1.m2, 1e-300)) || !Number.isFinite(m1.s)) throw constantError(act.name, b, B);
  const v1 = sw * fB * m1.s; // v̄ at κ = 1 (an upper bound for v̄)
  const k1 = v1 / (v1 + b.eps);
  if ((5 * b.eps) / (k1 * v1) / B < 1e-5) {
    // γ_eff = γ√κ with κ = v/(v+ε), v = σ_w²(B−1)/B·s(γ√κ): effectiveGamma's equation, solved here by the same
    // fixed-point iteration from κ = 1; its contraction is O(ε/v) ≤ 1e-3, so two or three steps reach 1e-12
    let kap = k1;
    let m = fin(b.gamma * Math.sqrt(kap));
    for (let it = 0; it < 20; it++) {
      const v = sw * fB * m.s;
      const next = v / (v + b.eps);
      if (Math.abs(next - kap) <= 1e-12) break;
      kap = next;
      m = fin(b.gamma * Math.sqrt(kap));
    }
    return fromMoments(m);
  }
  const vbar = k1 * v1;
  const wr = gammaLawRule(B);
  const kOf = (y: number) => (y * fB) / (y * fB + b.eps);
  // s, sλ_L, sλ_M are even in g, so smooth functions of κ = (g/γ)²: Chebyshev interpolation in κ on the range
  // the w-rule reaches (homogeneous φ̃: exactly linear in κ, one evaluation)
  const homogeneous = beta === 0 && slopesOf(act) !== null;
  const base = homogeneous ? m1 : null;
  let interp: ((kap: number) => [number, number, number]) | null = null;
  let lo = 0;
  let hi = 0;
  let builds = 0;
  const build = (c: number) => {
    // c wandering far from γ_eff's start (more than 4^3) only happens on the way to the collapsed state c = 0
    if (++builds > 4) throw collapseError(b, sw);
    lo = kOf((c / 4) * wr.nodes[0]);
    hi = kOf(4 * c * wr.nodes[wr.nodes.length - 1]);
    if (base) {
      interp = (kap) => [kap * base.s, kap * base.nL, kap * base.nM];
      return;
    }
    interp = chebyshev(lo, hi, CHEB_N, (kap) => {
      const m = fin(b.gamma * Math.sqrt(kap));
      return [m.s, m.nL, m.nM];
    });
  };
  const at = (c: number) => {
    if (!interp || kOf((c / 1.01) * wr.nodes[0]) < lo || kOf(c * 1.01 * wr.nodes[wr.nodes.length - 1]) > hi) build(c);
    let S = 0;
    let NL = 0;
    let NM = 0;
    for (let j = 0; j < wr.nodes.length; j++) {
      const w = wr.nodes[j];
      const [sv, l, m] = (interp as (kap: number) => [number, number, number])(kOf(c * w));
      S += wr.weights[j] * sv;
      NL += wr.weights[j] * w * l;
      NM += wr.weights[j] * w * m;
    }
    return { G: sw * S - c, S, NL, NM };
  };
  // c* = σ_w² E_w s(g_w(c*)): one fixed-point step from c = v̄/fB, then secant steps (all on the interpolant)
  let c0 = vbar / fB;
  let r0 = at(c0);
  let c1 = Math.max(1e-300, c0 + r0.G);
  let r1 = at(c1);
  for (let it = 0; it < 60 && Math.abs(r1.G) > 1e-13 * c1 && r1.G !== r0.G; it++) {
    const c2 = c1 - (r1.G * (c1 - c0)) / (r1.G - r0.G);
    c0 = c1;
    r0 = r1;
    c1 = c2 > 0 && Number.isFinite(c2) ? c2 : c1 / 2;
    r1 = at(c1);
  }
  if (!(kOf(c1) > 1e-9) || Math.abs(r1.G) > 1e-8 * c1) throw collapseError(b, sw);
  if (!(r1.S > 0) || !Number.isFinite(r1.S)) throw constantError(act.name, b, B);
  return verdict(B, r1.NL / r1.S, r1.NM / r1.S);
}

const CHEB_N = 14;

/** Chebyshev (first-kind points) interpolant of a vector function on [a, b], barycentric form. */
function chebyshev(a: number, b: number, n: number, f: (x: number) => [number, number, number]): (x: number) => [number, number, number] {
  const xs: number[] = [];
  const ws: number[] = [];
  const fs: [number, number, number][] = [];
  for (let j = 0; j < n; j++) {
    const th = (Math.PI * (j + 0.5)) / n;
    const x = (a + b) / 2 + ((b - a) / 2) * Math.cos(th);
    xs.push(x);
    ws.push((j % 2 === 0 ? 1 : -1) * Math.sin(th));
    fs.push(f(x));
  }
  return (x) => {
    let d = 0;
    const o: [number, number, number] = [0, 0, 0];
    for (let j = 0; j < n; j++) {
      const dx = x - xs[j];
      if (dx === 0) return fs[j];
      const t = ws[j] / dx;
      d += t;
      o[0] += t * fs[j][0];
      o[1] += t * fs[j][1];
      o[2] += t * fs[j][2];
    }
    return [o[0] / d, o[1] / d, o[2] / d];
  };
}

const gammaCache = new Map<number, Rule>();
/**
 * Rule for w = χ²_(B−1)/(B−1) (Gamma law, shape k = (B−1)/2, mean 1): composite Gauss–Legendre in t = ln w,
 * where the density ∝ exp(k t − k eᵗ) is smooth and unimodal, on [−40/k, ln(1 + 40/k)] (tails < e^(−30)).
 */
function gammaLawRule(B: number): Rule {
  let r = gammaCache.get(B);
  if (!r) {
    const k = (B - 1) / 2;
    const tlo = -40 / k;
    const thi = Math.log(1 + 40 / k + 12 / Math.sqrt(k));
    const panels = 48;
    const gl = gaussLegendre(8);
    const nodes: number[] = [];
    const weights: number[] = [];
    let tot = 0;
    const h = (thi - tlo) / panels;
    for (let p = 0; p < panels; p++) {
      for (let i = 0; i < gl.nodes.length; i++) {
        const t = tlo + h * (p + 0.5 + gl.nodes[i] / 2);
        const wt = (h / 2) * gl.weights[i] * Math.exp(k * t - k * Math.exp(t));
        if (wt < 1e-300) continue;
        nodes.push(Math.exp(t));
        weights.push(wt);
        tot += wt;
      }
    }
    r = { nodes: Float64Array.from(nodes), weights: Float64Array.from(weights, (x) => x / tot) };
    if (gammaCache.size > 1000) gammaCache.clear();
    gammaCache.set(B, r);
  }
  return r;
}

function collapseError(bn: BnSpec, sigmaW2: number): SpecError {
  return new SpecError(
    'bn.eps',
    bn.eps,
    `an ε small enough for a BSB1 fixed point with nonzero variance; with σ_w² = ${sigmaW2} the pre-activation variance decays to 0 layer after layer (κ = v̂/(v̂+ε) → 0), so BN never normalises and BSB1 stability is undefined`,
  );
}

interface FiniteMoments {
  m2: number;
  /** m2 − pair = q*(1 − c*) */
  s: number;
  /** s·λ_L = ½ E φ̃²(x1²−1) − (B−1)/(B−2)·E φ̃1φ̃2(x1²−1) */
  nL: number;
  /** s·λ_M */
  nM: number;
}

/** The pair moments of φ̃(x) = φ(g x + β) on the BN output law at batch B that λ_L and λ_M need. */
function finiteB(act: ReturnType<typeof toActivation>, g: number, beta: number, B: number): FiniteMoments {
  const kinks = g === 0 ? [] : kinksOf(act).map((k) => (k - beta) / g);
  const ph = (x: number) => act.phi(g * x + beta);
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
  const nL = a / 2 - ((B - 1) / (B - 2)) * c;
  const nM = ((B - 1) * ((B - 1) * (B - 2) * e + 2 * (B - 1) * c + (B - 2) * pair)) / (B * (B - 2) * (B - 3));
  return { m2, s: m2 - pair, nL, nM };
}
