// Convolutional and residual BatchNorm nets at infinite channels: a Monte Carlo of the mean-field map over the
// N = B·H·W positions of a batch, and the large-effective-batch leading order. Derivation: docs/derivations.md
// §"Convolutional and residual BatchNorm nets"; summary docs/theory.md.
//
// At infinite channels each channel of a conv output is, independently of the others, a centred Gaussian
// N-vector (one entry per sample and position) whose covariance is the window average of the input's second
// moment, Σ = σ_w²·𝒜(K) with 𝒜(K)[i, j] = (1/k²)·Σ_δ K[i + δ, j + δ] (the same spatial shift δ of both positions,
// zero outside the image: same padding, stride 1). BatchNorm2d normalizes each channel over its N values (the
// MLP's BN with batch N), and φ acts entrywise. So the forward law is carried as M samples of one channel
// (particles) per layer. Backward, under gradient independence (Yang et al. 2019), the per-channel gradient
// covariance Π (N × N) maps as Π_h = E[J D Π_a D J] through BN and φ (J = ∂ẑ/∂h = (I − 11ᵀ/N − ẑẑᵀ/N)/s, D =
// γ·φ′(γẑ + β), averaged over the particles) and Π_a = σ_w²·𝒜ᵀ(Π_h) through a convolution (𝒜ᵀ: the shifts
// −δ). A ResNet basic block adds the shortcut's share: the block input's Π is σ_w²·𝒜ᵀ(Π_h1) + Π_pre (the
// cross term averages to zero over the first conv's weights). The squared-gradient growth per layer is
// tr Π_l / tr Π_{l+1}: what the sampler measures as ‖∂L/∂h_l‖²/‖∂L/∂h_{l+1}‖² (channels are iid, so the
// ratio per channel is the ratio of the totals).
import {
  type Activation,
  blocksOf,
  describeLayers,
  imageOf,
  type Layer,
  layersOf,
  layersToJSON,
  type NetworkSpec,
  normalStream,
  parseActivation,
  SpecError,
  specFields,
} from '../network/index.js';
import { record, type SPRecord } from '../records/index.js';
import { bnGradientRate } from './batchnorm.js';
import { pivotedCholesky } from './denseLinalg.js';
import { interiorLayers, noInteriorReason } from './interior.js';
import type { Prediction } from './predictClassic.js';

export interface ConvMeanFieldOptions {
  /** conv-bn-act: L blocks conv → BN → φ; resblock: L ResNet basic blocks with identity shortcuts. */
  block: 'conv-bn-act' | 'resblock';
  batch: number;
  height: number;
  width: number;
  kernel: number;
  depth: number;
  activation: string | Activation;
  sigmaW2?: number;
  gamma?: number;
  beta?: number;
  eps?: number;
  /** Particles (Monte Carlo samples of one channel) per layer (default 256). */
  draws?: number;
  seed?: number;
}

export interface ConvMeanField {
  /** ln tr Π_l of ∂L/∂h_l per block (h_l: the block's first conv output), up to a common constant. */
  logGradHSq: Float64Array;
  /** tr Π_l / tr Π_{l+1} (NaN at the last block). */
  growth: Float64Array;
  /** Mean over positions of the per-channel batch variance of h_l (over the N values). */
  preactVar: Float64Array;
  /** The effective batch N_eff = N²/Σ_ij ρ_ij² of h_l's correlation ρ over the N positions (docs/derivations.md). */
  effectiveBatch: Float64Array;
}

const actOf = (a: string | Activation): Activation => (typeof a === 'string' ? parseActivation(a) : a);

/** 𝒜(K) (sign +1) or 𝒜ᵀ(K) (sign −1): the average over the k² shifts of both positions, zero outside the image. */
export function shiftAverage(K: Float64Array, B: number, H: number, W: number, k: number, sign: 1 | -1): Float64Array {
  const P = H * W;
  const N = B * P;
  const out = new Float64Array(N * N);
  const r = (k - 1) / 2;
  for (let dy = -r; dy <= r; dy++)
    for (let dx = -r; dx <= r; dx++) {
      const sy = sign * dy;
      const sx = sign * dx;
      for (let bi = 0; bi < B; bi++)
        for (let yi = 0; yi < H; yi++) {
          const y2 = yi + sy;
          if (y2 < 0 || y2 >= H) continue;
          for (let xi = 0; xi < W; xi++) {
            const x2 = xi + sx;
            if (x2 < 0 || x2 >= W) continue;
            const i = bi * P + yi * W + xi;
            const i2 = bi * P + y2 * W + x2;
            for (let bj = 0; bj < B; bj++)
              for (let yj = 0; yj < H; yj++) {
                const yj2 = yj + sy;
                if (yj2 < 0 || yj2 >= H) continue;
                const rowOut = i * N + bj * P + yj * W;
                const rowIn = i2 * N + bj * P + yj2 * W;
                for (let xj = 0; xj < W; xj++) {
                  const xj2 = xj + sx;
                  if (xj2 < 0 || xj2 >= W) continue;
                  out[rowOut + xj] += K[rowIn + xj2];
                }
              }
          }
        }
    }
  const s = 1 / (k * k);
  for (let t = 0; t < out.length; t++) out[t] *= s;
  return out;
}

/** M draws of N(0, S) (rows of an M × N array), by a pivoted Cholesky factor. */
function gaussianDraws(S: Float64Array, N: number, M: number, rng: () => number): Float64Array {
  const { L, rank, perm } = pivotedCholesky(S, N, 1e-13);
  const out = new Float64Array(M * N);
  const z = new Float64Array(rank);
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < rank; k++) z[k] = rng();
    for (let i = 0; i < N; i++) {
      let t = 0;
      const row = i * rank;
      const kmax = Math.min(i + 1, rank);
      for (let k = 0; k < kmax; k++) t += L[row + k] * z[k];
      out[m * N + perm[i]] = t;
    }
  }
  return out;
}

/** One BatchNorm2d channel of a particle: ẑ in place, returns s = √(var + ε). */
function bnChannel(h: Float64Array, off: number, N: number, eps: number): number {
  let m = 0;
  for (let i = 0; i < N; i++) m += h[off + i];
  m /= N;
  let v = 0;
  for (let i = 0; i < N; i++) v += (h[off + i] - m) ** 2;
  const s = Math.sqrt(v / N + eps);
  for (let i = 0; i < N; i++) h[off + i] = (h[off + i] - m) / s;
  return s;
}

/** E[a aᵀ] over the particles (M × N). */
function secondMoment(a: Float64Array, N: number, M: number): Float64Array {
  const K = new Float64Array(N * N);
  for (let m = 0; m < M; m++) {
    const o = m * N;
    for (let i = 0; i < N; i++) {
      const ai = a[o + i];
      if (ai === 0) continue;
      const row = i * N;
      for (let j = 0; j < N; j++) K[row + j] += ai * a[o + j];
    }
  }
  for (let t = 0; t < K.length; t++) K[t] /= M;
  return K;
}

/** BN and φ of one layer's particles: ẑ, s, the entrywise slope D = γφ′(γẑ + β) and a = φ(γẑ + β) (or the pre-activation u). */
interface BnLayer {
  z: Float64Array;
  s: Float64Array;
}

function bnLayer(h: Float64Array, N: number, M: number, eps: number): BnLayer {
  const s = new Float64Array(M);
  for (let m = 0; m < M; m++) s[m] = bnChannel(h, m * N, N, eps);
  return { z: h, s };
}

/**
 * out += w·J X J for one particle (J = P/s, P = I − 11ᵀ/N − ẑẑᵀ/N, X symmetric), in O(N²): P X P is
 * X − c1 1ᵀ − 1 c1ᵀ − cz ẑᵀ − ẑ czᵀ + s11 11ᵀ + s1z (1ẑᵀ + ẑ1ᵀ) + szz ẑẑᵀ (c·: X·/N, s··: ·ᵀX·/N²).
 */
function addProjected(out: Float64Array, X: Float64Array, z: Float64Array, N: number, w: number, c1: Float64Array, cz: Float64Array): void {
  for (let i = 0; i < N; i++) {
    const row = i * N;
    let a = 0;
    let b = 0;
    for (let j = 0; j < N; j++) {
      a += X[row + j];
      b += X[row + j] * z[j];
    }
    c1[i] = a / N;
    cz[i] = b / N;
  }
  let s11 = 0;
  let s1z = 0;
  let szz = 0;
  for (let i = 0; i < N; i++) {
    s11 += c1[i];
    s1z += cz[i];
    szz += cz[i] * z[i];
  }
  s11 /= N;
  s1z /= N;
  szz /= N;
  for (let i = 0; i < N; i++) {
    const row = i * N;
    const zi = z[i];
    for (let j = 0; j < N; j++) {
      const zj = z[j];
      out[row + j] += w * (X[row + j] - c1[i] - c1[j] - cz[i] * zj - zi * cz[j] + s11 + s1z * (zi + zj) + szz * zi * zj);
    }
  }
}

/**
 * Π_h = average over particles of J D Π_m D J, Π_m = Pi(m) (the gradient covariance at the BN output given
 * particle m; the same matrix for every m after a convolution), D = diag(dOf(m, ·)). `keep(m, X)` receives
 * X = D Π_m D (a scratch buffer: copy what is kept).
 */
function bnBackward(
  Pi: (m: number) => Float64Array,
  N: number,
  M: number,
  bn: BnLayer,
  dOf: (m: number, i: number) => number,
  keep?: (m: number, X: Float64Array) => void,
): Float64Array {
  const out = new Float64Array(N * N);
  const X = new Float64Array(N * N);
  const d = new Float64Array(N);
  const c1 = new Float64Array(N);
  const cz = new Float64Array(N);
  for (let m = 0; m < M; m++) {
    const o = m * N;
    for (let i = 0; i < N; i++) d[i] = dOf(m, i);
    const P = Pi(m);
    for (let i = 0; i < N; i++) {
      const row = i * N;
      const di = d[i];
      for (let j = 0; j < N; j++) X[row + j] = di * P[row + j] * d[j];
    }
    keep?.(m, X);
    addProjected(out, X, bn.z.subarray(o, o + N), N, 1 / (bn.s[m] * bn.s[m] * M), c1, cz);
  }
  return out;
}

function trace(A: Float64Array, N: number): number {
  let t = 0;
  for (let i = 0; i < N; i++) t += A[i * N + i];
  return t;
}

/** N²/Σ_ij ρ_ij² of a covariance S (the number of independent values with the same variance of a second moment). */
export function effectiveBatch(S: Float64Array, N: number): number {
  let s = 0;
  for (let i = 0; i < N; i++)
    for (let j = 0; j < N; j++) {
      const d = S[i * N + i] * S[j * N + j];
      if (d > 0) s += (S[i * N + j] * S[i * N + j]) / d;
    }
  return (N * N) / s;
}

/**
 * The Monte Carlo mean field of a conv-bn-act stack or a stack of ResNet basic blocks (identity shortcuts) on
 * iid N(0, 1) images of B × H × W positions, read out as the sampler's readout loss after global average
 * pooling (the same r for every sample: Π at the top is constant). Error: the particles' Monte Carlo error,
 * O(1/√draws) relative; run it with several seeds for a standard error.
 */
export function convMeanField(o: ConvMeanFieldOptions): ConvMeanField {
  const { batch: B, height: H, width: W, kernel: k, depth: L } = o;
  if (k % 2 !== 1) throw new SpecError('kernel', k, 'an odd kernel (same padding)');
  const N = B * H * W;
  const M = o.draws ?? 256;
  const sw = o.sigmaW2 ?? 2;
  const gamma = o.gamma ?? 1;
  const beta = o.beta ?? 0;
  const eps = o.eps ?? 1e-5;
  const act = actOf(o.activation);
  const rng = normalStream(o.seed ?? 1, 'conv-mean-field', o.block, B, H, W, k, L, M);
  const res = o.block === 'resblock';
  // forward: the particles of every BN layer (two per resblock) and of each block's last pre-activation
  const bn1: BnLayer[] = [];
  const bn2: BnLayer[] = [];
  const pre: Float64Array[] = [];
  const preactVar = new Float64Array(L);
  const effective = new Float64Array(L);
  // the input: iid N(0, 1), K = I
  let K: Float64Array = new Float64Array(N * N);
  for (let i = 0; i < N; i++) K[i * N + i] = 1;
  let x: Float64Array | null = null; // a resblock's input particles (M × N)
  const phiOf = (u: number) => act.phi(u);
  for (let l = 0; l < L; l++) {
    const S = shiftAverage(K, B, H, W, k, 1);
    for (let t = 0; t < S.length; t++) S[t] *= sw;
    effective[l] = effectiveBatch(S, N);
    const h = gaussianDraws(S, N, M, rng);
    let pv = 0;
    for (let m = 0; m < M; m++) {
      let a = 0;
      let b = 0;
      for (let i = 0; i < N; i++) {
        a += h[m * N + i];
        b += h[m * N + i] ** 2;
      }
      pv += b / N - (a / N) ** 2;
    }
    preactVar[l] = pv / M;
    const b1 = bnLayer(h, N, M, eps);
    bn1.push(b1);
    const a = new Float64Array(M * N);
    for (let t = 0; t < a.length; t++) a[t] = phiOf(gamma * b1.z[t] + beta);
    if (!res) {
      K = secondMoment(a, N, M);
      continue;
    }
    const S2 = shiftAverage(secondMoment(a, N, M), B, H, W, k, 1);
    for (let t = 0; t < S2.length; t++) S2[t] *= sw;
    const h2 = gaussianDraws(S2, N, M, rng);
    const b2 = bnLayer(h2, N, M, eps);
    bn2.push(b2);
    // the block input: the first block's is the iid input; later, the previous block's output particles
    const xin = x ?? gaussianDraws(K, N, M, rng);
    const u = new Float64Array(M * N);
    for (let t = 0; t < u.length; t++) u[t] = gamma * b2.z[t] + beta + xin[t];
    pre.push(u);
    x = u.map(phiOf);
    K = secondMoment(x, N, M);
  }
  // backward: Π at the top is constant (readout after gap: ∂L/∂out the same at every position and sample).
  // A resblock's identity path carries the gradient along the same particle (the same channel's values in
  // consecutive blocks: no weights between them to decorrelate them), so the block-output gradient is
  // common (after a convolution: the same for every particle) plus a per-particle shortcut part.
  let common: Float64Array = new Float64Array(N * N).fill(1);
  let own: Float64Array[] | null = null;
  const Pa = (m: number) => {
    if (!own) return common;
    const t = scratch;
    const p = own[m];
    for (let i = 0; i < t.length; i++) t[i] = common[i] + p[i];
    return t;
  };
  const scratch = new Float64Array(N * N);
  const logG = new Float64Array(L);
  let logScale = 0;
  const dphi = (u: number) => act.dphi(u);
  for (let l = L - 1; l >= 0; l--) {
    let Ph: Float64Array;
    let nextOwn: Float64Array[] | null = null;
    const b1 = bn1[l];
    const d1 = (m: number, i: number) => gamma * dphi(gamma * b1.z[m * N + i] + beta);
    if (!res) {
      Ph = bnBackward(Pa, N, M, b1, d1);
    } else {
      const u = pre[l];
      // the last φ′ then BN2 (slope γ): X_m = D_m Π_m D_m is the shortcut's share given particle m
      const kept: Float64Array[] = new Array(M);
      const Ph2 = bnBackward(
        Pa,
        N,
        M,
        bn2[l],
        (m, i) => dphi(u[m * N + i]),
        (m, X) => {
          kept[m] = Float64Array.from(X);
        },
      );
      if (gamma !== 1) for (let t = 0; t < Ph2.length; t++) Ph2[t] *= gamma * gamma;
      nextOwn = kept;
      const Pa1 = shiftAverage(Ph2, B, H, W, k, -1);
      for (let t = 0; t < Pa1.length; t++) Pa1[t] *= sw;
      Ph = bnBackward(() => Pa1, N, M, b1, d1);
    }
    const tr = trace(Ph, N);
    logG[l] = Math.log(tr) + logScale;
    // renormalize (the map is linear) and carry the scale in logs
    for (let t = 0; t < Ph.length; t++) Ph[t] /= tr;
    logScale += Math.log(tr);
    common = shiftAverage(Ph, B, H, W, k, -1);
    for (let t = 0; t < common.length; t++) common[t] *= sw;
    if (nextOwn) for (const X of nextOwn) for (let t = 0; t < X.length; t++) X[t] /= tr;
    own = nextOwn;
  }
  const growth = new Float64Array(L).fill(Number.NaN);
  for (let l = 0; l < L - 1; l++) growth[l] = Math.exp(logG[l] - logG[l + 1]);
  return { logGradHSq: logG, growth, preactVar, effectiveBatch: effective };
}

/**
 * The large-effective-batch leading order of a conv → BN → φ layer's growth: Yang's λ at the effective batch,
 * λ(N_eff) ≈ λ∞·(1 + c/N_eff) with λ∞ = bnGradientRate(φ, null) and c = lim_B B·(λ(B)/λ∞ − 1), read off at
 * B = 4096 (docs/derivations.md). N_eff ≤ N = B·H·W: neighbouring positions are correlated.
 */
export function convLeadingRate(
  activation: string | Activation,
  effectiveN: number,
  bn: { gamma?: number; beta?: number; eps?: number } = {},
): number {
  const b = { gamma: bn.gamma ?? 1, beta: bn.beta ?? 0, eps: bn.eps ?? 1e-5 };
  const inf = bnGradientRate(actOf(activation), null, b);
  const big = 4096;
  const c = big * (bnGradientRate(actOf(activation), big, b) / inf - 1);
  return inf * (1 + c / effectiveN);
}

/** What predictConv needs from an image spec's list: identical blocks on one image shape, ending in gap. */
function convStack(spec: NetworkSpec): Omit<ConvMeanFieldOptions, 'draws' | 'seed'> {
  const layers = layersOf(spec);
  const image = imageOf(spec);
  const refuse = (why: string): never => {
    throw new SpecError(spec.order === 'custom' ? 'layers' : 'order', spec.order === 'custom' ? describeLayers(layers) : spec.order, why);
  };
  if (!image) return refuse('an image network (conv theory)');
  const blocks = blocksOf(layers);
  const last = blocks[blocks.length - 1];
  if (last[last.length - 1].kind !== 'gap') refuse('a list that ends in gap (the readout after global average pooling)');
  const first = blocks[0][0];
  const oneStage =
    'for the conv theory: identical blocks at one image shape (conv2d(C, k, stride 1, same) → batchnorm → act, or resblock(C, k, stride 1) with identity shortcuts) on an image with C channels, then gap; the stride-2 and projection maps of vgg and later resnet stages are not derived';
  const key = (b: Layer[]) => JSON.stringify(layersToJSON(b.filter((l) => l.kind !== 'gap')));
  if (!blocks.every((b) => key(b) === key(blocks[0]))) refuse(oneStage);
  let block: ConvMeanFieldOptions['block'];
  let o: { kernel: number; sigmaW2: number; gamma: number; beta: number; eps: number; activation: string | Activation };
  if (first.kind === 'resblock') {
    if (first.stride !== 1 || first.channels !== image.c || first.init !== 'gaussian' || first.sigmaB2 !== 0) refuse(oneStage);
    block = 'resblock';
    o = { ...first, activation: first.activation };
  } else {
    const b = blocks[0].filter((l) => l.kind !== 'gap');
    const [c, n, a] = b;
    if (
      b.length !== 3 ||
      c.kind !== 'conv2d' ||
      n?.kind !== 'batchnorm' ||
      a?.kind !== 'act' ||
      c.stride !== 1 ||
      c.padding !== 'same' ||
      c.channels !== image.c ||
      c.init !== 'gaussian' ||
      c.sigmaB2 !== 0
    )
      return refuse(oneStage);
    block = 'conv-bn-act';
    o = { kernel: c.kernel, sigmaW2: c.sigmaW2, gamma: n.gamma, beta: n.beta, eps: n.eps, activation: a.activation };
  }
  if (spec.batch === null) refuse('a batch size: the conv theory is at a finite batch (BN pools B·H·W values per channel)');
  const N = (spec.batch as number) * image.h * image.w;
  if (N > MAX_POSITIONS)
    refuse(
      `B·H·W ≤ ${MAX_POSITIONS} for the Monte Carlo mean field (it holds N × N covariances; here N = ${N}); convLeadingRate gives the large-effective-batch order`,
    );
  return { block, batch: spec.batch as number, height: image.h, width: image.w, depth: spec.depth, ...o };
}

/** The largest B·H·W the Monte Carlo takes (N × N matrices of float64: 8 MB at 1024). */
export const MAX_POSITIONS = 1024;

/** Replicas of the Monte Carlo for the standard error. */
const REPLICAS = 4;

/**
 * predict() for an image network (theory/predict.ts sends them here): the Monte Carlo mean field of
 * convMeanField, `REPLICAS` independent runs of `draws` particles; the records are their means and
 * predictedGrowth the geometric mean over the interior layers, with its standard error over the runs.
 */
export function predictConv(spec: NetworkSpec, opts: { draws?: number; seed?: number } = {}): Prediction {
  const o = convStack(spec);
  const L = spec.depth;
  const runs = Array.from({ length: REPLICAS }, (_, r) => convMeanField({ ...o, draws: opts.draws ?? 256, seed: (opts.seed ?? 1) + r }));
  const [lo, hi] = interiorLayers(L);
  const mean = (f: (m: ConvMeanField) => number) => runs.reduce((a, m) => a + f(m), 0) / runs.length;
  const interiorLog = (m: ConvMeanField) => {
    let s = 0;
    for (let l = lo; l <= hi; l++) s += Math.log(m.growth[l - 1]);
    return s / (hi - lo + 1);
  };
  const logs = runs.map(interiorLog);
  const lg = logs.reduce((a, b) => a + b, 0) / logs.length;
  const sd = Math.sqrt(logs.reduce((a, b) => a + (b - lg) ** 2, 0) / (logs.length - 1));
  const predictedGrowth = noInteriorReason(L) ? Number.NaN : Math.exp(lg);
  const fields = specFields(spec);
  const out: SPRecord[] = [];
  for (let l = 1; l <= L; l++) {
    out.push(
      record(
        fields,
        'theory',
        'preact_var',
        l,
        mean((m) => m.preactVar[l - 1]),
      ),
    );
    if (l < L) out.push(record(fields, 'theory', 'grad_growth', l, Math.exp(mean((m) => Math.log(m.growth[l - 1])))));
    out.push(
      record(
        fields,
        'theory',
        'log_grad_h_sq',
        l,
        mean((m) => m.logGradHSq[l - 1] - m.logGradHSq[L - 1]),
      ),
    );
  }
  const nEff = mean((m) => m.effectiveBatch[Math.min(L - 1, lo - 1)]);
  const notes = [
    `conv theory (${o.block}, B·H·W = ${o.batch}·${o.height}·${o.width}): Monte Carlo of the infinite-channel mean field under gradient independence, ${REPLICAS} runs of ${opts.draws ?? 256} particles; predictedGrowth ± ${((predictedGrowth * sd) / Math.sqrt(REPLICAS)).toPrecision(3)} (SE over the runs)`,
    `exact at infinite channels (conv h is Gaussian per channel with the window-averaged covariance; BatchNorm2d is the MLP's BN over the N = B·H·W positions); approximate: gradient independence, the Monte Carlo error`,
    `large-effective-batch order: N_eff = ${nEff.toFixed(1)} of N = ${o.batch * o.height * o.width} (N²/Σρ², h's position correlation), λ∞(1 + c/N_eff) = ${o.block === 'conv-bn-act' ? convLeadingRate(o.activation, nEff, o).toFixed(4) : 'n/a for resblock'}; zero padding lowers the growth near the border, which this order leaves out (docs/theory.md)`,
  ];
  if (noInteriorReason(L)) notes.push(noInteriorReason(L)!);
  return {
    records: out,
    predictedGrowth,
    depthScale: 1 / Math.log(predictedGrowth),
    logGrowthTotal: mean((m) => m.logGradHSq[0] - m.logGradHSq[L - 1]),
    notes,
    stability: null,
    bsb1Growth: null,
    dynamics: null,
    predictedGrowthSE: noInteriorReason(L) ? 0 : (predictedGrowth * sd) / Math.sqrt(REPLICAS),
  };
}
