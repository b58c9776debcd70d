// Batch Gram dynamics: the infinite-width forward map of the B×B Gram matrix of a BatchNorm net, iterated
// by Monte Carlo from the actual input Gram, and the gradient-independence (GIA) backward rate at the
// Gram of every layer. Where the BSB1 fixed point of Yang et al. (2019) is unstable (SiLU, GELU at large
// B) the Gram leaves it and the rate is that of the state it flows to, not λ(B). Algorithm, derivations
// and the Monte Carlo error: docs/drafts/gramDynamics.md. Pure float64, no Node APIs.
import { deriveSeed, gaussianInputs, SpecError } from '../network/index.js';
import { gemmABt, pivotedCholesky } from './denseLinalg.js';
import { type ActivationLike, toActivation } from './moments.js';

// ---------------------------------------------------------------------------------------------------
// Diagnostics of one Gram matrix
// ---------------------------------------------------------------------------------------------------

export interface GramDiagnostics {
  /** Mean off-diagonal cosine G_ij/√(G_ii G_jj) of the uncentred Gram (the sampler's `corr`). */
  corr: number;
  /** Mean diagonal (1/B) Σ_i G_ii (the mean-field q). */
  q: number;
  /** sd/mean of the centred per-sample norms n_i = √C_ii, C = 𝒢G𝒢, 𝒢 = I − 11ᵀ/B (sd over the B samples, 1/B). */
  normSpread: number;
  /** Number of samples with n_i above the mean of the n_i (the "active" samples of a two-block state). */
  large: number;
  /**
   * Number of distinct samples: clusters of samples whose centred vectors have cosine C_ij/(n_i n_j) >
   * 1 − cosineTol (greedy, each sample joins the first cluster representative it matches); samples with
   * n_i ≤ 1e-9·max n form one more cluster (they sit at the batch mean). BSB1: B.
   */
  distinct: number;
  /** Effective rank (tr C)²/‖C‖_F² of the centred Gram (participation ratio of its eigenvalues). BSB1: B − 1. */
  effRank: number;
  /** ‖Δ_L‖_F/‖a𝒢‖_F: the L component (𝒢 diag(u) 𝒢, u ⟂ 1) of Δ = C − a𝒢, a = tr C/(B−1). */
  devL: number;
  /** ‖Δ_M‖_F/‖a𝒢‖_F: the M component of Δ (zero diagonal, zero row sums). */
  devM: number;
}

export interface GramDiagnosticsOptions {
  /** Cosine tolerance for `distinct` (default 1e-6). */
  cosineTol?: number;
}

/** Row means r_i of a B×B matrix and their mean t, for the centring 𝒢S𝒢 = S_ij − r_i − r_j + t. */
function rowMeans(S: Float64Array, B: number): { r: Float64Array; t: number } {
  const r = new Float64Array(B);
  let t = 0;
  for (let i = 0; i < B; i++) {
    let s = 0;
    for (let j = 0; j < B; j++) s += S[i * B + j];
    r[i] = s / B;
    t += r[i];
  }
  return { r, t: t / B };
}

/**
 * Diagnostics of a B×B Gram matrix (row-major, symmetric), for theory and sampled nets alike. O(B²).
 * The centred Gram C = 𝒢G𝒢 splits under the permutations of the batch into three orthogonal parts
 * (Yang et al. 2019; docs/derivations.md §1): the trivial part a𝒢 (BSB1; what `corr` sees), the L part
 * 𝒢 diag(u) 𝒢 with u ⟂ 1 (per-sample centred norms) and the M part (zero diagonal and row sums). With
 * c_i = C_ii: a = Σc/(B−1), u_i = (c_i − c̄)/(1 − 2/B), ‖Δ_L‖²_F = (1 − 2/B)Σu², and Δ_M = Δ − Δ_L entrywise.
 */
export function gramDiagnostics(G: Float64Array, B: number, opts: GramDiagnosticsOptions = {}): GramDiagnostics {
  if (!(Number.isInteger(B) && B >= 4)) throw new RangeError(`gramDiagnostics: B = ${B}; expected an integer ≥ 4`);
  if (G.length < B * B) throw new RangeError(`gramDiagnostics: G has ${G.length} entries; expected B² = ${B * B}`);
  const cosTol = opts.cosineTol ?? 1e-6;
  // corr, q
  let cs = 0;
  let cc = 0;
  let q = 0;
  for (let i = 0; i < B; i++) {
    const gi = G[i * B + i];
    q += gi;
    if (!(gi > 0)) continue;
    for (let j = i + 1; j < B; j++) {
      const gj = G[j * B + j];
      if (!(gj > 0)) continue;
      cs += G[i * B + j] / Math.sqrt(gi * gj);
      cc++;
    }
  }
  const corr = cc > 0 ? cs / cc : Number.NaN;
  q /= B;
  // centring: C_ij = G_ij − r_i − r_j + t
  const { r, t } = rowMeans(G, B);
  const c = new Float64Array(B);
  let trC = 0;
  let frob2 = 0;
  for (let i = 0; i < B; i++) {
    for (let j = 0; j < B; j++) {
      const v = G[i * B + j] - r[i] - r[j] + t;
      frob2 += v * v;
      if (i === j) c[i] = v;
    }
    trC += c[i];
  }
  const nrm = new Float64Array(B);
  let nMean = 0;
  let nMax = 0;
  for (let i = 0; i < B; i++) {
    nrm[i] = Math.sqrt(Math.max(0, c[i]));
    nMean += nrm[i];
    nMax = Math.max(nMax, nrm[i]);
  }
  nMean /= B;
  let nVar = 0;
  let large = 0;
  for (let i = 0; i < B; i++) {
    nVar += (nrm[i] - nMean) ** 2;
    if (nrm[i] > nMean) large++;
  }
  const normSpread = nMean > 0 ? Math.sqrt(nVar / B) / nMean : Number.NaN;
  const effRank = frob2 > 0 ? (trC * trC) / frob2 : Number.NaN;
  // L and M components
  const a = trC / (B - 1);
  const cbar = trC / B;
  const f = 1 - 2 / B;
  const u = new Float64Array(B);
  let sumU2 = 0;
  for (let i = 0; i < B; i++) {
    u[i] = (c[i] - cbar) / f;
    sumU2 += u[i] * u[i];
  }
  let m2 = 0;
  for (let i = 0; i < B; i++) {
    for (let j = 0; j < B; j++) {
      const cij = G[i * B + j] - r[i] - r[j] + t;
      const triv = a * ((i === j ? 1 : 0) - 1 / B);
      const lij = (i === j ? u[i] : 0) - (u[i] + u[j]) / B;
      const mij = i === j ? 0 : cij - triv - lij; // the diagonal of Δ_M is 0 exactly (see above)
      m2 += mij * mij;
    }
  }
  const scale = a * Math.sqrt(B - 1);
  const devL = scale > 0 ? Math.sqrt(f * sumU2) / scale : Number.NaN;
  const devM = scale > 0 ? Math.sqrt(m2) / scale : Number.NaN;
  // distinct samples
  const reps: number[] = [];
  let zeroCluster = 0;
  const zeroTol = 1e-9 * nMax;
  for (let i = 0; i < B; i++) {
    if (!(nrm[i] > zeroTol)) {
      zeroCluster = 1;
      continue;
    }
    let found = false;
    for (const j of reps) {
      const cij = G[i * B + j] - r[i] - r[j] + t;
      if (cij / (nrm[i] * nrm[j]) > 1 - cosTol) {
        found = true;
        break;
      }
    }
    if (!found) reps.push(i);
  }
  const distinct = nMax > 0 ? reps.length + zeroCluster : 1;
  return { corr, q, normSpread, large, distinct, effRank, devL, devM };
}

// ---------------------------------------------------------------------------------------------------
// The dynamics
// ---------------------------------------------------------------------------------------------------

export type GramOrder = 'linear-bn-act' | 'linear-act-bn';

/** The part of a NetworkSpec the Gram dynamics read (a NetworkSpec is one). */
export interface GramDynamicsInput {
  order: string;
  activation: ActivationLike;
  batch: number | null;
  depth: number;
  init: { sigmaW2: number; sigmaB2: number };
  bn: { gamma: number; beta: number; eps: number };
  /** Input dimension of the default Gaussian inputs (default 512). */
  inputDim?: number;
}

export interface GramProgress {
  replica: number;
  layer: number;
  layers: number;
  /** The Gram of block `layer`'s output (a view; copy it to keep it). */
  gram: Float64Array;
  diagnostics: GramDiagnostics;
  /** This replica's rate at this layer (NaN where not computed). */
  rate: number;
}

export interface GramDynamicsOptions {
  /** Monte Carlo samples (units) per layer for the forward map (default 1024). */
  samples?: number;
  /** Ensemble size and fresh samples per backward step (default = samples). */
  backwardSamples?: number;
  /** Counted backward steps per rate layer (default 1). */
  backwardSteps?: number;
  /** Uncounted steps at the first rate layer, from a random start (default 12). */
  burnIn?: number;
  /** Uncounted steps at every later rate layer (default 0 when rateEvery = 1, else 1). */
  warmup?: number;
  /** Compute the rate at every k-th layer (default 1); the others report NaN. */
  rateEvery?: number;
  /** Independent replicas (default 4): different seeds, the same input Gram. */
  replicas?: number;
  /** Base seed (default 1); replica r draws from fastNormals(seed, 'gram', r, layer, …). */
  seed?: number;
  /** Layers to iterate (default input.depth). */
  layers?: number;
  /** The input Gram (B×B, per input coordinate: X Xᵀ/inputDim); default that of gaussianInputs. */
  inputGram?: Float64Array;
  /** Seed and correlation ρ of the default inputs gaussianInputs(B, inputDim, inputSeed, ρ) (defaults seed, 0). */
  inputSeed?: number;
  inputCorr?: number;
  /** Orthogonal mixing stages of the backward ensemble per step (default 2). */
  mixStages?: number;
  /** Relative pivot tolerance of the Cholesky factor (default 1e-12). */
  choleskyTol?: number;
  /** Tolerances of "settled" (see settleWindow): absolute on corr and effRank/B, relative on normSpread (defaults 0.03, 0.03, 0.1). */
  settleTol?: { corr?: number; effRank?: number; normSpread?: number };
  /** Cosine tolerance for `distinct` (default 1e-6). */
  cosineTol?: number;
  /** Called after every layer of every replica. */
  progress?: (p: GramProgress) => void;
}

export interface GramLayer extends GramDiagnostics {
  /** 0 is the input Gram; l ≥ 1 the output of block l. */
  layer: number;
  /** Mean over replicas of the GIA rate ‖∂L/∂h_l‖²/‖∂L/∂h_{l+1}‖² at block l (top eigenvalue of T_l); NaN where not computed. */
  rate: number;
  /** Standard error of `rate` over the replicas (NaN with one replica). */
  rateSE: number;
  /** Standard errors over the replicas of the diagnostics. */
  se: GramDiagnostics;
}

export interface GramAttractor {
  /** 'broken' when the settled normSpread exceeds 0.5 or the settled distinct count is below B/2, else 'bsb1'. */
  state: 'bsb1' | 'broken';
  /** Whether the diagnostics settled (see settleWindow). */
  settled: boolean;
  /** First and last layer of the window averaged. */
  from: number;
  to: number;
  /** Mean over replicas of each replica's mean rate over the window, and its standard error. */
  rate: number;
  rateSE: number;
  /** Replica-mean diagnostics averaged over the window. */
  diagnostics: GramDiagnostics;
}

export interface GramDynamicsResult {
  order: GramOrder;
  batch: number;
  samples: number;
  backwardSamples: number;
  replicas: number;
  layers: GramLayer[];
  attractor: GramAttractor;
  /** Per replica: the rate at each layer (index = layer, NaN where not computed) and the last Gram. */
  perReplica: { rate: Float64Array; finalGram: Float64Array }[];
}

const DIAG_KEYS: (keyof GramDiagnostics)[] = ['corr', 'q', 'normSpread', 'large', 'distinct', 'effRank', 'devL', 'devM'];

function checkInput(input: GramDynamicsInput): { order: GramOrder; B: number } {
  if (input.order !== 'linear-bn-act' && input.order !== 'linear-act-bn') {
    throw new SpecError('order', input.order, "'linear-bn-act' or 'linear-act-bn' (the Gram dynamics of a BatchNorm block)");
  }
  const B = input.batch;
  if (B === null || !(Number.isInteger(B) && B >= 4)) {
    throw new SpecError('batch', B, 'an integer ≥ 4 (the Gram dynamics are at a finite batch; the GIA rate needs E[1/χ²_(B−1)] finite)');
  }
  if (!(input.init.sigmaW2 > 0)) throw new SpecError('init.sigmaW2', input.init.sigmaW2, 'a finite number > 0');
  if (!(input.init.sigmaB2 >= 0)) throw new SpecError('init.sigmaB2', input.init.sigmaB2, 'a finite number >= 0');
  if (!(input.bn.eps >= 0)) throw new SpecError('bn.eps', input.bn.eps, 'a finite number >= 0');
  return { order: input.order, B };
}

function posInt(v: number | undefined, def: number, field: string): number {
  const x = v ?? def;
  if (!(Number.isInteger(x) && x >= 1)) throw new SpecError(field, x, 'an integer ≥ 1');
  return x;
}

/**
 * The Gram X Xᵀ/d of Gaussian inputs gaussianInputs(B, d, seed, ρ) drawn with MT19937: the theory's own
 * Monte Carlo input, an independent draw of the same law as a run's inputs (which are Philox by default),
 * kept on the generator it was written with so that predict's numbers do not move.
 */
export function gaussianInputGram(B: number, d: number, seed: number, rho = 0): Float64Array {
  const X = gaussianInputs(B, d, seed, rho, 'x', { rng: 'mt19937' });
  const G = new Float64Array(B * B);
  gemmABt(B, B, d, 1 / d, X, d, X, d, G, B, { sym: true });
  return G;
}

/** A stream of uniform 32-bit integers: xoshiro128** (Blackman & Vigna 2018), state from splitmix32 of the seed. */
function xoshiro128(seed: number): () => number {
  let x = seed | 0;
  const mix = (): number => {
    x = (x + 0x9e3779b9) | 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) | 0;
  };
  let a = mix();
  let b = mix();
  let c = mix();
  let d = mix();
  if ((a | b | c | d) === 0) a = 1;
  return () => {
    const m = Math.imul(b, 5);
    const r = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = (d << 11) | (d >>> 21);
    return r;
  };
}

/** Fills arrays with standard normals (Marsaglia's polar method on xoshiro128**). */
export type NormalFill = (out: Float64Array, n: number) => void;

/**
 * A seeded normal stream for the Monte Carlo, keyed like normalStream: (seed, ...labels) → deriveSeed. It is
 * about 3× faster than the stdlib ziggurat that normalStream wraps, which matters at B·M normals per layer.
 */
export function fastNormals(seed: number, ...labels: (string | number)[]): NormalFill {
  const next = xoshiro128(deriveSeed(seed, ...labels));
  const k = 2 / 4294967296;
  return (out, n) => {
    let i = 0;
    while (i < n) {
      const u = next() * k - 1;
      const v = next() * k - 1;
      const s = u * u + v * v;
      if (s >= 1 || s === 0) continue;
      const f = Math.sqrt((-2 * Math.log(s)) / s);
      out[i++] = u * f;
      if (i < n) out[i++] = v * f;
    }
  };
}

/** Seeded uniforms in [0, 1) on the same generator. */
function fastUniform(seed: number, ...labels: (string | number)[]): () => number {
  const next = xoshiro128(deriveSeed(seed, ...labels));
  return () => next() / 4294967296;
}

/**
 * One replica's machinery: buffers and the two steps (forward map, backward step) at a given Gram.
 * Layout: B×M row-major (row i = batch sample i, column s = unit / Monte Carlo sample s).
 */
class Replica {
  readonly B: number;
  readonly M: number;
  readonly K: number;
  private readonly phi: (x: number) => number;
  private readonly dphi: (x: number) => number;
  private readonly H: Float64Array;
  private readonly Hp: Float64Array;
  private readonly Z: Float64Array;
  private readonly mu: Float64Array;
  private readonly inv: Float64Array;
  private readonly acc1: Float64Array;
  private readonly acc2: Float64Array;
  readonly ens: Float64Array;
  private ensReady = false;
  private readonly cosT: Float64Array;
  private readonly sinT: Float64Array;

  constructor(
    private readonly input: GramDynamicsInput,
    private readonly order: GramOrder,
    B: number,
    M: number,
    K: number,
    private readonly mixStages: number,
  ) {
    this.B = B;
    this.M = M;
    this.K = K;
    const act = toActivation(input.activation);
    this.phi = act.phi;
    this.dphi = act.dphi;
    const W = Math.max(M, K);
    this.H = new Float64Array(B * W);
    this.Hp = new Float64Array(B * W);
    this.Z = new Float64Array(W * B);
    this.mu = new Float64Array(W);
    this.inv = new Float64Array(W);
    this.acc1 = new Float64Array(W);
    this.acc2 = new Float64Array(W);
    this.ens = new Float64Array(B * K);
    this.cosT = new Float64Array(K >> 1);
    this.sinT = new Float64Array(K >> 1);
  }

  /** The covariance of the pre-activations h of a unit, σ_w²Σ + σ_b²11ᵀ (centred for BN-before-φ, which ignores constants). */
  preCov(S: Float64Array): Float64Array {
    const { B } = this;
    const sw = this.input.init.sigmaW2;
    const out = new Float64Array(B * B);
    if (this.order === 'linear-bn-act') {
      const { r, t } = rowMeans(S, B);
      for (let i = 0; i < B; i++) for (let j = 0; j < B; j++) out[i * B + j] = sw * (S[i * B + j] - r[i] - r[j] + t);
    } else {
      const sb = this.input.init.sigmaB2;
      for (let k = 0; k < B * B; k++) out[k] = sw * S[k] + sb;
    }
    return out;
  }

  /** Fill H (B×n) with n independent draws of h ~ N(0, S) from the factor. */
  private draw(fac: ReturnType<typeof pivotedCholesky>, n: number, rng: NormalFill): void {
    const { B, Z, Hp, H } = this;
    const r = fac.rank;
    if (r === 0) {
      H.fill(0, 0, B * n);
      return;
    }
    rng(Z, n * r);
    gemmABt(B, n, r, 1, fac.L, r, Z, r, Hp, n, { rowK: fac.rowK });
    for (let i = 0; i < B; i++) {
      const dst = fac.perm[i] * n;
      H.set(Hp.subarray(i * n, i * n + n), dst);
    }
  }

  /** Batch mean and 1/√(v+ε) of every column of A (B×n); v is the biased batch variance, as BN's. */
  private colStats(A: Float64Array, n: number): void {
    const { B, mu, inv } = this;
    const eps = this.input.bn.eps;
    mu.fill(0, 0, n);
    inv.fill(0, 0, n);
    for (let i = 0; i < B; i++) {
      const o = i * n;
      for (let s = 0; s < n; s++) mu[s] += A[o + s];
    }
    for (let s = 0; s < n; s++) mu[s] /= B;
    for (let i = 0; i < B; i++) {
      const o = i * n;
      for (let s = 0; s < n; s++) {
        const d = A[o + s] - mu[s];
        inv[s] += d * d;
      }
    }
    for (let s = 0; s < n; s++) {
      const den = inv[s] / B + eps;
      // a constant unit with ε = 0 (0/0 in BN): its output is set to 0 and it carries no gradient
      inv[s] = den > 0 ? 1 / Math.sqrt(den) : 0;
    }
  }

  /** Forward map Σ ↦ E[x xᵀ] with M samples; returns the new Gram. */
  forward(fac: ReturnType<typeof pivotedCholesky>, rng: NormalFill): Float64Array {
    const { B, M, H, mu, inv, phi } = this;
    const { gamma, beta } = this.input.bn;
    this.draw(fac, M, rng);
    if (this.order === 'linear-bn-act') {
      this.colStats(H, M);
      for (let i = 0; i < B; i++) {
        const o = i * M;
        for (let s = 0; s < M; s++) H[o + s] = phi(gamma * (H[o + s] - mu[s]) * inv[s] + beta);
      }
    } else {
      for (let k = 0; k < B * M; k++) H[k] = phi(H[k]);
      this.colStats(H, M);
      for (let i = 0; i < B; i++) {
        const o = i * M;
        for (let s = 0; s < M; s++) H[o + s] = gamma * (H[o + s] - mu[s]) * inv[s] + beta;
      }
    }
    const G = new Float64Array(B * B);
    gemmABt(B, B, M, 1 / M, H, M, H, M, G, B, { sym: true });
    return G;
  }

  /**
   * One step of the stochastic power iteration Π ← T(Π) on the ensemble (Π = mean of g gᵀ over its K
   * columns), with K fresh samples h: each column g_s is paired with sample s and replaced by
   * σ_w J_sᵀ g_s. Returns Σ_s ‖𝒢 g′_s‖² / Σ_s ‖𝒢 g_s‖² (the centred trace; unbiased at BSB1, see the doc).
   */
  backwardStep(fac: ReturnType<typeof pivotedCholesky>, rng: NormalFill, mixRng: () => number): number {
    const { B, K, H, mu, inv, phi, dphi, ens, acc1, acc2 } = this;
    const { gamma, beta } = this.input.bn;
    const sw = this.input.init.sigmaW2;
    if (!this.ensReady) {
      rng(ens, B * K);
      this.ensReady = true;
    }
    this.draw(fac, K, rng);
    const sqrtB = Math.sqrt(B);
    // denominator: centred norms of the current ensemble
    const den = this.centredNormSq(ens, K);
    const Hd = this.Hp; // reused: φ′ per entry
    if (this.order === 'linear-bn-act') {
      this.colStats(H, K);
      // H ← u = ẑ/√B, Hd ← d = φ′(γẑ + β); acc1 ← Σ_i (d∘g)_i, acc2 ← uᵀ(d∘g)
      acc1.fill(0, 0, K);
      acc2.fill(0, 0, K);
      for (let i = 0; i < B; i++) {
        const o = i * K;
        for (let s = 0; s < K; s++) {
          const z = (H[o + s] - mu[s]) * inv[s];
          const d = dphi(gamma * z + beta);
          const u = z / sqrtB;
          H[o + s] = u;
          const tg = d * ens[o + s];
          Hd[o + s] = tg;
          acc1[s] += tg;
          acc2[s] += u * tg;
        }
      }
      // g′ = √w (𝒢 t − u uᵀt), t = d∘g, w = σ_w²γ²/(v+ε)
      for (let s = 0; s < K; s++) acc1[s] /= B;
      for (let i = 0; i < B; i++) {
        const o = i * K;
        for (let s = 0; s < K; s++) ens[o + s] = gamma * Math.sqrt(sw) * inv[s] * (Hd[o + s] - acc1[s] - H[o + s] * acc2[s]);
      }
    } else {
      // a = φ(h), d = φ′(h); BN of a: u = ẑ/√B
      for (let k = 0; k < B * K; k++) {
        const h = H[k];
        Hd[k] = dphi(h);
        H[k] = phi(h);
      }
      this.colStats(H, K);
      acc1.fill(0, 0, K);
      acc2.fill(0, 0, K);
      for (let i = 0; i < B; i++) {
        const o = i * K;
        for (let s = 0; s < K; s++) {
          const u = ((H[o + s] - mu[s]) * inv[s]) / sqrtB;
          H[o + s] = u;
          acc1[s] += ens[o + s];
          acc2[s] += u * ens[o + s];
        }
      }
      // g′ = √w d∘(𝒢 g − u uᵀg)   (uᵀ𝒢g = uᵀg since u is centred)
      for (let s = 0; s < K; s++) acc1[s] /= B;
      for (let i = 0; i < B; i++) {
        const o = i * K;
        for (let s = 0; s < K; s++) ens[o + s] = gamma * Math.sqrt(sw) * inv[s] * Hd[o + s] * (ens[o + s] - acc1[s] - H[o + s] * acc2[s]);
      }
    }
    const num = this.centredNormSq(ens, K);
    // renormalise (Σ_s ‖𝒢g_s‖² = B·K) and mix the columns orthogonally (Π̂ is unchanged by the mixing)
    const scale = num > 0 ? Math.sqrt((B * K) / num) : 1;
    for (let k = 0; k < B * K; k++) ens[k] *= scale;
    this.mix(mixRng);
    return den > 0 ? num / den : Number.NaN;
  }

  private centredNormSq(A: Float64Array, n: number): number {
    const { B, acc1, acc2 } = this;
    acc1.fill(0, 0, n);
    acc2.fill(0, 0, n);
    for (let i = 0; i < B; i++) {
      const o = i * n;
      for (let s = 0; s < n; s++) {
        const v = A[o + s];
        acc1[s] += v;
        acc2[s] += v * v;
      }
    }
    let tot = 0;
    for (let s = 0; s < n; s++) tot += acc2[s] - (acc1[s] * acc1[s]) / B;
    return tot;
  }

  /** `mixStages` rounds of random Givens rotations between randomly paired columns of the ensemble. */
  private mix(rand: () => number): void {
    const { B, K, ens } = this;
    if (K < 2) return;
    const perm = new Int32Array(K);
    for (let stage = 0; stage < this.mixStages; stage++) {
      for (let s = 0; s < K; s++) perm[s] = s;
      for (let s = K - 1; s > 0; s--) {
        const j = Math.floor(rand() * (s + 1));
        const t = perm[s];
        perm[s] = perm[j];
        perm[j] = t;
      }
      const np = K >> 1;
      for (let p = 0; p < np; p++) {
        const th = 2 * Math.PI * rand();
        this.cosT[p] = Math.cos(th);
        this.sinT[p] = Math.sin(th);
      }
      // row by row, so that each pass stays within one row of the ensemble (cache-friendly)
      for (let i = 0; i < B; i++) {
        const o = i * K;
        for (let p = 0; p < np; p++) {
          const a = o + perm[2 * p];
          const b = o + perm[2 * p + 1];
          const c = this.cosT[p];
          const sn = this.sinT[p];
          const x = ens[a];
          const y = ens[b];
          ens[a] = c * x - sn * y;
          ens[b] = sn * x + c * y;
        }
      }
    }
  }
}

function meanSE(xs: number[]): { mean: number; se: number } {
  const v = xs.filter((x) => Number.isFinite(x));
  const n = v.length;
  if (n === 0) return { mean: Number.NaN, se: Number.NaN };
  const mean = v.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, se: Number.NaN };
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  return { mean, se: sd / Math.sqrt(n) };
}

/**
 * The window over which the state counts as settled: the earliest layer l0 such that every layer from l0
 * to the last has its replica-mean corr within tol.corr, effRank/B within tol.effRank and normSpread
 * within tol.normSpread·max(m, 0.1) of their means m over the tail (the last max(5, ⌈L/4⌉) layers).
 * settled = the tail itself satisfies this. The window never starts before layer 2: the rate at block 1
 * is set by the scale of the input Gram, not by a block output (see docs/drafts/gramDynamics.md).
 */
export function settleWindow(
  layers: readonly GramDiagnostics[],
  B: number,
  tol: { corr?: number; effRank?: number; normSpread?: number } = {},
): { from: number; settled: boolean } {
  const L = layers.length - 1; // index 0 = input
  const tc = tol.corr ?? 0.03;
  const te = tol.effRank ?? 0.03;
  const tn = tol.normSpread ?? 0.1;
  const tail = Math.min(L, Math.max(5, Math.ceil(L / 4)));
  const lo = L - tail + 1;
  let mc = 0;
  let me = 0;
  let mn = 0;
  for (let l = lo; l <= L; l++) {
    mc += layers[l].corr;
    me += layers[l].effRank / B;
    mn += layers[l].normSpread;
  }
  mc /= tail;
  me /= tail;
  mn /= tail;
  const ok = (d: GramDiagnostics) =>
    Math.abs(d.corr - mc) <= tc && Math.abs(d.effRank / B - me) <= te && Math.abs(d.normSpread - mn) <= tn * Math.max(mn, 0.1);
  let from = L + 1;
  while (from > 2 && ok(layers[from - 1])) from--;
  const settled = from <= lo;
  return { from: settled ? from : lo, settled };
}

/**
 * Iterate the batch Gram of Linear → BN → φ ('linear-bn-act') or Linear → φ → BN ('linear-act-bn') at
 * infinite width by Monte Carlo, Σ_{l+1} = E_{h~N(0, σ_w²Σ_l + σ_b²11ᵀ)}[x(h) x(h)ᵀ] with M samples per
 * layer, from the actual input Gram, and at each (k-th) layer the GIA backward rate: the top eigenvalue of
 * T_l(Π) = σ_w² E_s[J_sᵀ Π J_s], by a stochastic power iteration with fresh samples, warm-started from the
 * previous layer. Replicas with different seeds give the standard errors. Cost O(B²·M) per layer.
 */
export function gramDynamics(input: GramDynamicsInput, opts: GramDynamicsOptions = {}): GramDynamicsResult {
  const { order, B } = checkInput(input);
  const M = posInt(opts.samples, 1024, 'samples');
  const K = posInt(opts.backwardSamples, M, 'backwardSamples');
  const steps = posInt(opts.backwardSteps, 1, 'backwardSteps');
  const every = posInt(opts.rateEvery, 1, 'rateEvery');
  const R = posInt(opts.replicas, 4, 'replicas');
  const L = posInt(opts.layers, input.depth, 'layers');
  const burnIn = opts.burnIn ?? 12;
  const warmup = opts.warmup ?? (every === 1 ? 0 : 1);
  const mixStages = opts.mixStages ?? 2;
  const seed = opts.seed ?? 1;
  const tolC = opts.choleskyTol ?? 1e-12;
  const cosineTol = opts.cosineTol;
  let G0 = opts.inputGram;
  if (G0) {
    if (G0.length !== B * B) throw new SpecError('inputGram', `${G0.length} entries`, `a B×B matrix (${B * B} entries)`);
  } else {
    G0 = gaussianInputGram(B, input.inputDim ?? 512, opts.inputSeed ?? seed, opts.inputCorr ?? 0);
  }
  const d0 = gramDiagnostics(G0, B, { cosineTol });
  const diag: GramDiagnostics[][] = []; // [replica][layer]
  const perReplica: GramDynamicsResult['perReplica'] = [];
  for (let rep = 0; rep < R; rep++) {
    const rp = new Replica(input, order, B, M, K, mixStages);
    const mixRng = fastUniform(seed, 'gram-mix', rep);
    let S: Float64Array = Float64Array.from(G0);
    const rates = new Float64Array(L + 1).fill(Number.NaN);
    const dl: GramDiagnostics[] = [d0];
    let first = true;
    for (let l = 1; l <= L; l++) {
      const fac = pivotedCholesky(rp.preCov(S), B, tolC);
      const next = rp.forward(fac, fastNormals(seed, 'gram', rep, l, 'fwd'));
      if ((l - 1) % every === 0) {
        const n0 = first ? burnIn : warmup;
        first = false;
        let sum = 0;
        for (let t = 0; t < n0 + steps; t++) {
          const ratio = rp.backwardStep(fac, fastNormals(seed, 'gram', rep, l, 'bwd', t), mixRng);
          if (t >= n0) sum += ratio;
        }
        rates[l] = sum / steps;
      }
      S = next;
      const d = gramDiagnostics(S, B, { cosineTol });
      dl.push(d);
      opts.progress?.({ replica: rep, layer: l, layers: L, gram: S, diagnostics: d, rate: rates[l] });
    }
    diag.push(dl);
    perReplica.push({ rate: rates, finalGram: S });
  }
  const layers: GramLayer[] = [];
  for (let l = 0; l <= L; l++) {
    const mean = {} as GramDiagnostics;
    const se = {} as GramDiagnostics;
    for (const k of DIAG_KEYS) {
      const r = meanSE(diag.map((d) => d[l][k]));
      mean[k] = r.mean;
      se[k] = r.se;
    }
    const r = meanSE(perReplica.map((p) => p.rate[l]));
    layers.push({ layer: l, ...mean, rate: r.mean, rateSE: r.se, se });
  }
  const win = settleWindow(layers, B, opts.settleTol);
  const repMeans = perReplica.map((p) => {
    let s = 0;
    let n = 0;
    for (let l = win.from; l <= L; l++) {
      if (Number.isFinite(p.rate[l])) {
        s += p.rate[l];
        n++;
      }
    }
    return n > 0 ? s / n : Number.NaN;
  });
  const ar = meanSE(repMeans);
  const ad = {} as GramDiagnostics;
  for (const k of DIAG_KEYS) {
    let s = 0;
    for (let l = win.from; l <= L; l++) s += layers[l][k];
    ad[k] = s / (L - win.from + 1);
  }
  const state = ad.normSpread > 0.5 || ad.distinct < B / 2 ? 'broken' : 'bsb1';
  return {
    order,
    batch: B,
    samples: M,
    backwardSamples: K,
    replicas: R,
    layers,
    attractor: { state, settled: win.settled, from: win.from, to: L, rate: ar.mean, rateSE: ar.se, diagnostics: ad },
    perReplica,
  };
}
