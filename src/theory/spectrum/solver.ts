// The solver: one complex equation in x per spectral point, by Newton's method with continuation down from
// far above the support, in log form; the density, the support edge and the degenerate atoms.
import { type NetworkSpec, SpecError } from '../../network/index.js';
import { lawMoments } from './law.js';
import { type JacobianTheoryOptions, spectrumMoments, spectrumProblem } from './problem.js';
import type { JacobianSpectrumTheory, SpectrumProblem } from './types.js';

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
  return densityNormalised(
    n,
    lambdas.map((l) => l / n.scale0),
    Y,
  ).map((d) => d / n.scale0);
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
  const solved = solveSpectrum(problem, { points: opts.points });
  // the squared singular values scale as (σ_w² E[D²])^L: past float64 the edge is ±Infinity or 0 and every
  // density, CDF and histogram built on it is meaningless (the CDF's bracketing then never ends)
  if (!(solved.lambdaMax > 0 && Number.isFinite(solved.lambdaMax) && solved.lambdaMax > Number.MIN_VALUE * 1e16)) {
    const lnMean = problem.depth * Math.log(problem.sigmaW2 * problem.mu1) + Math.log(problem.scale);
    throw new SpecError(
      'init.sigmaW2',
      problem.sigmaW2,
      `a value for which the Jacobian's squared singular values stay within float64: their mean (σ_w²·E[D²])^L is e^${lnMean.toFixed(1)} at depth ${problem.depth} and the spectrum's edge ${solved.lambdaMax} (float64 spans e^±709); lower σ_w² or the depth`,
    );
  }
  return { problem, q, ...solved };
}
