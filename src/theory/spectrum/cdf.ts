// CDF and moments of the singular values by quadrature on a graded grid (for checks against samples and
// closed forms).
import { eigenDensity } from './solver.js';
import type { JacobianSpectrumTheory } from './types.js';

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
