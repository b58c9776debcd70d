// The types of the Jacobian-spectrum theory: the cell law of D², the free-probability problem of one net,
// its moments and the solved spectrum (docs/spectrum.md).

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
