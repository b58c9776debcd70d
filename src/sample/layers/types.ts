// The contract between the sampler's walker (Net in ../network.ts) and its layer kernels (one file per
// LayerKind here, gathered in SAMPLE_LAYERS by index.ts). Shapes are row-major B × n (samples × units),
// float64.
//
// Buffers. A kernel's forward gets its input x and `owned`: when owned, x is the kernel's to keep in its
// cache, overwrite or give back; when not (a block input, which the residual path and the checkpoints may
// still need), it must leave x untouched. The output is always a fresh buffer the caller owns. A
// backward gets ∂L/∂out (owned; it may work in place) and returns ∂L/∂in (owned), or null where nothing
// below needs it (the first block's input, or a gradient that vanished).
//
// Scale. The backward signal is carried as e^{−logScale}·∂L/∂(·). The dense layer renormalizes it to
// unit norm at its output h and folds the factor r = 1/‖∂L/∂h‖ into its product with W; whatever else is
// in flight in the block (a residual's identity path) is multiplied by the same r (Backward.r).
import type { ImageShape, Layer, LayerKind, LayerOf, LinearParams, LossKind, MaybeSupported } from '../../network/index.js';
import type { Kernels } from '../linalg.js';
import type { LayerStats } from '../network.js';

/** Reused float64 buffers (a per-call view of the thread's pool: some buffers are protected from reuse). */
export interface Buffers {
  take(len: number): Float64Array;
  /** Hand a buffer back (a protected one, e.g. the inputs or a checkpoint, is kept). Null is ignored. */
  give(a: Float64Array | null | undefined): void;
}

/** What a kernel sees of the network it runs in. */
export interface SampleNet {
  readonly B: number;
  readonly k: Kernels;
  readonly buf: Buffers;
  /** Per-unit scratch, as long as the widest layer (contents undefined between calls). */
  readonly mean: Float64Array;
  readonly variance: Float64Array;
  readonly s1: Float64Array;
  readonly s2: Float64Array;
  /** Block l's dense weights (one dense layer per block). */
  readonly params: LinearParams[];
  /** Hook on each dense output h_l (layer 1..L), e.g. to perturb it in a check. */
  readonly perturb?: (layer: number, h: Float64Array) => void;
  /** Keep each dense layer's input for the explicit ∂L/∂W (keepGradients; small nets only). */
  readonly keepInputs: boolean;
  /** The walker, for kinds that hold a layer list (residual): the same table, the same fusion rules. */
  forwardList(
    layers: readonly Layer[],
    x: Float64Array,
    n: number,
    owned: boolean,
    f: Forward,
  ): { out: Float64Array; n: number; caches: unknown[] };
  backwardList(layers: readonly Layer[], caches: unknown[], g: Float64Array, b: Backward): Float64Array | null;
  releaseList(layers: readonly Layer[], caches: unknown[]): void;
  cacheBytesList(layers: readonly Layer[], n: number): number;
}

/** The forward pass through one block. */
export interface Forward {
  /** Block index, 0-based (records say layer l + 1). */
  readonly l: number;
  /** Where the block's statistics go (null when recomputing a segment from a checkpoint). */
  readonly stats: LayerStats | null;
  /**
   * The Gram x xᵀ (upper triangle, B × B) of the block input x, already computed for the previous block's
   * statistics. A dense layer whose input is x takes it (sets this to null and owns the Gram).
   */
  inGram: { x: Float64Array; gram: Float64Array } | null;
  /**
   * The image shape of the current activation ([B, H, W, C] row-major NHWC: B × H·W·C in memory), or null
   * when it is flat; a kernel that changes it (conv2d, gap, flatten, resblock) sets it for the next.
   */
  shape: ImageShape | null;
}

/** The backward pass through one block. */
export interface Backward {
  readonly l: number;
  readonly stats: LayerStats;
  /** Whether ∂L/∂(block input) is needed (false in the first block). */
  readonly needInput: boolean;
  /** The carried gradient is e^{−logScale} times the true one. */
  logScale: number;
  /** The factor the dense layer renormalized by in this block (1/‖∂L/∂h‖ at the old scale). */
  r: number;
  /** The gradient vanished (or overflowed) at the dense output: nothing below is computed. */
  dead: boolean;
  /**
   * A residual's identity-path gradient, for a dense layer that is the residual's first inner layer to
   * accumulate into its product (C ← r·gh·W + r·C, one gemm); the dense sets it to null once folded in.
   */
  acc: Float64Array | null;
  /** Each BatchNorm's backward projection in the block: ‖g after‖² and ‖inv ⊙ g before‖². */
  projections: { projected: number; entered: number }[];
  /** Unscaled ∂L/∂h_l and ∂L/∂W_l (keepGradients). */
  keep?: { dh: Float64Array[]; dW: Float64Array[] };
}

/**
 * Whether the readout L = Σ_i r·v_i of the current activation v is blind to the weights below some
 * BatchNorm: `fixed` when v is an affine function of a BatchNorm output ẑ with the same coefficients for
 * every sample (v_i = A·ẑ_i + c), so that L = r·A·Σ_i ẑ_i + B·r·c with Σ_i ẑ_i = 0 per unit, and BN's backward
 * projection leaves round-off of ∂L/∂(everything below); or `inputs` (the raw inputs: no weights at all).
 *   bn: v = γẑ + β per unit exactly (right after a BatchNorm, or a φ linear on its range), |ẑ| ≤ √(B−1);
 *   why + tail: the reason, as the refusal and the default loss's note print it; fallback: the default
 *   loss that replaces the readout.
 */
export type ReadoutState =
  | { fixed: false }
  | { fixed: true; inputs: boolean; bn: { gamma: number; beta: number } | null; why: string; tail: string; fallback: LossKind };

export interface ReadoutContext {
  batch: number | null;
  /** Whether the layer is the last of the network (inside a residual: the last of a last residual). */
  last: boolean;
  /** The same rules over an inner list (residual). */
  walk(layers: readonly Layer[], s: ReadoutState, last: boolean): ReadoutState;
}

/** One kind's float64 kernel. C is its cache type. */
export interface SampleLayer<K extends LayerKind, C = any> extends MaybeSupported {
  /** x (B × n) → out (B × n′); n′ = n except for dense. Writes the kind's share of the block's statistics. */
  forward(
    net: SampleNet,
    layer: LayerOf<K>,
    x: Float64Array,
    n: number,
    owned: boolean,
    f: Forward,
  ): { out: Float64Array; n: number; cache: C };
  /** ∂L/∂out (owned) → ∂L/∂in, or null where nothing below needs it; hands the cache back. */
  backward(net: SampleNet, layer: LayerOf<K>, cache: C, g: Float64Array, b: Backward): Float64Array | null;
  /** Hand the cache back without a backward pass. */
  release(net: SampleNet, layer: LayerOf<K>, cache: C): void;
  /** Bytes the cache holds for an input of width n. */
  cacheBytes(net: SampleNet, layer: LayerOf<K>, n: number): number;
  /** How the kind maps the readout-degeneracy state (ReadoutState). */
  readout(layer: LayerOf<K>, s: ReadoutState, c: ReadoutContext): ReadoutState;
}

/** The table: every kind has its kernel (a missing kind is a compile error). */
export type SampleLayerTable = { [K in LayerKind]: SampleLayer<K> };

/** Per-unit batch mean and biased variance of v (B × n) in one pass, shifted by the first sample so
 * that a large common offset does not cancel; returns the mean over units of the variance. */
export function batchStats(v: Float64Array, B: number, n: number, mean: Float64Array, variance: Float64Array): number {
  mean.fill(0, 0, n);
  variance.fill(0, 0, n);
  for (let i = 1; i < B; i++) {
    const r = i * n;
    for (let k = 0; k < n; k++) {
      const d = v[r + k] - v[k];
      mean[k] += d;
      variance[k] += d * d;
    }
  }
  let s = 0;
  for (let k = 0; k < n; k++) {
    const m = mean[k] / B;
    const vk = Math.max(0, variance[k] / B - m * m);
    mean[k] = v[k] + m;
    variance[k] = vk;
    s += vk;
  }
  return s / n;
}

export function meanOf(v: Float64Array, n: number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s += v[k];
  return s / n;
}

/** x itself when the kernel owns it, else a copy (for a kernel that keeps or overwrites its input). */
export function ownedCopy(net: SampleNet, x: Float64Array, owned: boolean): Float64Array {
  if (owned) return x;
  const c = net.buf.take(x.length);
  c.set(x);
  return c;
}
