// Free-probability prediction of the singular-value spectrum of the input–output Jacobian
// J = D_L W_L ⋯ D_1 W_1 of a deep network at initialization (Pennington, Schoenholz & Ganguli 2017,
// "Resurrecting the sigmoid in deep learning through dynamical isometry", and 2018, "The emergence of
// spectral universality in deep networks"). Pure float64 math; imports only from spec and the theory room.
//
// The S-transform of JJᵀ is the product of the S-transforms of its free factors (PSG 2017; docs/spectrum.md §1):
//   S_{JJᵀ}(w) = Π_l S_{W_lW_lᵀ}(w) · S_{D_l²}(w),
// S_{WWᵀ} = 1/(σ_w²(1+w)) for Gaussian and 1/σ_w² for (scaled Haar) orthogonal weights. For the
// diagonal factor we never invert its moment generating function: we parameterise by x with
// m = ψ_{D²}(x) = E[x d/(1 − x d)], so S_{D²}(m) = x(1+m)/m, and solve ONE complex equation in x,
//   ζ = (1+m)/(m S_{JJᵀ}(m))   (the inverse of M(z) = zG(z) − 1, PSG 2017),
// for each spectral point ζ = λ + iε by Newton's method with continuation down from ζ = λ + iY
// (Y far above the support), in log form modulo 2πi so that depth 1000 does not overflow. Then
// G(ζ) = (1+m)/ζ and the density of λ (eigenvalues of JJᵀ) is −Im G(λ + i0)/π. Details and sources in
// docs/spectrum.md.
import { gaussHermite } from './quadrature.js';
import {
  activationOf,
  type Activation,
  type NetworkSpec,
  normCdf,
  normPdf,
  SpecError,
  widths,
} from '../spec/index.js';

export type WeightKind = 'gaussian' | 'orthogonal';

/**
 * A probability law on [0, ∞) made of cells: cell k carries probability weights[k] spread uniformly
 * on [lo[k], hi[k]] (an atom when lo = hi). Smooth laws are approximated by interpolating their
 * quantile function linearly between K knots, which keeps the law continuous, so the free convolution
 * has branch cuts instead of the spurious poles of a sum of atoms.
 */
export interface CellLaw {
  lo: number[];
  hi: number[];
  weights: number[];
}

/** The free-probability problem for one net: depth L identical layers of (W, D²), times a scale. */
export interface SpectrumProblem {
  weights: WeightKind;
  depth: number;
  /** σ_w² of the Linear layers (Var W_ij = σ_w²/N). */
  sigmaW2: number;
  /** Law of the squared diagonal entries d = (∂ output unit / ∂ pre-activation)² of one layer. */
  d2: CellLaw;
  /**
   * Extra scalar multiplying the whole spectrum of JJᵀ (product of per-layer scalars, e.g. BN's first
   * layer seeing an input of another batch variance). 1 for plain nets.
   */
  scale: number;
  /** Closed-form E[d] and E[d²] of the exact (undiscretised) law, when known; else those of d2. */
  mu1: number;
  mu2: number;
}

export interface SpectrumMoments {
  /** m₁ = (1/N) E tr JJᵀ = scale · (σ_w² μ₁)^L. */
  m1: number;
  /** m₂ = (1/N) E tr (JJᵀ)² = m₁² (1 + L (μ₂/μ₁² − 1 + s)), s = 1 Gaussian, 0 orthogonal. */
  m2: number;
  /** Variance of the eigenvalue law of JJᵀ, m₂ − m₁². */
  variance: number;
}

export interface JacobianSpectrumTheory extends SpectrumMoments {
  problem: SpectrumProblem;
  /** Fixed point q* of the pre-activations used for D (null when D's law does not depend on q). */
  q: number | null;
  /** Probability mass of the eigenvalue (and singular value) exactly 0. */
  zeroMass: number;
  /** Point masses at λ > 0 (only for degenerate cases: orthogonal weights with L = 1 or constant φ′²). */
  atoms: { lambda: number; mass: number }[];
  /** Right edge of the support of the eigenvalues λ of JJᵀ. */
  lambdaMax: number;
  /** Grid of singular values σ (midpoints of `points` equal bins on (0, √lambdaMax]) and density of σ. */
  sv: number[];
  densitySv: number[];
  /** The same grid as λ = σ² and the density of λ (ρ_λ(σ²) = ρ_σ(σ)/(2σ)). */
  lambda: number[];
  densityLambda: number[];
}

// ---------------------------------------------------------------------------------------------
// Quadrature helpers (Gauss–Hermite rules from ./quadrature.ts)

/** E[f(Z)], Z ~ N(0,1), by Gauss–Hermite. Accurate for smooth f; for kinks use `gaussExpectPiecewise`. */
function gaussExpect(f: (z: number) => number, n = 96): number {
  const { nodes: z, weights: w } = gaussHermite(n);
  let s = 0;
  for (let i = 0; i < z.length; i++) s += w[i] * f(z[i]);
  return s;
}

/**
 * E[f(Z)] for f smooth on each side of 0 (activation kinks): Gauss–Hermite does poorly at a kink, so
 * integrate each half-line by Gauss–Legendre on z ∈ [0, 12] after the substitution z = t² (tanh-like,
 * GELU, ELU all have at most a kink at 0).
 */
function gaussExpectPiecewise(f: (z: number) => number): number {
  // 64-point composite Gauss–Legendre (8 panels × 8 points) in t on [0, √12·… ] with z = t².
  const gl8x = [-0.9602898564975363, -0.7966664774136267, -0.5255324099163290, -0.1834346424956498, 0.1834346424956498, 0.5255324099163290, 0.7966664774136267, 0.9602898564975363];
  const gl8w = [0.1012285362903763, 0.2223810344533745, 0.3137066458778873, 0.3626837833783620, 0.3626837833783620, 0.3137066458778873, 0.2223810344533745, 0.1012285362903763];
  const tMax = Math.sqrt(12);
  const panels = 24;
  let s = 0;
  for (let p = 0; p < panels; p++) {
    const a = (p * tMax) / panels;
    const b = ((p + 1) * tMax) / panels;
    const h = (b - a) / 2;
    const c = (a + b) / 2;
    for (let i = 0; i < 8; i++) {
      const t = c + h * gl8x[i];
      const z = t * t;
      const jac = 2 * t * normPdf(z) * h * gl8w[i];
      s += jac * (f(z) + f(-z));
    }
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// The law of D² for a spec

function isPiecewiseLinear(act: Activation): act is Activation & { family: { kind: 'piecewise-linear'; a: number; b: number } } {
  return act.family?.kind === 'piecewise-linear';
}

/** Cells from lists; equal atoms merged, zero-probability cells dropped. */
function makeLaw(lo: number[], hi: number[], weights: number[]): CellLaw {
  const out: CellLaw = { lo: [], hi: [], weights: [] };
  const atoms = new Map<number, number>();
  for (let i = 0; i < lo.length; i++) {
    if (!(weights[i] > 0)) continue;
    if (lo[i] === hi[i]) atoms.set(lo[i], (atoms.get(lo[i]) ?? 0) + weights[i]);
    else {
      out.lo.push(Math.min(lo[i], hi[i]));
      out.hi.push(Math.max(lo[i], hi[i]));
      out.weights.push(weights[i]);
    }
  }
  for (const [v, w] of [...atoms.entries()].sort((a, b) => a[0] - b[0])) {
    out.lo.push(v);
    out.hi.push(v);
    out.weights.push(w);
  }
  return out;
}

/** E[d], E[d²] and P(d = 0) of a cell law. */
export function lawMoments(law: CellLaw): { mu1: number; mu2: number; zero: number } {
  let mu1 = 0;
  let mu2 = 0;
  let zero = 0;
  for (let i = 0; i < law.lo.length; i++) {
    const a = law.lo[i];
    const b = law.hi[i];
    const w = law.weights[i];
    mu1 += (w * (a + b)) / 2;
    mu2 += (w * (a * a + a * b + b * b)) / 3;
    if (a === 0 && b === 0) zero += w;
  }
  return { mu1, mu2, zero };
}

const GL8X = [-0.9602898564975363, -0.796666477413626, -0.525532409916329, -0.1834346424956498, 0.1834346424956498, 0.525532409916329, 0.796666477413626, 0.9602898564975363];
const GL8W = [0.1012285362903763, 0.2223810344533745, 0.3137066458778873, 0.362683783378362, 0.362683783378362, 0.3137066458778873, 0.2223810344533745, 0.1012285362903763];

/** A uniform cell with the given mean and variance (clamped at 0 from below). */
function uniformCell(mean: number, variance: number): [number, number] {
  const hw = Math.sqrt(Math.max(0, 3 * variance));
  if (hw <= 1e-14 * Math.abs(mean)) return [mean, mean];
  return [Math.max(0, mean - hw), mean + hw];
}

/**
 * Cell law of f(Z), Z ~ N(0,1): knots z_k equally spaced on [−6, 6] (mass outside 2·10⁻⁹, dropped and
 * renormalised). Cell k carries P(z_k < Z < z_{k+1}) spread uniformly with the exact conditional mean
 * and variance of f on that interval (8-point Gauss–Legendre), so E f and E f² of the law are exact to
 * quadrature accuracy and the law converges to that of f(Z) as K grows.
 */
function normalCells(f: (z: number) => number, K: number): { lo: number[]; hi: number[]; weights: number[] } {
  const zmax = 6;
  const dz = (2 * zmax) / K;
  const lo: number[] = [];
  const hi: number[] = [];
  const weights: number[] = [];
  let total = 0;
  for (let k = 0; k < K; k++) {
    const c = -zmax + (k + 0.5) * dz;
    let p = 0;
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < 8; i++) {
      const z = c + (dz / 2) * GL8X[i];
      const wz = (dz / 2) * GL8W[i] * normPdf(z);
      const v = f(z);
      p += wz;
      s1 += wz * v;
      s2 += wz * v * v;
    }
    const mean = s1 / p;
    const [a, b] = uniformCell(mean, s2 / p - mean * mean);
    lo.push(a);
    hi.push(b);
    weights.push(p);
    total += p;
  }
  return { lo, hi, weights: weights.map((w) => w / total) };
}

/** Law of φ′(shift + scale Z)²: exact atoms for piecewise-linear φ, else K quantile cells. */
function dphiLaw(act: Activation, shift: number, scale: number, K: number): CellLaw {
  if (scale === 0) {
    // q* = 0 (ordered phase): D = φ′(shift)·I exactly, a single atom
    const d = act.dphi(shift) ** 2;
    return makeLaw([d], [d], [1]);
  }
  if (isPiecewiseLinear(act)) {
    const { a, b } = act.family;
    const pPos = shift === 0 ? 0.5 : normCdf(shift / scale);
    return makeLaw([a * a, b * b], [a * a, b * b], [1 - pPos, pPos]);
  }
  const c = normalCells((z) => act.dphi(shift + scale * z) ** 2, K);
  const top = Math.max(...c.hi);
  const bottom = Math.min(...c.lo);
  if (top - bottom <= 1e-12 * Math.abs(top)) {
    // a law narrower than the arithmetic (e.g. q ≈ 0): one atom, which the solver handles exactly
    const mean = c.weights.reduce((acc, w, i) => acc + w * 0.5 * (c.lo[i] + c.hi[i]), 0) / c.weights.reduce((a, b) => a + b, 0);
    return makeLaw([mean], [mean], [1]);
  }
  return makeLaw(c.lo, c.hi, c.weights);
}

/** q-map q ↦ σ_w² E[φ(√q Z)²] + σ_b² (Poole et al. 2016) iterated to its fixed point q*. */
export function jacobianFixedPointQ(spec: NetworkSpec, q0 = 1): number {
  const act = activationOf(spec);
  const { sigmaW2, sigmaB2 } = spec.init;
  let q = q0;
  for (let it = 0; it < 100000; it++) {
    const sq = Math.sqrt(q);
    const next = sigmaW2 * gaussExpectPiecewise((z) => act.phi(sq * z) ** 2) + sigmaB2;
    if (!Number.isFinite(next) || next > 1e12) {
      throw new SpecError('init.sigmaW2', sigmaW2, `a value with a finite fixed point q* of the q-map for ${act.name} (q grows without bound); pass q explicitly`);
    }
    // q → 0 (ordered phase of an odd φ): below 1e-12 the law of φ′(√q Z)² is the delta at φ′(0)² to 1e-12
    if (next < 1e-12) return 0;
    if (Math.abs(next - q) <= 1e-14 * q) return next;
    q = next;
  }
  // At the order–chaos boundary of an odd φ without bias (σ_w² φ′(0)² = 1) q decays only like 1/t, and just
  // inside the ordered phase almost as slowly: q* = 0 there (the map's slope at 0 is at most 1).
  if (sigmaB2 === 0 && act.phi(0) === 0 && sigmaW2 * act.dphi(0) ** 2 <= 1 + 1e-12 && q < 1e-3) return 0;
  throw new SpecError('init.sigmaW2', sigmaW2, `a value for which the q-map of ${act.name} converges (no fixed point found in 100000 iterations); pass q explicitly`);
}

/** Options of the theory. */
export interface JacobianTheoryOptions {
  /** Pre-activation second moment q for D (no-BN nets); default: the fixed point q*. */
  q?: number;
  /** Number of cells of a smooth φ′² law (default 96; BN nets use at most 16, times 12 cells for 1/v). */
  nodes?: number;
  /** Number of grid points of the returned density (default 400). */
  points?: number;
  /** BN nets: mean per-unit biased batch variance of the net input (default (B−1)/B, i.i.d. N(0,1) inputs). */
  inputBatchVar?: number;
}

function checkTheorySpec(spec: NetworkSpec): number {
  const ws = widths(spec);
  if (ws.some((w) => w !== ws[0]) || spec.inputDim !== ws[0]) {
    throw new SpecError('width', spec.width, `equal widths with inputDim = width for the free-probability spectrum (got inputDim ${spec.inputDim}, widths ${[...new Set(ws)].join(',')})`);
  }
  if (spec.residual) {
    throw new SpecError('residual', spec.residual, 'null: the free-probability spectrum covers plain (non-residual) nets');
  }
  if (spec.order === 'linear-act-bn') {
    throw new SpecError('order', spec.order, 'linear-act or linear-bn-act for the free-probability spectrum');
  }
  return ws[0];
}

/**
 * Exact moments E[φ′(√q Z)²] and E[φ′(√q Z)⁴]: closed form for the piecewise-linear family, else
 * quadrature split at the kink.
 */
function dphiMoments(act: Activation, shift: number, scale: number): { mu1: number; mu2: number; zero: number } {
  if (isPiecewiseLinear(act) && shift === 0) {
    const { a, b } = act.family;
    return { mu1: (a * a + b * b) / 2, mu2: (a ** 4 + b ** 4) / 2, zero: (a === 0 ? 0.5 : 0) + (b === 0 ? 0.5 : 0) };
  }
  if (isPiecewiseLinear(act)) {
    const { a, b } = act.family;
    const pPos = normCdf(shift / scale); // P(shift + scale Z > 0)
    return { mu1: pPos * b * b + (1 - pPos) * a * a, mu2: pPos * b ** 4 + (1 - pPos) * a ** 4, zero: (a === 0 ? 1 - pPos : 0) + (b === 0 ? pPos : 0) };
  }
  // split at the kink z = −shift/scale by integrating over u = scale·z + shift on both sides of 0
  const f1 = (z: number) => act.dphi(shift + scale * z) ** 2;
  const mu1 = shift === 0 ? gaussExpectPiecewise(f1) : gaussExpect(f1, 128);
  const mu2 = shift === 0 ? gaussExpectPiecewise((z) => f1(z) ** 2) : gaussExpect((z) => f1(z) ** 2, 128);
  return { mu1, mu2, zero: 0 };
}

/**
 * The free-probability problem of a spec's Jacobian.
 *
 * No BN (linear-act): D_l = diag φ′(h_l), h_l ~ N(0, q*) (PSG 2017), identical for every layer.
 * BN (linear-bn-act) with the batch statistics held fixed (our derivation, docs/spectrum.md §4): the
 * layer Jacobian is diag(φ′(z_i) γ/√(v_i+ε)) W with z ~ N(β, γ²) and per-unit batch variance
 * v_i = σ_w² V χ²_{B−1}/(B−1); V is the mean batch variance of the previous block's output.
 */
export function spectrumProblem(spec: NetworkSpec, opts: JacobianTheoryOptions = {}): { problem: SpectrumProblem; q: number | null } {
  checkTheorySpec(spec);
  const act = activationOf(spec);
  const K = opts.nodes ?? 96;
  const L = spec.depth;
  const sigmaW2 = spec.init.sigmaW2;
  const weights = spec.init.kind;
  if (spec.order === 'linear-act') {
    let q: number | null = null;
    if (!isPiecewiseLinear(act)) q = opts.q ?? jacobianFixedPointQ(spec);
    const sq = q === null ? 1 : Math.sqrt(q);
    const d2 = dphiLaw(act, 0, sq, K);
    const { mu1, mu2 } = dphiMoments(act, 0, sq);
    return { problem: { weights, depth: L, sigmaW2, d2, scale: 1, mu1, mu2 }, q };
  }
  // linear-bn-act, frozen batch statistics
  const { gamma, beta, eps } = spec.bn;
  const B = spec.batch;
  const g2 = gamma * gamma;
  // V: mean biased batch variance of a block output φ(γ ĥ + β), ĥ the batch-standardised h.
  const Eφ2 = gaussExpect((z) => act.phi(beta + gamma * z) ** 2, 128);
  let V: number;
  if (B === null) {
    const Eφ = gaussExpect((z) => act.phi(beta + gamma * z), 128);
    V = Eφ2 - Eφ * Eφ;
  } else {
    // (1 − 1/B)(E φ(z₁)² − E φ(z₁)φ(z₂)), corr(ĥ₁, ĥ₂) = −1/(B−1)  (the batch sums to zero)
    const rho = -1 / (B - 1);
    const s = Math.sqrt(1 - rho * rho);
    const { nodes: z, weights: w } = gaussHermite(64);
    let cross = 0;
    for (let i = 0; i < z.length; i++) {
      const f1 = act.phi(beta + gamma * z[i]);
      let inner = 0;
      for (let j = 0; j < z.length; j++) inner += w[j] * act.phi(beta + gamma * (rho * z[i] + s * z[j]));
      cross += w[i] * f1 * inner;
    }
    V = (1 - 1 / B) * (Eφ2 - cross);
  }
  if (!(V > 0)) throw new SpecError('activation', act.name, 'an activation whose BN output has positive batch variance');
  const vbar = sigmaW2 * V;
  const inputV = opts.inputBatchVar ?? (B === null ? 1 : (B - 1) / B);
  const dl = dphiLaw(act, beta, gamma, Math.min(K, 16));
  const dm = dphiMoments(act, beta, gamma);
  let d2: CellLaw;
  let mu1: number;
  let mu2: number;
  if (B === null) {
    const c = g2 / (vbar + eps);
    d2 = { lo: dl.lo.map((v) => v * c), hi: dl.hi.map((v) => v * c), weights: dl.weights.slice() };
    mu1 = dm.mu1 * c;
    mu2 = dm.mu2 * c * c;
  } else {
    const k = B - 1;
    if (k <= 4) throw new SpecError('batch', B, 'at least 6 for the frozen-statistics BN spectrum (E[1/v²] of the per-unit batch variance is finite only for B − 1 > 4)');
    // γ²/(v + ε), v = v̄ χ²_k/k, χ²_k/k by the Wilson–Hilferty transform of a normal (quantile cells)
    const a = 2 / (9 * k);
    const inv = normalCells((z) => g2 / (vbar * Math.max(1 - a + z * Math.sqrt(a), 1e-3) ** 3 + eps), 12);
    const lo: number[] = [];
    const hi: number[] = [];
    const ws: number[] = [];
    // product of independent cells: a uniform cell with the product's mean and variance
    const m1 = (a0: number, b0: number) => (a0 + b0) / 2;
    const m2 = (a0: number, b0: number) => (a0 * a0 + a0 * b0 + b0 * b0) / 3;
    for (let i = 0; i < dl.lo.length; i++) {
      for (let j = 0; j < inv.lo.length; j++) {
        const mean = m1(dl.lo[i], dl.hi[i]) * m1(inv.lo[j], inv.hi[j]);
        const [l0, h0] = uniformCell(mean, m2(dl.lo[i], dl.hi[i]) * m2(inv.lo[j], inv.hi[j]) - mean * mean);
        lo.push(l0);
        hi.push(h0);
        ws.push(dl.weights[i] * inv.weights[j]);
      }
    }
    d2 = makeLaw(lo, hi, ws);
    // exact inverse-χ² moments (ε neglected: relative effect ε/v̄)
    const e1 = k / ((k - 2) * vbar);
    const e2 = (k * k) / ((k - 2) * (k - 4) * vbar * vbar);
    mu1 = dm.mu1 * g2 * e1;
    mu2 = dm.mu2 * g2 * g2 * e2;
  }
  // the first block sees the input, whose batch variance is inputV instead of V
  const scale = V / inputV;
  return { problem: { weights, depth: L, sigmaW2, d2, scale, mu1, mu2 }, q: null };
}

/** Closed-form m₁, m₂ of the eigenvalue law of JJᵀ (PSG 2018; docs/spectrum.md §2). */
export function spectrumMoments(p: SpectrumProblem): SpectrumMoments {
  const L = p.depth;
  const s = p.weights === 'gaussian' ? 1 : 0;
  const m1 = p.scale * (p.sigmaW2 * p.mu1) ** L;
  const m2 = m1 * m1 * (1 + L * (p.mu2 / (p.mu1 * p.mu1) - 1 + s));
  return { m1, m2, variance: m2 - m1 * m1 };
}

/** Moments of a spec's Jacobian spectrum: m₁ = (σ_w² E φ′²)^L, m₂ = m₁²(1 + L(E φ′⁴/(E φ′²)² − 1 + s)). */
export function jacobianMoments(spec: NetworkSpec, opts: JacobianTheoryOptions = {}): SpectrumMoments {
  return spectrumMoments(spectrumProblem(spec, opts).problem);
}

// ---------------------------------------------------------------------------------------------
// The solver, in normalised units: d̃ = d/E[d], σ̃² = 1, so that m̃₁ = 1; λ = c·λ̃, c = scale·(σ_w² E d)^L.

interface Normalised {
  /** Cell centres c and half-widths h of the normalised law d̃ = d/E[d], and weights. */
  c: Float64Array;
  h: Float64Array;
  w: Float64Array;
  L: number;
  orth: boolean;
  /** Mass of d = 0 (becomes the atom of JJᵀ at 0). */
  p0: number;
  /** E[d̃²]. */
  mu2: number;
  /** λ = scale0 λ̃. */
  scale0: number;
  /** Normalised variance L(μ̃₂ − 1 + s). */
  variance: number;
}

function normalise(p: SpectrumProblem): Normalised {
  const { mu1: e1, mu2: e2, zero } = lawMoments(p.d2);
  if (!(e1 > 0)) throw new SpecError('activation', 'φ′', 'an activation with E[φ′(h)²] > 0');
  const n = p.d2.lo.length;
  return {
    c: Float64Array.from({ length: n }, (_, i) => (p.d2.lo[i] + p.d2.hi[i]) / 2 / e1),
    h: Float64Array.from({ length: n }, (_, i) => (p.d2.hi[i] - p.d2.lo[i]) / 2 / e1),
    w: Float64Array.from(p.d2.weights),
    L: p.depth,
    orth: p.weights === 'orthogonal',
    p0: zero,
    mu2: e2 / (e1 * e1),
    scale0: p.scale * (p.sigmaW2 * e1) ** p.depth,
    variance: p.depth * (e2 / (e1 * e1) - 1 + (p.weights === 'gaussian' ? 1 : 0)),
  };
}

const TWO_PI = 2 * Math.PI;
// scratch for psi(): [mr, mi, dr, di]
const PSI = new Float64Array(4);

/**
 * ψ(x) = E[x d/(1 − x d)] and ψ′(x) = E[d/(1 − x d)²] for the cell law, into PSI. A cell with centre c,
 * half-width h contributes, with y = x/(1 − xc), u = yh, A(u) = atanh(u)/u:
 *   w [xc/(1 − xc) + (A(u) − 1)/(1 − xc)]           to ψ,
 *   w [c/(1 − u²) + (1/(1 − u²) − A(u))/y]/(1 − xc)² to ψ′   (both from the exact cell integrals).
 * Small |u| uses the series A − 1 = Σ u^{2k}/(2k+1), 1/(1−u²) − A = Σ 2k u^{2k}/(2k+1).
 */
function psi(nz: Normalised, xr: number, xi: number): void {
  const { c, h, w } = nz;
  let mr = 0;
  let mi = 0;
  let dr = 0;
  let di = 0;
  for (let k = 0; k < c.length; k++) {
    const ck = c[k];
    if (ck === 0 && h[k] === 0) continue;
    // e = 1/(1 − x c)
    const ar = 1 - xr * ck;
    const ai = -xi * ck;
    const den = ar * ar + ai * ai;
    const er = ar / den;
    const ei = -ai / den;
    // x c e = e − 1
    let pr = er - 1;
    let pi = ei;
    // e²
    const e2r = er * er - ei * ei;
    const e2i = 2 * er * ei;
    let qr = ck * e2r; // c e² (atom part of ψ′)
    let qi = ck * e2i;
    const hk = h[k];
    if (hk > 0) {
      // y = x e, u = y h
      const yr = xr * er - xi * ei;
      const yi = xr * ei + xi * er;
      const ur = yr * hk;
      const ui = yi * hk;
      const u2r = ur * ur - ui * ui;
      const u2i = 2 * ur * ui;
      let Amr: number; // A − 1
      let Ami: number;
      let Br: number; // 1/(1−u²) − A
      let Bi: number;
      // 1/(1 − u²)
      const omr = 1 - u2r;
      const omi = -u2i;
      const omd = omr * omr + omi * omi;
      const ir = omr / omd;
      const ii = -omi / omd;
      if (ur * ur + ui * ui < 0.01) {
        // series in v = u²
        Amr = 0;
        Ami = 0;
        Br = 0;
        Bi = 0;
        let vr = u2r;
        let vi = u2i;
        for (let j = 1; j <= 9; j++) {
          const f = 1 / (2 * j + 1);
          Amr += f * vr;
          Ami += f * vi;
          Br += 2 * j * f * vr;
          Bi += 2 * j * f * vi;
          const tr = vr * u2r - vi * u2i;
          vi = vr * u2i + vi * u2r;
          vr = tr;
        }
      } else {
        // atanh(u) = ½ [log(1+u) − log(1−u)]
        const l1r = 0.5 * Math.log((1 + ur) * (1 + ur) + ui * ui);
        const l1i = Math.atan2(ui, 1 + ur);
        const l2r = 0.5 * Math.log((1 - ur) * (1 - ur) + ui * ui);
        const l2i = Math.atan2(-ui, 1 - ur);
        const atr = 0.5 * (l1r - l2r);
        const ati = 0.5 * (l1i - l2i);
        const ud = ur * ur + ui * ui;
        const Ar = (atr * ur + ati * ui) / ud;
        const Ai = (ati * ur - atr * ui) / ud;
        Amr = Ar - 1;
        Ami = Ai;
        Br = ir - Ar;
        Bi = ii - Ai;
      }
      // ψ += e (A − 1)
      pr += er * Amr - ei * Ami;
      pi += er * Ami + ei * Amr;
      // ψ′ = e² [c/(1−u²) + B/y]
      const yd = yr * yr + yi * yi;
      const byr = (Br * yr + Bi * yi) / yd;
      const byi = (Bi * yr - Br * yi) / yd;
      const tr = ck * ir + byr;
      const ti = ck * ii + byi;
      qr = e2r * tr - e2i * ti;
      qi = e2r * ti + e2i * tr;
    }
    mr += w[k] * pr;
    mi += w[k] * pi;
    dr += w[k] * qr;
    di += w[k] * qi;
  }
  PSI[0] = mr;
  PSI[1] = mi;
  PSI[2] = dr;
  PSI[3] = di;
}

/**
 * Newton for x at ζ = (zr, zi) from x = (xr, xi); on success out = [xr, xi, mr, mi]. Equation (log
 * form, modulo 2πi):  Φ(x) = log(1+m) − log m + L(log m − log x) − [orth] L log(1+m) − log ζ,  m = ψ(x).
 */
function newton(n: Normalised, zr: number, zi: number, xr: number, xi: number, out: Float64Array): boolean {
  const { L, orth } = n;
  const lzr = 0.5 * Math.log(zr * zr + zi * zi);
  const lzi = Math.atan2(zi, zr);
  const k1 = orth ? 1 - L : 1;
  for (let it = 0; it < 30; it++) {
    psi(n, xr, xi);
    const mr = PSI[0];
    const mi = PSI[1];
    const dr = PSI[2];
    const di = PSI[3];
    const opr = 1 + mr;
    const l1m_r = 0.5 * Math.log(opr * opr + mi * mi);
    const l1m_i = Math.atan2(mi, opr);
    const lm_r = 0.5 * Math.log(mr * mr + mi * mi);
    const lm_i = Math.atan2(mi, mr);
    const lx_r = 0.5 * Math.log(xr * xr + xi * xi);
    const lx_i = Math.atan2(xi, xr);
    const fr = k1 * l1m_r + (L - 1) * lm_r - L * lx_r - lzr;
    let fi = k1 * l1m_i + (L - 1) * lm_i - L * lx_i - lzi;
    fi -= TWO_PI * Math.round(fi / TWO_PI);
    // Φ′ = m′ [k1/(1+m) + (L−1)/m] − L/x
    const d1 = opr * opr + mi * mi;
    const d2 = mr * mr + mi * mi;
    const d3 = xr * xr + xi * xi;
    const gr = (k1 * opr) / d1 + ((L - 1) * mr) / d2;
    const gi = (-k1 * mi) / d1 - ((L - 1) * mi) / d2;
    const jr = dr * gr - di * gi - (L * xr) / d3;
    const ji = dr * gi + di * gr + (L * xi) / d3;
    const jd = jr * jr + ji * ji;
    let sr = (fr * jr + fi * ji) / jd;
    let si = (fi * jr - fr * ji) / jd;
    const sAbs = Math.hypot(sr, si);
    const xAbs = Math.hypot(xr, xi);
    if (sAbs > 0.5 * xAbs) {
      sr *= (0.5 * xAbs) / sAbs;
      si *= (0.5 * xAbs) / sAbs;
    }
    if (!Number.isFinite(sr) || !Number.isFinite(si)) return false;
    xr -= sr;
    xi -= si;
    if (Math.hypot(fr, fi) < 1e-11 * (L + Math.abs(lzr)) || sAbs < 1e-12 * xAbs) {
      psi(n, xr, xi);
      out[0] = xr;
      out[1] = xi;
      out[2] = PSI[0];
      out[3] = PSI[1];
      return true;
    }
  }
  return false;
}

/** m(ζ) at ζ = λ̃ + iε by continuation down the vertical line from λ̃ + iY; out = [xr, xi, mr, mi]. */
function solveAt(n: Normalised, lam: number, eps: number, Y: number, out: Float64Array): boolean {
  // start at large |ζ|: m ≈ 1/ζ + m̃₂/ζ², x ≈ m − μ̃₂ m² (series inversion of ψ(x) = x + μ̃₂ x² + …)
  let t = Y;
  const zd = lam * lam + t * t;
  const izr = lam / zd;
  const izi = -t / zd;
  const m2 = 1 + n.variance;
  const mr = izr + m2 * (izr * izr - izi * izi);
  const mi = izi + m2 * 2 * izr * izi;
  let xr = mr - n.mu2 * (mr * mr - mi * mi);
  let xi = mi - n.mu2 * 2 * mr * mi;
  if (!newton(n, lam, t, xr, xi, out)) return false;
  xr = out[0];
  xi = out[1];
  while (t > eps) {
    let next = Math.max(t * 0.1, eps);
    let ok = false;
    for (let tries = 0; tries < 12; tries++) {
      if (newton(n, lam, next, xr, xi, out)) {
        ok = true;
        break;
      }
      next = t - (t - next) / 2; // halve the step
    }
    if (!ok) return false;
    xr = out[0];
    xi = out[1];
    t = next;
  }
  return true;
}

/**
 * Density of λ̃ (normalised eigenvalue of JJᵀ), continuous part: −Im(G − p₀/ζ)/π at ζ = λ̃ + iε with
 * ε = 10⁻⁹ λ̃, G = (1+m)/ζ. NaN where the solver fails.
 */
function densityNormalised(n: Normalised, lams: number[], Y: number): number[] {
  const out = new Float64Array(4);
  const res: number[] = [];
  for (const lam of lams) {
    const eps = 1e-9 * Math.max(lam, 1e-300);
    if (!solveAt(n, lam, eps, Y, out)) {
      res.push(Number.NaN);
      continue;
    }
    const ar = 1 + out[2] - n.p0;
    const ai = out[3];
    const zd = lam * lam + eps * eps;
    const gi = (ai * lam - ar * eps) / zd;
    res.push(-gi / Math.PI); // not clamped: a negative value would flag a wrong branch (tested)
  }
  return res;
}

/** Density of the continuous part of the eigenvalue law of JJᵀ at the given λ (> 0). */
export function eigenDensity(p: SpectrumProblem, lambdas: number[]): number[] {
  const n = normalise(p);
  const Y = 10 * (1 + Math.sqrt(n.variance) + n.variance);
  return densityNormalised(n, lambdas.map((l) => l / n.scale0), Y).map((d) => d / n.scale0);
}

/** Right edge of the normalised support: coarse scan outward, then bisection on "density > 0". */
function supportEdge(n: Normalised, Y: number): number {
  let hi = 2 + 4 * (n.L + 1) + 8 * Math.sqrt(n.variance);
  for (let round = 0; round < 12; round++) {
    const M = 120;
    const grid = Array.from({ length: M }, (_, i) => (hi * (i + 1)) / M);
    const dens = densityNormalised(n, grid, Y);
    const max = Math.max(...dens.filter(Number.isFinite));
    const thr = 1e-6 * max;
    let last = -1;
    for (let i = 0; i < M; i++) if (dens[i] > thr) last = i;
    if (last < M - 2) {
      let a = last >= 0 ? grid[last] : 0;
      let b = grid[last + 1];
      for (let k = 0; k < 40; k++) {
        const mid = (a + b) / 2;
        const d = densityNormalised(n, [mid], Y)[0];
        if (d > thr) a = mid;
        else b = mid;
      }
      return b;
    }
    hi *= 2;
  }
  return hi;
}

/**
 * Atoms at λ > 0 in the degenerate cases the continuous solver cannot represent: orthogonal weights
 * with a D² law whose nonzero part is all atoms and either L = 1 (JJᵀ = σ_w² D² exactly) or a single
 * atom of mass 1 (JJᵀ = (σ_w² d)^L I, e.g. linear orthogonal nets).
 */
function degenerateAtoms(p: SpectrumProblem): { lambda: number; mass: number }[] | null {
  if (p.weights !== 'orthogonal') return null;
  const cells = p.d2.lo.map((lo, i) => ({ lo, hi: p.d2.hi[i], w: p.d2.weights[i] })).filter((a) => a.hi > 0);
  if (cells.some((a) => a.lo !== a.hi)) return null;
  if (p.depth === 1 || (cells.length === 1 && cells[0].w >= 1 - 1e-15)) {
    return cells.map((a) => ({ lambda: p.scale * (p.sigmaW2 * a.lo) ** p.depth, mass: a.w }));
  }
  return null;
}

/** Free-probability prediction of the spectrum of JJᵀ and of the singular values of J. */
export function solveSpectrum(p: SpectrumProblem, opts: { points?: number } = {}): Omit<JacobianSpectrumTheory, 'problem' | 'q'> {
  const mom = spectrumMoments(p);
  const points = opts.points ?? 400;
  const n = normalise(p);
  const atoms = degenerateAtoms(p);
  if (atoms) {
    const lambdaMax = Math.max(...atoms.map((a) => a.lambda));
    const smax = Math.sqrt(lambdaMax) * 1.05;
    const sv = Array.from({ length: points }, (_, i) => ((i + 0.5) * smax) / points);
    return {
      ...mom,
      zeroMass: n.p0,
      atoms: atoms.filter((a) => a.mass > 0),
      lambdaMax,
      sv,
      densitySv: sv.map(() => 0),
      lambda: sv.map((s) => s * s),
      densityLambda: sv.map(() => 0),
    };
  }
  const Y = 10 * (1 + Math.sqrt(n.variance) + n.variance);
  const edge = supportEdge(n, Y);
  const lambdaMax = edge * n.scale0;
  const smax = Math.sqrt(lambdaMax);
  const sv = Array.from({ length: points }, (_, i) => ((i + 0.5) * smax) / points);
  const lambda = sv.map((s) => s * s);
  const densityLambda = densityNormalised(
    n,
    lambda.map((l) => l / n.scale0),
    Y,
  ).map((d) => d / n.scale0);
  const densitySv = densityLambda.map((d, i) => 2 * sv[i] * d);
  return { ...mom, zeroMass: n.p0, atoms: [], lambdaMax, sv, densitySv, lambda, densityLambda };
}

/** The free-probability spectrum of a spec's input–output Jacobian. */
export function jacobianSpectrumTheory(spec: NetworkSpec, opts: JacobianTheoryOptions = {}): JacobianSpectrumTheory {
  const { problem, q } = spectrumProblem(spec, opts);
  return { problem, q, ...solveSpectrum(problem, { points: opts.points }) };
}

// ---------------------------------------------------------------------------------------------
// CDF and moments by quadrature (for checks against samples and closed forms)

/**
 * Graded map u ∈ [0,1] ↦ σ = σ_max (1 − (1 − u^g)²): cells shrink like u^{g−1} at σ → 0, where the
 * density of σ has an integrable singularity ~ σ^{−(L−1)/(L+1)} for Gaussian weights, and like (1 − u)
 * at the edge, where it vanishes like a square root. Returns σ and dσ/du.
 */
function gradedSv(smax: number, g: number, u: number): { s: number; ds: number } {
  const t = u ** g;
  return { s: smax * (1 - (1 - t) * (1 - t)), ds: smax * 2 * (1 - t) * g * u ** (g - 1) };
}

function defaultGrading(L: number): number {
  return Math.max(2, (L + 1) / 2 + 1);
}

/** The CDF of the singular values: F(σ) = P(s ≤ σ) and its left limit F(σ−) = P(s < σ). */
export interface SvCdf {
  F: (s: number) => number;
  Fleft: (s: number) => number;
  /** Positions σ of the point masses (0 included when it carries mass). */
  atoms: number[];
  /** Continuous part, tabulated at the right ends of the cells of `gradedSv`. */
  table: { sv: number[]; cdf: number[] };
}

/**
 * CDF of the singular values: point masses (the atom at 0 and any atoms at λ > 0) plus the continuous
 * part, tabulated on the graded grid of `gradedSv` (midpoint rule) and integrated from the top down,
 * F_c(σ) = C − ∫_σ^{σ_max} ρ, C = 1 − point masses: deep Gaussian products put a sizeable mass at
 * astronomically small σ (F(λ) ~ λ^{1/(L+1)}), which then lands below the first cell. Linear in between.
 */
export function singularValueCdf(
  theory: Pick<JacobianSpectrumTheory, 'problem' | 'lambdaMax' | 'zeroMass' | 'atoms'>,
  opts: { points?: number; grading?: number } = {},
): SvCdf {
  const atoms = [{ s: 0, m: theory.zeroMass }, ...theory.atoms.map((a) => ({ s: Math.sqrt(a.lambda), m: a.mass }))].filter((a) => a.m > 0);
  const C = 1 - atoms.reduce((acc, a) => acc + a.m, 0);
  const sv: number[] = [];
  const cdf: number[] = [];
  if (C > 1e-12) {
    const M = opts.points ?? 800;
    const g = opts.grading ?? defaultGrading(theory.problem.depth);
    const smax = Math.sqrt(theory.lambdaMax);
    const mids: number[] = [];
    const widthsU: number[] = [];
    for (let j = 0; j < M; j++) {
      const { s, ds } = gradedSv(smax, g, (j + 0.5) / M);
      mids.push(s);
      widthsU.push(ds / M);
      sv.push(gradedSv(smax, g, (j + 1) / M).s);
    }
    const dens = eigenDensity(
      theory.problem,
      mids.map((s) => s * s),
    );
    let above = 0;
    const rev: number[] = new Array(M);
    for (let j = M - 1; j >= 0; j--) {
      rev[j] = Math.max(0, C - above);
      above += 2 * mids[j] * (Number.isFinite(dens[j]) ? dens[j] : 0) * widthsU[j];
    }
    cdf.push(...rev);
  }
  const cont = (s: number): number => {
    if (!sv.length || s <= 0) return 0;
    if (s >= sv[sv.length - 1]) return C;
    let lo = 0;
    let hi = sv.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sv[mid] < s) lo = mid + 1;
      else hi = mid;
    }
    const s0 = lo === 0 ? 0 : sv[lo - 1];
    const F0 = lo === 0 ? 0 : cdf[lo - 1];
    return F0 + ((cdf[lo] - F0) * (s - s0)) / (sv[lo] - s0);
  };
  return {
    F: (s) => cont(s) + atoms.reduce((acc, a) => acc + (s >= a.s ? a.m : 0), 0),
    Fleft: (s) => cont(s) + atoms.reduce((acc, a) => acc + (s > a.s ? a.m : 0), 0),
    atoms: atoms.map((a) => a.s),
    table: { sv, cdf },
  };
}

/**
 * ∫ρ, ∫λρ, ∫λ²ρ of the continuous part plus the atoms, by the midpoint rule on a graded σ grid
 * (see singularValueCdf). For checks of the density against the closed-form moments.
 */
export function densityMoments(
  theory: Pick<JacobianSpectrumTheory, 'problem' | 'lambdaMax' | 'zeroMass' | 'atoms'>,
  opts: { points?: number; grading?: number } = {},
): { mass: number; m1: number; m2: number } {
  let mass = theory.zeroMass;
  let m1 = 0;
  let m2 = 0;
  for (const a of theory.atoms) {
    mass += a.mass;
    m1 += a.mass * a.lambda;
    m2 += a.mass * a.lambda * a.lambda;
  }
  if (theory.atoms.length) return { mass, m1, m2 };
  const M = opts.points ?? 800;
  const g = opts.grading ?? defaultGrading(theory.problem.depth);
  const smax = Math.sqrt(theory.lambdaMax);
  const mids: number[] = [];
  const wts: number[] = [];
  for (let j = 0; j < M; j++) {
    const { s, ds } = gradedSv(smax, g, (j + 0.5) / M);
    mids.push(s);
    wts.push(ds / M);
  }
  const lams = mids.map((s) => s * s);
  const dens = eigenDensity(theory.problem, lams);
  for (let j = 0; j < M; j++) {
    const r = 2 * mids[j] * (Number.isFinite(dens[j]) ? dens[j] : 0) * wts[j];
    mass += r;
    m1 += r * lams[j];
    m2 += r * lams[j] * lams[j];
  }
  return { mass, m1, m2 };
}
