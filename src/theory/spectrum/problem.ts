// The free-probability problem of a spec's Jacobian: the fixed point q*, the law of D² per layer (no BN;
// BN with frozen batch statistics) and the closed-form moments m₁, m₂ (docs/spectrum.md §2–§4).
import {
  activationOf,
  blocksOf,
  checkSupported,
  kindsOf,
  layersOf,
  type NetworkSpec,
  normCdf,
  SpecError,
  widths,
  type Activation,
} from '../../network/index.js';
import { SPECTRUM_SUPPORT } from '../layers/index.js';
import { gaussExpect, gaussExpectSplit, gaussHermite } from '../quadrature.js';
import { dphiLaw, isPiecewiseLinear, makeLaw, normalCells, uniformCell } from './law.js';
import type { CellLaw, SpectrumMoments, SpectrumProblem } from './types.js';

/** q-map q ↦ σ_w² E[φ(√q Z)²] + σ_b² (Poole et al. 2016) iterated to its fixed point q*. */
export function jacobianFixedPointQ(spec: NetworkSpec, q0 = 1): number {
  const act = activationOf(spec);
  const { sigmaW2, sigmaB2 } = spec.init;
  let q = q0;
  for (let it = 0; it < 100000; it++) {
    const sq = Math.sqrt(q);
    const next = sigmaW2 * gaussExpectSplit((z) => act.phi(sq * z) ** 2, 0, 1, [0]) + sigmaB2;
    if (!Number.isFinite(next) || next > 1e12) {
      throw new SpecError(
        'init.sigmaW2',
        sigmaW2,
        `a value with a finite fixed point q* of the q-map for ${act.name} (q grows without bound); pass q explicitly`,
      );
    }
    // q → 0 (ordered phase of an odd φ): below 1e-12 the law of φ′(√q Z)² is the delta at φ′(0)² to 1e-12
    if (next < 1e-12) return 0;
    if (Math.abs(next - q) <= 1e-14 * q) return next;
    q = next;
  }
  // At the order–chaos boundary of an odd φ without bias (σ_w² φ′(0)² = 1) q decays only like 1/t, and just
  // inside the ordered phase almost as slowly: q* = 0 there (the map's slope at 0 is at most 1).
  if (sigmaB2 === 0 && act.phi(0) === 0 && sigmaW2 * act.dphi(0) ** 2 <= 1 + 1e-12 && q < 1e-3) return 0;
  throw new SpecError(
    'init.sigmaW2',
    sigmaW2,
    `a value for which the q-map of ${act.name} converges (no fixed point found in 100000 iterations); pass q explicitly`,
  );
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
    throw new SpecError(
      'width',
      spec.width,
      `equal widths with inputDim = width for the free-probability spectrum (got inputDim ${spec.inputDim}, widths ${[...new Set(ws)].join(',')})`,
    );
  }
  // which kinds the spectrum supports is data on the theory table (residual, layernorm, rmsnorm: not)
  checkSupported(spec, SPECTRUM_SUPPORT, 'the free-probability spectrum');
  // the BN law below is that of Linear → BN → φ: BatchNorm after the activation is another block
  const actBn = (b: readonly { kind: string }[]) => {
    const i = b.findIndex((l) => l.kind === 'batchnorm');
    const j = b.findIndex((l) => l.kind === 'act');
    return i >= 0 && j >= 0 && i > j;
  };
  if (blocksOf(layersOf(spec)).some(actBn)) {
    throw new SpecError(
      'order',
      spec.order,
      'linear-act or linear-bn-act for the free-probability spectrum (BatchNorm before the activation)',
    );
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
    return {
      mu1: pPos * b * b + (1 - pPos) * a * a,
      mu2: pPos * b ** 4 + (1 - pPos) * a ** 4,
      zero: (a === 0 ? 1 - pPos : 0) + (b === 0 ? pPos : 0),
    };
  }
  // split at the kink z = −shift/scale by integrating over u = scale·z + shift on both sides of 0
  const f1 = (z: number) => act.dphi(shift + scale * z) ** 2;
  const mu1 = shift === 0 ? gaussExpectSplit(f1, 0, 1, [0]) : gaussExpect(f1, 0, 1, 128);
  const mu2 = shift === 0 ? gaussExpectSplit((z) => f1(z) ** 2, 0, 1, [0]) : gaussExpect((z) => f1(z) ** 2, 0, 1, 128);
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
  if (!kindsOf(layersOf(spec)).has('batchnorm')) {
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
  const Eφ2 = gaussExpect((z) => act.phi(beta + gamma * z) ** 2, 0, 1, 128);
  let V: number;
  if (B === null) {
    const Eφ = gaussExpect((z) => act.phi(beta + gamma * z), 0, 1, 128);
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
    if (k <= 4)
      throw new SpecError(
        'batch',
        B,
        'at least 6 for the frozen-statistics BN spectrum (E[1/v²] of the per-unit batch variance is finite only for B − 1 > 4)',
      );
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
