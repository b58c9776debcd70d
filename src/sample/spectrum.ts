// Empirical singular values of the input–output Jacobian of sampled networks at initialization,
// against the free-probability prediction of src/theory/spectrum.ts.
//
// Which Jacobian (docs/spectrum.md §5):
// - no BN (order linear-act): J = ∂x_L/∂x_0 = D_L W_L ⋯ D_1 W_1 at one input x_0, D_l = diag φ′(h_l),
//   h_l = W_l x_{l−1} + b_l. The input is drawn i.i.d. N(0,1) and rescaled so that its second moment
//   puts the first pre-activation at the fixed point q* the theory uses ((1/d)‖x_0‖² = (q* − σ_b²)/σ_w²);
//   piecewise-linear φ has a D law independent of q, and the input is left as drawn.
// - BN (order linear-bn-act), batch statistics held fixed: a batch of B i.i.d. N(0,1) inputs is pushed
//   forward with real BN batch statistics; the Jacobian is that of sample 0's output with respect to
//   sample 0's input when every BN mean μ_l and variance v_l is treated as a constant:
//   J = Π_l diag(φ′(z_{l,0}) γ/√(v_l + ε)) W_l, z = γ (h − μ)/√(v + ε) + β.
//   The mean/variance paths of BN's backward pass (which couple the samples) are left out on purpose.
// The forward pass is the sampler's: each layer runs through its kernel in SAMPLE_LAYERS (one by one, no
// fusion), and the Jacobian factor of each kind is read from that kernel's cache (JACOBIAN_LAYERS below);
// the kinds it cannot do say so there, and checkSupported refuses them.
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import {
  activationOf,
  checkSupported,
  drawNetwork,
  gaussianInputs,
  hasBN,
  type LayerKind,
  type LayerOf,
  layersOf,
  type MaybeSupported,
  type NetworkSpec,
  type RngName,
  runRng,
  SpecError,
  specFields,
} from '../network/index.js';
import { record, type SPRecord, summarize } from '../records/index.js';
import {
  type JacobianSpectrumTheory,
  type JacobianTheoryOptions,
  jacobianFixedPointQ,
  jacobianSpectrumTheory,
  type SvCdf,
  singularValueCdf,
} from '../theory/spectrum.js';
import type { ActCache } from './layers/act.js';
import type { BnCache } from './layers/batchnorm.js';
import { actOf, SAMPLE_LAYERS, type SampleLayer, type SampleNet } from './layers/index.js';
import { sampleNet } from './network.js';

export interface JacobianSample {
  seed: number;
  /** The generator the net was drawn with. */
  rng: RngName;
  /** Singular values of J, descending. */
  singularValues: number[];
  /** (1/N) tr JJᵀ and (1/N) tr (JJᵀ)², N = number of singular values. */
  m1: number;
  m2: number;
}

/** One kind's factor of sample 0's Jacobian, statistics held fixed, read from its kernel's cache. */
interface JacobianLayer<K extends LayerKind> extends MaybeSupported {
  /** J (rows × n0) ← this layer's factor · J; returns the product and its rows (may reuse J). */
  apply?(
    net: SampleNet,
    layer: LayerOf<K>,
    cache: any,
    block: number,
    J: Float64Array,
    rows: number,
    n0: number,
  ): { J: Float64Array; rows: number };
}

/** Multiply row k of J (rows × n0) by d(k). */
function scaleRows(J: Float64Array, rows: number, n0: number, d: (k: number) => number): void {
  for (let k = 0; k < rows; k++) {
    const s = d(k);
    for (let c = 0; c < n0; c++) J[k * n0 + c] *= s;
  }
}

export const JACOBIAN_LAYERS = {
  dense: {
    apply(net, _layer, _cache, block, J, rows, n0) {
      const { W, nOut } = net.params[block];
      const out = new Float64Array(nOut * n0);
      net.k.gemm(false, false, nOut, n0, rows, 1, W, rows, J, n0, 0, out, n0);
      return { J: out, rows: nOut };
    },
  },
  batchnorm: {
    apply(_net, layer, cache: BnCache, _block, J, rows, n0) {
      scaleRows(J, rows, n0, (k) => layer.gamma * cache.inv[k]);
      return { J, rows };
    },
  },
  act: {
    apply(_net, layer, cache: ActCache, _block, J, rows, n0) {
      const { dphi } = actOf(layer);
      scaleRows(J, rows, n0, (k) => dphi(cache.v[k])); // row 0 of the input: sample 0
      return { J, rows };
    },
  },
  layernorm: {
    unsupported:
      'its statistics are per sample: its Jacobian couples the units of the sample (not a diagonal factor), and no free-probability law for it is derived here',
  },
  rmsnorm: {
    unsupported:
      'its statistics are per sample: its Jacobian couples the units of the sample (not a diagonal factor), and no free-probability law for it is derived here',
  },
  groupnorm: {
    unsupported: 'its statistics are per sample and group: its Jacobian couples the units of a group, and no law is derived here',
  },
  residual: { unsupported: 'the Jacobian spectrum covers plain (non-residual) nets' },
  conv2d: { unsupported: 'the Jacobian spectrum covers dense nets (no convolution law is derived here)' },
  gap: { unsupported: 'the Jacobian spectrum covers dense nets' },
  flatten: { unsupported: 'the Jacobian spectrum covers dense nets' },
  resblock: { unsupported: 'the Jacobian spectrum covers plain (non-residual) dense nets' },
} satisfies { [K in LayerKind]: JacobianLayer<K> };

function checkSpectrumSpec(spec: NetworkSpec): void {
  checkSupported(spec, JACOBIAN_LAYERS as Record<LayerKind, MaybeSupported>, 'the sampled Jacobian spectrum');
  if (hasBN(spec) && spec.batch === null) throw new SpecError('batch', null, 'an integer batch size for a sampled BN net');
}

/** Second moment q of the first pre-activation the theory assumes (null: any input is fine). */
function inputQ(spec: NetworkSpec, q?: number): number | null {
  if (hasBN(spec)) return null;
  const act = activationOf(spec);
  if (act.family?.kind === 'piecewise-linear') return null;
  return q ?? jacobianFixedPointQ(spec);
}

/**
 * The input–output Jacobian of one sampled net (row-major n_L × n_0) and its singular values.
 * `q` overrides the fixed point the no-BN input is scaled to.
 */
export function sampleJacobian(
  spec: NetworkSpec,
  seed: number,
  opts: { q?: number; rng?: RngName } = {},
): { J: Float64Array; rows: number; cols: number } {
  checkSpectrumSpec(spec);
  const n0 = spec.inputDim;
  const B = hasBN(spec) ? (spec.batch as number) : 1;
  const draw = { rng: runRng(opts.rng) };
  const net = sampleNet(spec, drawNetwork(spec, seed, draw), B, 'typescript');
  // x: B × n (row-major), the batch (B = 1 without BN)
  const x = gaussianInputs(B, n0, seed, 0, 'jacobian', draw);
  const q = inputQ(spec, opts.q);
  if (q !== null) {
    const target = Math.max(0, (q - spec.init.sigmaB2) / spec.init.sigmaW2);
    let ss = 0;
    for (let i = 0; i < n0; i++) ss += x[i] * x[i];
    const c = ss > 0 ? Math.sqrt((target * n0) / ss) : 0;
    for (let i = 0; i < n0; i++) x[i] *= c;
  }
  // J starts as the identity (n0 × n0); each layer multiplies its factor in
  let rows = n0;
  let J: Float64Array = new Float64Array(n0 * n0);
  for (let i = 0; i < n0; i++) J[i * n0 + i] = 1;
  let cur = x;
  let n = n0;
  let block = -1;
  for (const layer of layersOf(spec)) {
    if (layer.kind === 'dense') block++;
    const kernel = SAMPLE_LAYERS[layer.kind] as SampleLayer<any>;
    const r = kernel.forward(net, layer, cur, n, cur !== x, { l: block, stats: null, inGram: null, shape: null });
    ({ J, rows } = (JACOBIAN_LAYERS[layer.kind] as JacobianLayer<any>).apply!(net, layer, r.cache, block, J, rows, n0));
    kernel.release(net, layer, r.cache);
    cur = r.out;
    n = r.n;
  }
  return { J, rows, cols: n0 };
}

/** Singular values (descending) of a row-major matrix, by ml-matrix's SVD (values only). */
export function singularValues(J: Float64Array, rows: number, cols: number): number[] {
  const m = new Matrix(rows, cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) m.set(i, j, J[i * cols + j]);
  // ml-matrix's SVD wants rows ≥ cols for its fast path; the singular values of Jᵀ are the same
  const a = rows >= cols ? m : m.transpose();
  const svd = new SingularValueDecomposition(a, {
    computeLeftSingularVectors: false,
    computeRightSingularVectors: false,
    autoTranspose: true,
  });
  return Array.from(svd.diagonal).sort((p, q) => q - p);
}

/** Singular values and moments of one sampled net's Jacobian (generator opts.rng, default DEFAULT_RNG). */
export function sampleJacobianSpectrum(spec: NetworkSpec, seed: number, opts: { q?: number; rng?: RngName } = {}): JacobianSample {
  const { J, rows, cols } = sampleJacobian(spec, seed, opts);
  const sv = singularValues(J, rows, cols);
  let m1 = 0;
  let m2 = 0;
  for (const s of sv) {
    const l = s * s;
    m1 += l;
    m2 += l * l;
  }
  return { seed, rng: runRng(opts.rng), singularValues: sv, m1: m1 / sv.length, m2: m2 / sv.length };
}

/**
 * Kolmogorov–Smirnov distance sup_σ |F_emp(σ) − F(σ)| between samples and a CDF with point masses
 * (F right-continuous, Fleft its left limit). Ties are grouped, so an atom matched by equal samples
 * costs nothing. Values at or below `zeroTol` count as exact zeros (rounding noise of a singular J), and
 * values within a relative 1e-9 of an atom of the CDF as that atom (e.g. all σ = σ_w^L of a linear
 * orthogonal net).
 */
export function ksDistance(samples: number[], cdf: Pick<SvCdf, 'F' | 'Fleft'> & { atoms?: number[] }, zeroTol = 0): number {
  const atoms = (cdf.atoms ?? []).filter((a) => a > 0);
  const snap = (v: number): number => {
    if (v <= zeroTol) return 0;
    for (const a of atoms) if (Math.abs(v - a) <= 1e-9 * a) return a;
    return v;
  };
  const xs = samples.map(snap).sort((a, b) => a - b);
  const n = xs.length;
  let d = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    while (j < n && xs[j] === xs[i]) j++;
    d = Math.max(d, Math.abs(i / n - cdf.Fleft(xs[i])), Math.abs(j / n - cdf.F(xs[i])));
    i = j;
  }
  return d;
}

export interface JacobianSpectrumOptions {
  /** Number of sampled nets (seeds seed, seed+1, …); default 4. */
  seeds?: number;
  /** First seed (integer ≥ 1); default 1. */
  seed?: number;
  /** The generator of the sampled nets (default DEFAULT_RNG). */
  rng?: RngName;
  /** Theory options (grid points, cells, q). */
  theory?: JacobianTheoryOptions;
  /** The theory already computed with these options (jacobianSpectrumTheory), so it is not computed twice. */
  precomputed?: JacobianSpectrumTheory;
  /** Progress callback, one call per sampled net. */
  onProgress?: (done: number, total: number) => void;
}

export interface JacobianSpectrumResult {
  /** All sampled singular values, pooled over seeds, descending within each seed. */
  singularValues: number[];
  /** Free-probability density of the singular values on a grid. */
  predicted: { sv: number[]; density: number[] };
  moments: {
    m1: number;
    m2: number;
    m1Empirical: number;
    m2Empirical: number;
    /** Standard errors of the empirical means over seeds (0 with one seed). */
    m1StdErr: number;
    m2StdErr: number;
  };
  /** KS distance of each seed's singular values from the predicted CDF, and of the pooled values. */
  ks: { perSeed: number[]; pooled: number };
  samples: JacobianSample[];
  theory: JacobianSpectrumTheory;
}

/** Relative level below which a singular value counts as an exact zero (the J of a ReLU net is rank deficient). */
export const ZERO_SV_REL = 1e-10;

/** Sample K nets, take their Jacobian singular values, and compare with the free-probability law. */
export function jacobianSpectrum(spec: NetworkSpec, opts: JacobianSpectrumOptions = {}): JacobianSpectrumResult {
  const K = opts.seeds ?? 4;
  const seed0 = opts.seed ?? 1;
  if (!Number.isInteger(K) || K < 1) throw new SpecError('seeds', K, 'an integer >= 1');
  if (!Number.isInteger(seed0) || seed0 < 1 || seed0 + K - 1 > 2147483647)
    throw new SpecError('seed', seed0, 'an integer from 1 to 2147483647 (minus the number of seeds)');
  checkSpectrumSpec(spec);
  const rng = runRng(opts.rng);
  const theory = opts.precomputed ?? jacobianSpectrumTheory(spec, opts.theory);
  const samples: JacobianSample[] = [];
  for (let i = 0; i < K; i++) {
    samples.push(sampleJacobianSpectrum(spec, seed0 + i, { q: opts.theory?.q ?? theory.q ?? undefined, rng }));
    opts.onProgress?.(i + 1, K);
  }
  const cdf = singularValueCdf(theory);
  const zeroTol = ZERO_SV_REL * Math.sqrt(theory.lambdaMax);
  const perSeed = samples.map((s) => ksDistance(s.singularValues, cdf, zeroTol));
  const pooledSv = samples.flatMap((s) => s.singularValues);
  const pooled = ksDistance(pooledSv, cdf, zeroTol);
  const s1 = summarize(samples.map((s) => s.m1));
  const s2 = summarize(samples.map((s) => s.m2));
  return {
    singularValues: pooledSv,
    predicted: { sv: theory.sv, density: theory.densitySv },
    moments: {
      m1: theory.m1,
      m2: theory.m2,
      m1Empirical: s1.mean,
      m2Empirical: s2.mean,
      m1StdErr: s1.sd / Math.sqrt(K),
      m2StdErr: s2.sd / Math.sqrt(K),
    },
    ks: { perSeed, pooled },
    samples,
    theory,
  };
}

/**
 * Tidy records of a spectrum result: `jac_sv` (sampled; one per singular value, tags {index}),
 * `jac_m1`/`jac_m2` (sampled per seed, and theory), `jac_ks` (sampled per seed), `jac_density`
 * (theory; one per grid point, value = density of σ, tags {sv}), `jac_zero_mass` and `jac_atom`
 * (theory point masses, tags {sv}).
 */
export function spectrumRecords(spec: NetworkSpec, r: JacobianSpectrumResult): SPRecord[] {
  const f = specFields(spec);
  const out: SPRecord[] = [];
  r.samples.forEach((s, k) => {
    s.singularValues.forEach((v, i) => {
      out.push(record(f, 'sampled', 'jac_sv', null, v, { seed: s.seed, rng: s.rng, tags: { index: i } }));
    });
    out.push(record(f, 'sampled', 'jac_m1', null, s.m1, { seed: s.seed, rng: s.rng }));
    out.push(record(f, 'sampled', 'jac_m2', null, s.m2, { seed: s.seed, rng: s.rng }));
    out.push(record(f, 'sampled', 'jac_ks', null, r.ks.perSeed[k], { seed: s.seed, rng: s.rng }));
  });
  out.push(record(f, 'theory', 'jac_m1', null, r.theory.m1));
  out.push(record(f, 'theory', 'jac_m2', null, r.theory.m2));
  out.push(record(f, 'theory', 'jac_zero_mass', null, r.theory.zeroMass, { tags: { sv: 0 } }));
  for (const a of r.theory.atoms) out.push(record(f, 'theory', 'jac_atom', null, a.mass, { tags: { sv: Math.sqrt(a.lambda) } }));
  r.theory.sv.forEach((s, i) => {
    out.push(record(f, 'theory', 'jac_density', null, r.theory.densitySv[i], { tags: { sv: s } }));
  });
  return out;
}
