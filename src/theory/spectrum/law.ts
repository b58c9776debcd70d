// The law of D² for a spec: probability cells on [0, ∞), exact atoms for piecewise-linear φ, quantile cells
// with exact conditional moments otherwise (docs/spectrum.md §3).
import { type Activation, normCdf, normPdf } from '../../network/index.js';
import { gaussLegendre } from '../quadrature.js';
import type { CellLaw } from './types.js';

export function isPiecewiseLinear(act: Activation): act is Activation & { family: { kind: 'piecewise-linear'; a: number; b: number } } {
  return act.family?.kind === 'piecewise-linear';
}

/** Cells from lists; equal atoms merged, zero-probability cells dropped. */
export function makeLaw(lo: number[], hi: number[], weights: number[]): CellLaw {
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

/** 8-point Gauss–Legendre on [−1, 1] for the conditional moments of a cell (src/theory/quadrature.ts). */
const GL8 = gaussLegendre(8);

/** A uniform cell with the given mean and variance (clamped at 0 from below). */
export function uniformCell(mean: number, variance: number): [number, number] {
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
export function normalCells(f: (z: number) => number, K: number): { lo: number[]; hi: number[]; weights: number[] } {
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
      const z = c + (dz / 2) * GL8.nodes[i];
      const wz = (dz / 2) * GL8.weights[i] * normPdf(z);
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
export function dphiLaw(act: Activation, shift: number, scale: number, K: number): CellLaw {
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
