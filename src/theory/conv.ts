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
// Stage transitions (vgg, multi-stage resnet): a stride-s same-padded conv is the stride-1 one read at the
// positions (s·y, s·x), so Σ = σ_w²·𝒮_s(𝒜(K)) forward and Π_a = σ_w²·𝒜ᵀ(𝒮_sᵀ(Π_h)) backward (𝒮_sᵀ: place Π at
// the sampled positions, zeros elsewhere: the transpose of a strided conv is upsample-with-zeros then
// shift-average). Carrying Π summed over channels (C·Π per channel) makes every map free of the widths: a
// conv from C_in to C_out channels multiplies the per-channel Π by C_out/C_in, which the totals absorb. The 1×1
// projection shortcut BN(conv_1×1,s(x)) is a channel of its own weights: Gaussian with σ_w²·𝒮_s(K), independent
// of the branch, backward σ_w²·𝒮_sᵀ of its BN's J D Π D J; no identity path survives it.
import {
  type Activation,
  blocksOf,
  describeLayers,
  imageOf,
  layersOf,
  type NetworkSpec,
  normalStream,
  parseActivation,
  SpecError,
  specFields,
} from '../network/index.js';
import { record, type SPRecord, summarize } from '../records/index.js';
import { bnGradientRate } from './batchnorm.js';
import { pivotedCholesky } from './denseLinalg.js';
import { interiorLayers, noInteriorReason } from './interior.js';
import type { Prediction } from './predictTypes.js';

/**
 * One block of the general stack: conv-bn-act is conv2d(k, stride s, same padding) → BatchNorm2d → φ; resblock
 * is a ResNet basic block whose first conv has stride s and whose shortcut is the identity or, when
 * `projection`, BN(conv_1×1,s(x)) (a stage transition: stride 2 and/or a change of channels). At infinite
 * channels the widths do not enter the map (docs/derivations.md): only σ_w², k, s and the shortcut's kind.
 */
export interface ConvBlock {
  kind: 'conv-bn-act' | 'resblock';
  kernel: number;
  stride: number;
  /** resblock only: the 1×1 projection shortcut (false: identity). */
  projection?: boolean;
  /** conv-bn-act only: groupnorm in BatchNorm2d's place (at infinite channels a per-sample scale, no projection). */
  norm?: 'batchnorm' | 'groupnorm';
  sigmaW2: number;
  gamma: number;
  beta: number;
  eps: number;
  activation: string | Activation;
}

export interface ConvMeanFieldOptions {
  /** conv-bn-act: L blocks conv → BN → φ; resblock: L ResNet basic blocks with identity shortcuts (ignored with `blocks`). */
  block?: 'conv-bn-act' | 'resblock';
  batch: number;
  height: number;
  width: number;
  kernel?: number;
  depth?: number;
  activation?: string | Activation;
  sigmaW2?: number;
  gamma?: number;
  beta?: number;
  eps?: number;
  /** The general stack (vgg, multi-stage resnet, lists of these kinds); overrides block/depth/kernel/…. */
  blocks?: ConvBlock[];
  /** Particles (Monte Carlo samples of one channel) per layer (default 256). */
  draws?: number;
  seed?: number;
}

export interface ConvMeanField {
  /** ln tr Π_l of ∂L/∂h_l per block (h_l: the block's first conv output; summed over its channels and positions), up to a common constant. */
  logGradHSq: Float64Array;
  /** tr Π_l / tr Π_{l+1} (NaN at the last block). */
  growth: Float64Array;
  /** Mean over positions of the per-channel batch variance of h_l (over the N values). */
  preactVar: Float64Array;
  /** The effective batch N_eff = N²/Σ_ij ρ_ij² of h_l's correlation ρ over the N positions (docs/derivations.md). */
  effectiveBatch: Float64Array;
  /** The image size of h_l (its N = batch·height·width positions). */
  heights: Int32Array;
  widths: Int32Array;
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

/** The output size of a same-padded conv of stride s along an axis of `size`: ⌊(size − 1)/s⌋ + 1. */
export function strideOut(size: number, stride: number): number {
  return Math.floor((size - 1) / stride) + 1;
}

/** The input position index of each output position of a stride-s same-padded conv (output (y, x) sits at (s·y, s·x)). */
function subsampledPositions(B: number, H: number, W: number, s: number): Int32Array {
  const Ho = strideOut(H, s);
  const Wo = strideOut(W, s);
  const idx = new Int32Array(B * Ho * Wo);
  for (let b = 0; b < B; b++)
    for (let y = 0; y < Ho; y++) for (let x = 0; x < Wo; x++) idx[(b * Ho + y) * Wo + x] = b * H * W + s * y * W + s * x;
  return idx;
}

/**
 * 𝒮_s(K): the rows and columns of K (B·H·W positions) at the output positions of a stride-s same-padded
 * conv, (B·Ho·Wo)². A stride-s same-padded conv is the stride-1 one read at (s·y, s·x), so its forward map
 * is 𝒮_s∘𝒜 (s = 1: the identity).
 */
export function subsample(K: Float64Array, B: number, H: number, W: number, s: number): Float64Array {
  if (s === 1) return K;
  const idx = subsampledPositions(B, H, W, s);
  const N = B * H * W;
  const n = idx.length;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const row = idx[i] * N;
    for (let j = 0; j < n; j++) out[i * n + j] = K[row + idx[j]];
  }
  return out;
}

/** 𝒮_sᵀ(Π): the adjoint of subsample, Π (B·Ho·Wo)² placed at the sampled positions of a (B·H·W)² zero matrix. */
export function upsample(P: Float64Array, B: number, H: number, W: number, s: number): Float64Array {
  if (s === 1) return P;
  const idx = subsampledPositions(B, H, W, s);
  const N = B * H * W;
  const n = idx.length;
  const out = new Float64Array(N * N);
  for (let i = 0; i < n; i++) {
    const row = idx[i] * N;
    for (let j = 0; j < n; j++) out[row + idx[j]] = P[i * n + j];
  }
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
  /** groupnorm: √(v_b + ε) at each position (its sample's), the same for every particle; no projection. */
  perPosition?: Float64Array;
}

/**
 * GroupNorm at infinite channels (G fixed): a group's C/G → ∞ channels at P positions have mean 0 and variance
 * v_b = mean_p S_pp over sample b's positions, so ẑ = h/√(v_b + ε), and its backward projection vanishes
 * (docs/derivations.md §17.6).
 */
function gnLayer(h: Float64Array, S: Float64Array, B: number, N: number, M: number, eps: number): BnLayer {
  const P = N / B;
  const r = new Float64Array(N);
  for (let b = 0; b < B; b++) {
    let v = 0;
    for (let p = 0; p < P; p++) v += S[(b * P + p) * N + b * P + p];
    r.fill(Math.sqrt(v / P + eps), b * P, (b + 1) * P);
  }
  for (let m = 0; m < M; m++) for (let i = 0; i < N; i++) h[m * N + i] /= r[i];
  return { z: h, s: new Float64Array(M).fill(1), perPosition: r };
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
    const r = bn.perPosition;
    if (r) for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) out[i * N + j] += X[i * N + j] / (r[i] * r[j] * M);
    else addProjected(out, X, bn.z.subarray(o, o + N), N, 1 / (bn.s[m] * bn.s[m] * M), c1, cz);
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

/** The blocks of a ConvMeanFieldOptions: `blocks`, or L identical blocks from the legacy fields. */
function blocksOfOptions(o: ConvMeanFieldOptions): ConvBlock[] {
  if (o.blocks) return o.blocks;
  if (o.block === undefined || o.kernel === undefined || o.depth === undefined || o.activation === undefined)
    throw new SpecError('blocks', undefined, 'a block list, or block, kernel, depth and activation');
  const one: ConvBlock = {
    kind: o.block,
    kernel: o.kernel,
    stride: 1,
    projection: false,
    sigmaW2: o.sigmaW2 ?? 2,
    gamma: o.gamma ?? 1,
    beta: o.beta ?? 0,
    eps: o.eps ?? 1e-5,
    activation: o.activation,
  };
  return Array.from({ length: o.depth }, () => one);
}

/** s·x in place. */
function scale(A: Float64Array, s: number): Float64Array {
  if (s !== 1) for (let t = 0; t < A.length; t++) A[t] *= s;
  return A;
}

/**
 * The Monte Carlo mean field of a stack of conv-bn-act blocks and ResNet basic blocks (any strides, identity
 * or 1×1 projection shortcuts: vgg, multi-stage resnet) on iid N(0, 1) images of B × H × W positions, read
 * out as the sampler's readout loss after global average pooling (the same r for every sample: Π at the top
 * is constant). A stride-s conv maps K ↦ σ_w²·𝒮_s(𝒜(K)) forward and Π ↦ σ_w²·𝒜ᵀ(𝒮_sᵀ(Π)) backward; the
 * projection K ↦ σ_w²·𝒮_s(K), Π ↦ σ_w²·𝒮_sᵀ(Π). Π is carried summed over channels, which makes every map
 * independent of the widths (docs/derivations.md). Error: the particles' Monte Carlo error, O(1/√draws)
 * relative, and an O(1/draws) bias; run it with several seeds for a standard error.
 */
export function convMeanField(o: ConvMeanFieldOptions): ConvMeanField {
  const { batch: B } = o;
  const blocks = blocksOfOptions(o);
  const L = blocks.length;
  for (const b of blocks) {
    if (b.kernel % 2 !== 1) throw new SpecError('kernel', b.kernel, 'an odd kernel (same padding)');
    if (!(Number.isInteger(b.stride) && b.stride >= 1)) throw new SpecError('stride', b.stride, 'an integer ≥ 1');
  }
  const M = o.draws ?? 256;
  const rng = normalStream(
    o.seed ?? 1,
    'conv-mean-field',
    o.blocks ? JSON.stringify(blocks.map((b) => [b.kind, b.kernel, b.stride, b.projection ?? false])) : (o.block as string),
    B,
    o.height,
    o.width,
    o.blocks ? 0 : (o.kernel as number),
    L,
    M,
  );
  // geometry: gh[l], gw[l] the image of block l's input (l = 0: the input image), gh[l + 1] its output
  const gh = [o.height];
  const gw = [o.width];
  for (const b of blocks) {
    gh.push(strideOut(gh[gh.length - 1], b.stride));
    gw.push(strideOut(gw[gw.length - 1], b.stride));
  }
  const nAt = (l: number) => B * gh[l] * gw[l];
  // forward: the particles of every BN layer (two per resblock, three with a projection) and of each
  // resblock's last pre-activation
  const bn1: BnLayer[] = [];
  const bn2: (BnLayer | null)[] = [];
  const bnp: (BnLayer | null)[] = [];
  const pre: (Float64Array | null)[] = [];
  const preactVar = new Float64Array(L);
  const effective = new Float64Array(L);
  // the input: iid N(0, 1), K = I
  const N0 = nAt(0);
  let K: Float64Array = new Float64Array(N0 * N0);
  for (let i = 0; i < N0; i++) K[i * N0 + i] = 1;
  let x: Float64Array | null = null; // the block input's particles (M × N): the previous block's output
  for (let l = 0; l < L; l++) {
    const bk = blocks[l];
    const act = actOf(bk.activation);
    const { gamma, beta, eps, sigmaW2: sw, kernel: k, stride } = bk;
    const [H, W, N] = [gh[l], gw[l], nAt(l + 1)];
    const S = scale(subsample(shiftAverage(K, B, H, W, k, 1), B, H, W, stride), sw);
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
    const b1 = bk.norm === 'groupnorm' ? gnLayer(h, S, B, N, M, eps) : bnLayer(h, N, M, eps);
    bn1.push(b1);
    const a = new Float64Array(M * N);
    for (let t = 0; t < a.length; t++) a[t] = act.phi(gamma * b1.z[t] + beta);
    if (bk.kind === 'conv-bn-act') {
      bn2.push(null);
      bnp.push(null);
      pre.push(null);
      K = secondMoment(a, N, M);
      x = a;
      continue;
    }
    const S2 = scale(shiftAverage(secondMoment(a, N, M), B, gh[l + 1], gw[l + 1], k, 1), sw);
    const h2 = gaussianDraws(S2, N, M, rng);
    const b2 = bnLayer(h2, N, M, eps);
    bn2.push(b2);
    const u = new Float64Array(M * N);
    if (bk.projection) {
      // the shortcut BN(conv_1×1,s(x)): its own weights, so a channel independent of the branch's
      const hp = gaussianDraws(scale(Float64Array.from(subsample(K, B, H, W, stride)), sw), N, M, rng);
      const bp = bnLayer(hp, N, M, eps);
      bnp.push(bp);
      for (let t = 0; t < u.length; t++) u[t] = gamma * (b2.z[t] + bp.z[t]) + 2 * beta;
    } else {
      if (stride !== 1) throw new SpecError('projection', false, 'a projection shortcut on a resblock of stride > 1');
      bnp.push(null);
      // the identity: the same channel's values as the block input (the first block's: iid N(0, K))
      const xin = x ?? gaussianDraws(K, N, M, rng);
      for (let t = 0; t < u.length; t++) u[t] = gamma * b2.z[t] + beta + xin[t];
    }
    pre.push(u);
    x = u.map((v) => act.phi(v));
    K = secondMoment(x, N, M);
  }
  // backward: Π at the top is constant (readout after gap: ∂L/∂out the same at every position and sample).
  // An identity shortcut carries the gradient along the same particle (the same channel's values in
  // consecutive blocks: no weights between them to decorrelate them), so the block-output gradient is
  // common (after a convolution: the same for every particle) plus a per-particle shortcut part.
  const NL = nAt(L);
  let common: Float64Array = new Float64Array(NL * NL).fill(1);
  let own: Float64Array[] | null = null;
  let scratch = new Float64Array(NL * NL);
  const Pa = (m: number) => {
    if (!own) return common;
    const p = own[m];
    for (let i = 0; i < scratch.length; i++) scratch[i] = common[i] + p[i];
    return scratch;
  };
  const logG = new Float64Array(L);
  let logScale = 0;
  for (let l = L - 1; l >= 0; l--) {
    const bk = blocks[l];
    const act = actOf(bk.activation);
    const { gamma, beta, sigmaW2: sw, kernel: k, stride } = bk;
    const N = nAt(l + 1);
    let Ph: Float64Array;
    let nextOwn: Float64Array[] | null = null;
    let shortcut: Float64Array | null = null; // the projection's Π at its conv output (before 𝒮ᵀ)
    const b1 = bn1[l];
    const d1 = (m: number, i: number) => gamma * act.dphi(gamma * b1.z[m * N + i] + beta);
    if (bk.kind === 'conv-bn-act') {
      Ph = bnBackward(Pa, N, M, b1, d1);
    } else {
      const u = pre[l] as Float64Array;
      const bp = bnp[l];
      // the last φ′ then BN2 (slope γ): X_m = D_m Π_m D_m is the shortcut's share given particle m
      const kept: Float64Array[] | null = bp ? null : new Array(M);
      const sc = bp ? new Float64Array(N * N) : null;
      const c1 = new Float64Array(N);
      const cz = new Float64Array(N);
      const Ph2 = bnBackward(
        Pa,
        N,
        M,
        bn2[l] as BnLayer,
        (m, i) => act.dphi(u[m * N + i]),
        (m, X) => {
          if (kept) kept[m] = Float64Array.from(X);
          // the projection's BN (slope γ) on the same X_m, with the projection channel's ẑ of particle m
          else if (bp && sc) addProjected(sc, X, bp.z.subarray(m * N, (m + 1) * N), N, (gamma * gamma) / (bp.s[m] * bp.s[m] * M), c1, cz);
        },
      );
      scale(Ph2, gamma * gamma);
      nextOwn = kept;
      shortcut = sc;
      const Pa1 = scale(shiftAverage(Ph2, B, gh[l + 1], gw[l + 1], k, -1), sw);
      Ph = bnBackward(() => Pa1, N, M, b1, d1);
    }
    const tr = trace(Ph, N);
    logG[l] = Math.log(tr) + logScale;
    // renormalize (the map is linear) and carry the scale in logs
    scale(Ph, 1 / tr);
    logScale += Math.log(tr);
    const [H, W] = [gh[l], gw[l]];
    common = scale(shiftAverage(upsample(Ph, B, H, W, stride), B, H, W, k, -1), sw);
    if (shortcut) {
      const up = upsample(shortcut, B, H, W, stride);
      for (let t = 0; t < common.length; t++) common[t] += (sw * up[t]) / tr;
    }
    if (nextOwn) for (const X of nextOwn) scale(X, 1 / tr);
    own = nextOwn;
    if (scratch.length !== common.length) scratch = new Float64Array(common.length);
  }
  const growth = new Float64Array(L).fill(Number.NaN);
  for (let l = 0; l < L - 1; l++) growth[l] = Math.exp(logG[l] - logG[l + 1]);
  return {
    logGradHSq: logG,
    growth,
    preactVar,
    effectiveBatch: effective,
    heights: Int32Array.from(gh.slice(1)),
    widths: Int32Array.from(gw.slice(1)),
  };
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

/** What predictConv needs from an image spec's list: conv-bn-act blocks and resblocks (any stride), ending in gap. */
function convStack(spec: NetworkSpec): Omit<ConvMeanFieldOptions, 'draws' | 'seed'> & { blocks: ConvBlock[] } {
  const layers = layersOf(spec);
  const image = imageOf(spec);
  const refuse = (why: string): never => {
    throw new SpecError(spec.order === 'custom' ? 'layers' : 'order', spec.order === 'custom' ? describeLayers(layers) : spec.order, why);
  };
  if (!image) return refuse('an image network (conv theory)');
  const blocks = blocksOf(layers);
  const last = blocks[blocks.length - 1];
  if (last[last.length - 1].kind !== 'gap') refuse('a list that ends in gap (the readout after global average pooling)');
  const derived =
    "for the conv theory: blocks of conv2d(C, k odd, stride s, padding 'same', gaussian init) → batchnorm → act, or resblock(C, k, stride s, gaussian init) with the identity or the 1×1 projection shortcut, on an image, then gap (vgg, resnet, conv-bn-act presets)";
  const out: ConvBlock[] = [];
  let c = image.c;
  for (const [i, blk] of blocks.entries()) {
    const b = i === blocks.length - 1 ? blk.slice(0, -1) : blk;
    const first = b[0];
    if (first.kind === 'resblock') {
      if (b.length !== 1 || first.init !== 'gaussian') refuse(derived);
      out.push({
        kind: 'resblock',
        kernel: first.kernel,
        stride: first.stride,
        projection: first.stride !== 1 || first.channels !== c,
        sigmaW2: first.sigmaW2,
        gamma: first.gamma,
        beta: first.beta,
        eps: first.eps,
        activation: first.activation,
      });
      c = first.channels;
      continue;
    }
    const [cv, n, a] = b;
    if (
      b.length !== 3 ||
      cv.kind !== 'conv2d' ||
      (n?.kind !== 'batchnorm' && n?.kind !== 'groupnorm') ||
      a?.kind !== 'act' ||
      cv.kernel % 2 !== 1 ||
      !(cv.padding === 'same' || cv.padding === (cv.kernel - 1) / 2) ||
      cv.init !== 'gaussian'
    )
      return refuse(derived);
    if (n.kind === 'groupnorm' && n.groups === cv.channels)
      refuse(
        'groupnorm with fewer groups than channels for the conv theory: instance norm (G = C) normalizes each channel over its positions alone, statistics that do not concentrate as C → ∞',
      );
    if (n.kind === 'groupnorm' && cv.sigmaB2 !== 0)
      refuse(
        'a bias-free conv (sigmaB2 0) before a groupnorm for the conv theory: its map carries no bias, which GroupNorm, unlike BatchNorm2d, does not remove',
      );
    out.push({
      kind: 'conv-bn-act',
      norm: n.kind,
      kernel: cv.kernel,
      stride: cv.stride,
      sigmaW2: cv.sigmaW2,
      gamma: n.gamma,
      beta: n.beta,
      eps: n.eps,
      activation: a.activation,
    });
    c = cv.channels;
  }
  if (spec.batch === null) refuse('a batch size: the conv theory is at a finite batch (BN pools B·H·W values per channel)');
  const N = (spec.batch as number) * image.h * image.w;
  if (N > MAX_POSITIONS)
    refuse(
      `B·H·W ≤ ${MAX_POSITIONS} for the Monte Carlo mean field (it holds N × N covariances; here N = ${N}); convLeadingRate gives the large-effective-batch order`,
    );
  if (N > MAX_RESBLOCK_POSITIONS && out.some((b) => b.kind === 'resblock' && !b.projection))
    refuse(
      `B·H·W ≤ ${MAX_RESBLOCK_POSITIONS} for a resblock with an identity shortcut (the Monte Carlo keeps each particle's N × N shortcut gradient: draws·N²·8 bytes, 2 GiB at N = 1024; here N = ${N})`,
    );
  return { batch: spec.batch as number, height: image.h, width: image.w, blocks: out };
}

/** The largest B·H·W of the input image for a list with identity resblocks (their per-particle N × N matrices). */
export const MAX_RESBLOCK_POSITIONS = 512;

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
    if (l < L) {
      // the geometric mean over the runs, with sd (delta method) and the 95% interval over the runs in logs
      const s = summarize(runs.map((m) => Math.log(m.growth[l - 1])));
      const g = Math.exp(s.mean);
      out.push(record(fields, 'theory', 'grad_growth', l, g, { sd: g * s.sd, lo: Math.exp(s.lo), hi: Math.exp(s.hi), n: s.n }));
    }
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
  const allConv = o.blocks.every((b) => b.kind === 'conv-bn-act' && b.norm !== 'groupnorm');
  const uniform = o.blocks.every((b) => b.stride === 1 && !b.projection);
  const b0 = o.blocks[0];
  const kinds = [...new Set(o.blocks.map((b) => (b.kind === 'resblock' && b.projection ? 'resblock+projection' : b.kind)))].join(', ');
  const strided = o.blocks.filter((b) => b.stride > 1).length;
  const notes = [
    `conv theory (${kinds}${strided ? `; ${strided} stride-2 transitions` : ''}, B·H·W = ${o.batch}·${o.height}·${o.width}): Monte Carlo of the infinite-channel mean field under gradient independence, ${REPLICAS} runs of ${opts.draws ?? 256} particles; predictedGrowth ± ${((predictedGrowth * sd) / Math.sqrt(REPLICAS)).toPrecision(3)} (SE over the runs; per layer: sd and n on each grad_growth record)`,
    `exact at infinite channels (conv h is Gaussian per channel with the window-averaged covariance, subsampled at stride s; BatchNorm2d is the MLP's BN over the N = B·H·W positions; GroupNorm (C/G → ∞) a per-sample scale; the widths do not enter); approximate: gradient independence, the Monte Carlo error`,
    `large-effective-batch order: N_eff = ${nEff.toFixed(1)} of N = ${o.batch * o.height * o.width} (N²/Σρ², h's position correlation), λ∞(1 + c/N_eff) = ${allConv && uniform ? convLeadingRate(b0.activation, nEff, b0).toFixed(4) : 'n/a (resblocks, stage transitions or groupnorm)'}; zero padding lowers the growth near the border, which this order leaves out (docs/theory.md)`,
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
