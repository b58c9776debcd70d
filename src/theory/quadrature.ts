// Gaussian quadrature in float64: Gauss rules from three-term recurrences (Golub–Welsch eigenvalues,
// Newton-polished, Christoffel weights), Gauss–Hermite expectations in one and two correlated
// dimensions, and a kink-aware composite rule for activations that are not smooth.
// Every rule here is normalised as a probability measure (weights sum to 1) unless stated.

/** A quadrature rule: nodes and weights. */
export interface Rule {
  nodes: Float64Array;
  weights: Float64Array;
}

/**
 * Eigenvalues of the symmetric tridiagonal matrix with diagonal d and off-diagonal e (e[i] couples
 * i and i+1; e has length n, e[n-1] ignored), by the implicit QL method with Wilkinson-type shifts.
 * d and e are overwritten; the eigenvalues are returned sorted ascending.
 */
function tridiagonalEigenvalues(d: Float64Array, e: Float64Array): Float64Array {
  const n = d.length;
  e[n - 1] = 0;
  for (let l = 0; l < n; l++) {
    let iter = 0;
    for (;;) {
      let m = l;
      for (; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= Number.EPSILON * dd) break;
      }
      if (m === l) break;
      if (++iter > 60) throw new Error('quadrature: tridiagonal QL did not converge');
      let g = (d[l + 1] - d[l]) / (2 * e[l]);
      let r = Math.hypot(g, 1);
      g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let p = 0;
      let i = m - 1;
      let underflow = false;
      for (; i >= l; i--) {
        const f = s * e[i];
        const b = c * e[i];
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          d[i + 1] -= p;
          e[m] = 0;
          underflow = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
      }
      if (underflow) continue;
      d[l] -= p;
      e[l] = g;
      e[m] = 0;
    }
  }
  return d.slice().sort();
}

/**
 * Gauss rule for the probability measure whose monic-orthonormal recurrence is
 * b[k+1] p_{k+1}(x) = (x − a[k]) p_k(x) − b[k] p_{k−1}(x), p_0 = 1 (b[0] unused).
 * a and b need n and n+1 entries. Nodes: eigenvalues of the Jacobi matrix (Golub & Welsch 1969),
 * polished by Newton on p_n; weights: Christoffel numbers 1 / Σ_{k<n} p_k(x)².
 */
export function gaussFromRecurrence(a: ArrayLike<number>, b: ArrayLike<number>, n: number): Rule {
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    d[k] = a[k];
    e[k] = k + 1 < n ? b[k + 1] : 0;
  }
  const nodes = tridiagonalEigenvalues(d, e);
  const weights = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let x = nodes[i];
    for (let it = 0; it < 3; it++) {
      let p0 = 0;
      let p1 = 1;
      let dp0 = 0;
      let dp1 = 0;
      for (let k = 0; k < n; k++) {
        const p2 = ((x - a[k]) * p1 - (k > 0 ? b[k] * p0 : 0)) / b[k + 1];
        const dp2 = (p1 + (x - a[k]) * dp1 - (k > 0 ? b[k] * dp0 : 0)) / b[k + 1];
        p0 = p1;
        p1 = p2;
        dp0 = dp1;
        dp1 = dp2;
      }
      if (dp1 === 0 || !Number.isFinite(p1 / dp1)) break;
      const step = p1 / dp1;
      x -= step;
      if (Math.abs(step) <= 4 * Number.EPSILON * Math.max(1, Math.abs(x))) break;
    }
    nodes[i] = x;
    let s = 0;
    let p0 = 0;
    let p1 = 1;
    for (let k = 0; k < n; k++) {
      s += p1 * p1;
      const p2 = ((x - a[k]) * p1 - (k > 0 ? b[k] * p0 : 0)) / b[k + 1];
      p0 = p1;
      p1 = p2;
    }
    weights[i] = 1 / s;
  }
  // Normalise (the Christoffel numbers already sum to 1 up to rounding).
  let tot = 0;
  for (let i = 0; i < n; i++) tot += weights[i];
  for (let i = 0; i < n; i++) weights[i] /= tot;
  return { nodes, weights };
}

const MAX_CACHE = 20000;
function cached<K>(cache: Map<K, Rule>, key: K, make: () => Rule): Rule {
  let r = cache.get(key);
  if (!r) {
    if (cache.size >= MAX_CACHE) cache.clear();
    r = make();
    cache.set(key, r);
  }
  return r;
}

function checkN(n: number, max: number, what: string): void {
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new RangeError(`${what}: n = ${n} is not allowed; expected an integer from 1 to ${max}`);
}

const hermiteCache = new Map<number, Rule>();
/**
 * Gauss–Hermite rule, **probabilists'** convention: E f(z), z ~ N(0, 1), ≈ Σ_i w_i f(x_i) with
 * Σ w_i = 1 (weight e^{−x²/2}/√(2π)). Exact for polynomials of degree < 2n. Physicists' nodes are
 * x/√2. Cached per n (n ≤ 300).
 */
export function gaussHermite(n: number): { nodes: Float64Array; weights: Float64Array } {
  checkN(n, 300, 'gaussHermite');
  return cached(hermiteCache, n, () => {
    const a = new Float64Array(n + 1);
    const b = new Float64Array(n + 1);
    for (let k = 1; k <= n; k++) b[k] = Math.sqrt(k);
    b[0] = 1;
    return gaussFromRecurrence(a, b, n);
  });
}

const legendreCache = new Map<number, Rule>();
/** Gauss–Legendre rule on [−1, 1], weights summing to 2 (the length of the interval). Cached. */
export function gaussLegendre(n: number): Rule {
  checkN(n, 1000, 'gaussLegendre');
  return cached(legendreCache, n, () => {
    const a = new Float64Array(n + 1);
    const b = new Float64Array(n + 1);
    b[0] = 1;
    for (let k = 1; k <= n; k++) b[k] = k / Math.sqrt(4 * k * k - 1);
    const r = gaussFromRecurrence(a, b, n);
    for (let i = 0; i < n; i++) r.weights[i] *= 2;
    return r;
  });
}

const gegenbauerCache = new Map<string, Rule>();
/**
 * Gauss rule for the probability density ∝ (1 − t²)^alpha on [−1, 1] (symmetric Jacobi /
 * Gegenbauer weight), alpha ≥ −1/2. Recurrence: b_k² = k(k+2α)/((2k+2α+1)(2k+2α−1)), with the
 * Chebyshev special case b_1² = 1/2 at α = −1/2. Cached per (alpha, n).
 */
export function gaussGegenbauer(alpha: number, n: number): Rule {
  checkN(n, 1000, 'gaussGegenbauer');
  if (!(alpha >= -0.5)) throw new RangeError(`gaussGegenbauer: alpha = ${alpha} is not allowed; expected >= -0.5`);
  return cached(gegenbauerCache, `${alpha}|${n}`, () => {
    const a = new Float64Array(n + 1);
    const b = new Float64Array(n + 1);
    b[0] = 1;
    for (let k = 1; k <= n; k++) {
      const den = (2 * k + 2 * alpha + 1) * (2 * k + 2 * alpha - 1);
      b[k] = den === 0 ? Math.SQRT1_2 : Math.sqrt((k * (k + 2 * alpha)) / den);
    }
    return gaussFromRecurrence(a, b, n);
  });
}

/** Default number of Gauss–Hermite nodes for gaussExpect. */
export const DEFAULT_HERMITE_N = 100;
/** Default number of nodes per dimension for gaussExpect2. */
export const DEFAULT_HERMITE_N2 = 40;

/**
 * E f(x), x ~ N(mean, variance), by n-point Gauss–Hermite quadrature. Spectrally accurate for smooth f;
 * for f with kinks or jumps use gaussExpectSplit, which cuts the line at the kinks.
 */
export function gaussExpect(f: (z: number) => number, mean = 0, variance = 1, n: number = DEFAULT_HERMITE_N): number {
  if (!(variance >= 0)) throw new RangeError(`gaussExpect: variance = ${variance} is not allowed; expected >= 0`);
  const { nodes, weights } = gaussHermite(n);
  const s = Math.sqrt(variance);
  let acc = 0;
  for (let i = 0; i < nodes.length; i++) acc += weights[i] * f(mean + s * nodes[i]);
  return acc;
}

/**
 * E f(u1, u2) for a centred Gaussian pair with Var u1 = q1, Var u2 = q2 and correlation c, by a tensor
 * Gauss–Hermite rule with n nodes per dimension: u1 = √q1 z1, u2 = √q2 (c z1 + √(1−c²) z2).
 */
export function gaussExpect2(
  f: (u1: number, u2: number) => number,
  q1: number,
  q2: number,
  c: number,
  n: number = DEFAULT_HERMITE_N2,
): number {
  if (!(q1 >= 0 && q2 >= 0)) throw new RangeError(`gaussExpect2: variances (${q1}, ${q2}) are not allowed; expected >= 0`);
  if (!(c >= -1 && c <= 1)) throw new RangeError(`gaussExpect2: correlation ${c} is not allowed; expected a number in [-1, 1]`);
  const { nodes, weights } = gaussHermite(n);
  const s1 = Math.sqrt(q1);
  const s2 = Math.sqrt(q2);
  const sc = Math.sqrt(Math.max(0, 1 - c * c));
  let acc = 0;
  for (let i = 0; i < nodes.length; i++) {
    const u1 = s1 * nodes[i];
    const base = s2 * c * nodes[i];
    let inner = 0;
    for (let j = 0; j < nodes.length; j++) inner += weights[j] * f(u1, base + s2 * sc * nodes[j]);
    acc += weights[i] * inner;
  }
  return acc;
}

// ---------- kink-aware composite rule for N(0,1) ----------

/** Panel edges (in standard deviations) of the composite normal rule; the tails past ±12 weigh < 4e-33. */
const NORMAL_EDGES = [-12, -9.5, -7.5, -6, -4.75, -3.75, -3, -2.3, -1.6, -0.9, -0.3, 0.3, 0.9, 1.6, 2.3, 3, 3.75, 4.75, 6, 7.5, 9.5, 12];
const INV_SQRT_2PI = 0.3989422804014327;

function compositeNormal(kinks: number[], m: number): Rule {
  const edges = NORMAL_EDGES.slice();
  for (const k of kinks) if (k > edges[0] && k < edges[edges.length - 1]) edges.push(k);
  edges.sort((x, y) => x - y);
  const gl = gaussLegendre(m);
  const nodes: number[] = [];
  const weights: number[] = [];
  for (let p = 0; p + 1 < edges.length; p++) {
    const lo = edges[p];
    const hi = edges[p + 1];
    if (hi - lo <= 1e-14) continue;
    const h = (hi - lo) / 2;
    const mid = (hi + lo) / 2;
    for (let i = 0; i < m; i++) {
      const t = mid + h * gl.nodes[i];
      nodes.push(t);
      weights.push(h * gl.weights[i] * INV_SQRT_2PI * Math.exp(-0.5 * t * t));
    }
  }
  return { nodes: Float64Array.from(nodes), weights: Float64Array.from(weights) };
}

const plainNormal = new Map<number, Rule>();
/**
 * Composite Gauss–Legendre rule for z ~ N(0, 1) on [−12, 12], cut at the given standardised kinks
 * (points where the integrand is not smooth), m nodes per panel. Weights include the density.
 */
export function normalRule(kinksStd: readonly number[] = [], m = 12): Rule {
  if (kinksStd.length === 0) return cached(plainNormal, m, () => compositeNormal([], m));
  return compositeNormal(kinksStd.slice(), m);
}

/**
 * E f(x), x ~ N(mean, variance), for f smooth except at the given kinks (x values): a composite
 * Gauss–Legendre rule cut at every kink, accurate to ~1e-14 for piecewise-analytic f of moderate growth.
 */
export function gaussExpectSplit(f: (x: number) => number, mean = 0, variance = 1, kinks: readonly number[] = [], m = 12): number {
  if (!(variance >= 0)) throw new RangeError(`gaussExpectSplit: variance = ${variance} is not allowed; expected >= 0`);
  if (variance === 0) return f(mean);
  const s = Math.sqrt(variance);
  const { nodes, weights } = normalRule(
    kinks.map((k) => (k - mean) / s),
    m,
  );
  let acc = 0;
  for (let i = 0; i < nodes.length; i++) acc += weights[i] * f(mean + s * nodes[i]);
  return acc;
}

/**
 * E f(u1, u2) for a centred Gaussian pair (Var q1, q2, correlation c), with f smooth except where u1 or u2
 * equals one of the kinks: nested composite rules, the inner one conditional on u1 and cut at its kinks.
 */
export function gaussExpect2Split(
  f: (u1: number, u2: number) => number,
  q1: number,
  q2: number,
  c: number,
  kinks: readonly number[] = [],
  m = 8,
): number {
  if (!(q1 >= 0 && q2 >= 0)) throw new RangeError(`gaussExpect2Split: variances (${q1}, ${q2}) are not allowed; expected >= 0`);
  if (!(c >= -1 && c <= 1)) throw new RangeError(`gaussExpect2Split: correlation ${c} is not allowed; expected a number in [-1, 1]`);
  const s1 = Math.sqrt(q1);
  const s2 = Math.sqrt(q2);
  const sc = s2 * Math.sqrt(Math.max(0, 1 - c * c));
  const outer =
    s1 > 0
      ? normalRule(
          kinks.map((k) => k / s1),
          m,
        )
      : { nodes: Float64Array.of(0), weights: Float64Array.of(1) };
  let acc = 0;
  for (let i = 0; i < outer.nodes.length; i++) {
    const z1 = outer.nodes[i];
    const u1 = s1 * z1;
    const m2 = s2 * c * z1;
    let inner = 0;
    if (sc === 0) inner = f(u1, m2);
    else {
      const r = normalRule(kinks.length ? kinks.map((k) => (k - m2) / sc) : [], m);
      for (let j = 0; j < r.nodes.length; j++) inner += r.weights[j] * f(u1, m2 + sc * r.nodes[j]);
    }
    acc += outer.weights[i] * inner;
  }
  return acc;
}
