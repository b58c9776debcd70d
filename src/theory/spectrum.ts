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
//
// The code lives in ./spectrum/: types.ts, law.ts (the law of D²), problem.ts (q*, the problem, moments),
// solver.ts (density, support, atoms) and cdf.ts (CDF and moments by quadrature), over ./quadrature.ts.
export type { CellLaw, JacobianSpectrumTheory, SpectrumMoments, SpectrumProblem, WeightKind } from './spectrum/types.js';
export { lawMoments } from './spectrum/law.js';
export { type JacobianTheoryOptions, jacobianFixedPointQ, jacobianMoments, spectrumMoments, spectrumProblem } from './spectrum/problem.js';
export { eigenDensity, jacobianSpectrumTheory, solveSpectrum } from './spectrum/solver.js';
export { densityMoments, singularValueCdf, type SvCdf } from './spectrum/cdf.js';
