// One real random network at initialization, in float64: forward with BatchNorm batch statistics,
// backward through BN's full backward (mean and variance paths), per-layer statistics.
//
// Shapes are row-major, samples × units (B × n), as in PyTorch. Block l (1..L) of each order:
//   linear-bn-act:  h = x Wᵀ + b,  ẑ = BN(h),  out = φ(γẑ + β)
//   linear-act-bn:  h = x Wᵀ + b,  a = φ(h),   out = γ·BN(a) + β
//   linear-act:     h = x Wᵀ + b,  out = φ(h)
//   residual:       out = x + scale·block(x)
// BN uses the biased batch variance and ε: ẑ = (v − mean_B v)/√(var_B v + ε) (PyTorch training mode).
// The backward signal is renormalized to unit norm after every layer and its log scale carried, so
// log-norms stay finite at any depth (the backward pass is linear in the upstream gradient).
import { activationOf, drawNetwork, drawProjection, drawReadout, fanIns, gaussianInputs, type LinearParams, type LossKind, lossAndGrad, lossOutputs, type NetworkSpec, randomTargets, SpecError, widths } from '../network/index.js';
import { GRAM_RECORDS, gramDiagnostics } from '../theory/index.js';
import { type BackendChoice, type Kernels, kernels } from './linalg.js';
import { maxOf } from '../io/arrays.js';

export interface ForwardBackwardOptions {
  /** Loss at the top (default: defaultLoss(spec): readout, or projection/mse where readout is constant). */
  loss?: LossKind;
  /** Within-batch correlation ρ of the Gaussian inputs (default 0). */
  inputCorrelation?: number;
  /** Explicit inputs, B × inputDim row-major (default: gaussianInputs(B, inputDim, seed, ρ)). */
  inputs?: Float64Array;
  /** Matrix kernels: 'auto' (OpenBLAS if built, else TypeScript), 'native' or 'typescript'. */
  backend?: BackendChoice;
  /** Explicit weights (default: drawNetwork(spec, seed)). */
  params?: LinearParams[];
  /**
   * Explicit readout, nOut × width_L (default: drawReadout(width_L, nOut, seed)); for the projection
   * loss the per-sample projection, B × width_L (default: drawProjection(B, width_L, seed)).
   */
  readout?: Float64Array;
  /** Memory for cached activations; deeper nets recompute segments from checkpoints (default 256 MiB). */
  memoryBudgetBytes?: number;
  /** Return the unscaled gradients ∂L/∂h_l and ∂L/∂W_l (small nets only; for checks). */
  keepGradients?: boolean;
  /** Hook on each h_l right after the Linear layer (layer 1..L), e.g. to perturb it in a check. */
  perturb?: (layer: number, h: Float64Array) => void;
}

/** Per-layer statistics of one network (index l−1 holds block l). */
export interface LayerStats {
  depth: number;
  batch: number;
  loss: number;
  lossKind: LossKind;
  backend: string;
  /** Batch variance of the pre-normalization Linear output h_l, mean over units. */
  preactVar: Float64Array;
  /** Batch mean and variance of the activation output φ, mean over units. */
  postactMean: Float64Array;
  postactVar: Float64Array;
  /** Mean over sample pairs i<j of the cosine similarity of block outputs. */
  corr: Float64Array;
  /**
   * Diagnostics of the block output's batch Gram that see it leave BSB1 (theory's gramDiagnostics, the same
   * function the Gram dynamics use): per-sample centred-norm spread, distinct samples, effective rank, the L
   * and M components of the deviation from BSB1. NaN for B < 4.
   */
  gram: Record<(typeof GRAM_RECORDS)[number][0], Float64Array>;
  /** ln ‖∂L/∂h_l‖² and ln ‖∂L/∂W_l‖² (absolute, natural log; −∞ if the gradient vanishes). */
  logGradHSq: Float64Array;
  logGradWSq: Float64Array;
  /** exp of the above; Infinity when it overflows float64 (very deep nets: use the logs). */
  gradHSq: Float64Array;
  gradWSq: Float64Array;
  /** ‖∂L/∂h_l‖² / ‖∂L/∂h_{l+1}‖² for l = 1..L−1 (NaN at l = L). */
  gradGrowth: Float64Array;
  /**
   * Fraction of the squared gradient that survives BatchNorm's backward projection in block l:
   * ‖g_v‖²/‖inv ⊙ g_ẑ‖² with g_ẑ = ∂L/∂ẑ and g_v as in bnBackward (NaN without BN or when g_ẑ = 0;
   * ≈ (B−2)/B for a generic gradient; at round-off, below roundOffBound(B), when L is constant).
   */
  bnRetained: Float64Array;
  /** Unscaled gradients when keepGradients was set. */
  gradients?: { dh: Float64Array[]; dW: Float64Array[] };
}

/**
 * Why a readout loss L = Σ_i r·x_L(i) is constant for this spec, a priori, or null. Each unit's BN output
 * sums to zero over the batch (Σ_i ẑ_i = 0), so L is constant whenever the last block's output is an
 * affine function of ẑ with the same coefficients for every sample:
 *   - linear-act-bn: out = γẑ + β always;
 *   - linear-bn-act with φ̃(z) = φ(γz + β) affine on the range of ẑ: a piecewise-linear φ (slopes a, b)
 *     with a = b, or with the kink outside u = γẑ + β for every possible ẑ; |ẑ| ≤ √(B−1) for a batch of B
 *     (biased variance; ε only shrinks it), so |β| ≥ |γ|·√(B−1) keeps u on one side (γ = 0: φ̃ constant).
 * A residual path does not help: L = Σ_i r·x_{L−1}(i) + const, and so on down to the inputs. Other
 * activations (expr:, API functions) are not inspected here; forwardBackward's round-off test catches
 * them.
 */
export function readoutConstantReason(spec: NetworkSpec): string | null {
  const { gamma, beta } = spec.bn;
  if (spec.order === 'linear-act-bn') {
    return 'for order linear-act-bn the last block ends in BatchNorm, out = γẑ + β, and Σ_i ẑ_i = 0 per unit, so the readout L = Σ_i r·x_L(i) is constant and its gradients are zero up to round-off';
  }
  if (spec.order !== 'linear-bn-act') return null;
  const act = activationOf(spec);
  const f = 'family' in act ? act.family : undefined;
  if (!f || spec.batch === null) return null;
  const reach = Math.abs(gamma) * Math.sqrt(spec.batch - 1);
  const oneSided = beta >= reach || beta <= -reach;
  if (f.a !== f.b && !oneSided) return null;
  const why =
    f.a === f.b
      ? `φ = ${act.name} is linear`
      : `γẑ + β stays on one side of ${act.name}'s kink for every batch of ${spec.batch} (|β| = ${Math.abs(beta)} ≥ |γ|·√(B−1) = ${reach.toPrecision(4)})`;
  return `for order linear-bn-act with activation ${act.name}, γ = ${gamma}, β = ${beta}: ${why}, so φ(γẑ + β) is affine in the BatchNorm output ẑ, Σ_i ẑ_i = 0 per unit, and the readout L = Σ_i r·x_L(i) is constant: its gradients are round-off`;
}

/**
 * The loss used when none is given: readout, except where readout is constant (readoutConstantReason):
 * mse for linear-act-bn (as before) and the per-sample projection for linear-bn-act.
 */
export function defaultLoss(spec: NetworkSpec): LossKind {
  if (spec.order === 'linear-act-bn') return 'mse';
  return readoutConstantReason(spec) ? 'projection' : 'readout';
}

/** Refuse a readout loss that is constant for the spec, a priori (readoutConstantReason). */
export function checkLoss(spec: NetworkSpec, loss: LossKind): void {
  if (loss !== 'readout') return;
  const why = readoutConstantReason(spec);
  if (why) throw new SpecError('loss', loss, `projection, mse or xent ${why}`);
}

/** Unit roundoff of float64, 2⁻⁵³. */
const UNIT_ROUNDOFF = 2 ** -53;

/**
 * The largest bnRetained that round-off alone can produce in a batch of B, when the exact gradient after
 * BN's projection is zero (g_ẑ in span{1, ẑ} in every unit, e.g. a constant L).
 *
 * Per unit, with u = 2⁻⁵³ and γ_B = Bu/(1 − Bu): the computed batch means carry errors
 * |δ mean_B g| ≤ γ_B Σ_i|g_i|/B ≤ γ_B‖g‖/√B and |δ mean_B(g ⊙ ẑ)| ≤ γ_B‖g‖‖ẑ‖/B ≤ γ_B‖g‖/√B
 * (Cauchy–Schwarz, ‖ẑ‖² ≤ B), and each subtraction adds u of its operands, so the computed
 * g − mean_B g − ẑ·mean_B(g ⊙ ẑ) has squared norm ≤ 3(2γ_B² + 27u²)‖g‖² when the exact one is 0. The
 * stored ẑ is itself rounded (|Σ_i ẑ_i| up to ~γ_B·B per unit from the forward batch means), which adds
 * up to ~B·γ_B² more. The inv-weighted sums over units obey the same bound. We refuse below
 * 16(B+1)B²u², above all of these for every B (B = 32: 6.6·10⁻²⁷; B = 4096: 1.4·10⁻²⁰); the refused
 * cases measure 7·10⁻³³ (B = 4) to 1·10⁻²⁹ (B = 256) (test/sample/degenerate.test.ts). A real gradient
 * keeps ≈ (B−2)/B; a nearly affine φ̃ whose non-affine part is δ relative keeps ∝ δ², so only δ ≲ 4B^{3/2}u (≈ 8·10⁻¹⁴ at B = 32),
 * which float64 cannot tell from round-off, is refused. Genuinely small gradients (vanishing nets, tiny
 * φ′, deep nets without BN) are not affected: the test is relative to what entered the projection in the
 * same block, not absolute.
 */
export function roundOffBound(B: number): number {
  return 16 * (B + 1) * B * B * UNIT_ROUNDOFF * UNIT_ROUNDOFF;
}

/** A gradient at round-off after BatchNorm's backward: the loss is constant in the weights up to round-off. */
export class RoundOffGradientError extends SpecError {
  constructor(
    loss: LossKind,
    readonly layer: number,
    readonly depth: number,
    readonly retained: number,
    readonly gradHSq: number,
    readonly bound: number,
  ) {
    super(
      'loss',
      loss,
      `a loss whose gradient survives BatchNorm's backward; at layer ${layer} of ${depth} only ${retained.toExponential(2)} of the squared gradient that entered BN's projection is left (‖∂L/∂h_${layer}‖² = ${gradHSq.toExponential(2)}), below the round-off bound ${bound.toExponential(2)} (16(B+1)B²u², u = 2⁻⁵³), where a real gradient keeps ≈ (B−2)/B: the loss is constant in the weights up to round-off (use projection, or a readout that is not the same for every sample)`,
    );
    this.name = 'SpecError';
  }
}

interface Act {
  pw: boolean;
  a: number;
  b: number;
  phi: (x: number) => number;
  dphi: (x: number) => number;
}

function actOf(spec: NetworkSpec): Act {
  const act = activationOf(spec);
  const f = 'family' in act ? act.family : undefined;
  return f ? { pw: true, a: f.a, b: f.b, phi: act.phi, dphi: act.dphi } : { pw: false, a: 0, b: 0, phi: act.phi, dphi: act.dphi };
}

/**
 * Per-unit batch mean and biased variance of v (B × n) in one pass, shifted by the first sample so
 * that a large common offset does not cancel; returns the mean over units of the variance.
 */
function batchStats(v: Float64Array, B: number, n: number, mean: Float64Array, variance: Float64Array): number {
  mean.fill(0);
  variance.fill(0);
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

/**
 * linear-bn-act forward after the statistics of h: h ← ẑ in place, out = φ(γẑ + β), and the batch
 * mean and variance of out per unit, in one pass. Returns [mean over units of the mean, of the variance].
 */
function bnActForward(
  act: Act,
  h: Float64Array,
  out: Float64Array,
  B: number,
  n: number,
  mean: Float64Array,
  inv: Float64Array,
  gamma: number,
  beta: number,
  s1: Float64Array,
  s2: Float64Array,
): [number, number] {
  s1.fill(0);
  s2.fill(0);
  const pw = act.pw;
  const a = act.a;
  const b = act.b;
  const phi = act.phi;
  for (let i = 0; i < B; i++) {
    const r = i * n;
    for (let k = 0; k < n; k++) {
      const z = (h[r + k] - mean[k]) * inv[k];
      h[r + k] = z;
      const u = gamma * z + beta;
      const o = pw ? (u > 0 ? b * u : a * u) : phi(u);
      out[r + k] = o;
      s1[k] += o;
      s2[k] += o * o;
    }
  }
  let pm = 0;
  let pv = 0;
  for (let k = 0; k < n; k++) {
    const m = s1[k] / B;
    pm += m;
    pv += Math.max(0, s2[k] / B - m * m);
  }
  return [pm / n, pv / n];
}

/**
 * linear-bn-act backward from ∂L/∂out to ∂L/∂h in place (φ′, γ, then BN's full backward), in two
 * passes; returns [‖∂L/∂h‖², ‖inv ⊙ ∂L/∂ẑ‖²] (the second: what BN's projection received).
 */
function bnActBackward(
  act: Act,
  g: Float64Array,
  zhat: Float64Array,
  inv: Float64Array,
  B: number,
  n: number,
  gamma: number,
  beta: number,
  s1: Float64Array,
  s2: Float64Array,
): [number, number] {
  s1.fill(0);
  s2.fill(0);
  const pw = act.pw;
  const a = act.a;
  const b = act.b;
  const dphi = act.dphi;
  for (let i = 0; i < B; i++) {
    const r = i * n;
    for (let k = 0; k < n; k++) {
      const z = zhat[r + k];
      const u = gamma * z + beta;
      const gv = g[r + k] * gamma * (pw ? (u > 0 ? b : a) : dphi(u));
      g[r + k] = gv;
      s1[k] += gv;
      s2[k] += gv * z;
    }
  }
  for (let k = 0; k < n; k++) {
    s1[k] /= B;
    s2[k] /= B;
  }
  let sq = 0;
  let pre = 0;
  for (let i = 0; i < B; i++) {
    const r = i * n;
    for (let k = 0; k < n; k++) {
      const gv = g[r + k];
      const w = inv[k] * gv;
      pre += w * w;
      const v = inv[k] * (gv - s1[k] - zhat[r + k] * s2[k]);
      g[r + k] = v;
      sq += v * v;
    }
  }
  return [sq, pre];
}

/** Apply φ elementwise (src may equal dst). */
function applyPhi(act: Act, src: Float64Array, dst: Float64Array, len: number): void {
  if (act.pw) {
    const a = act.a;
    const b = act.b;
    for (let t = 0; t < len; t++) {
      const x = src[t];
      dst[t] = x > 0 ? b * x : a * x;
    }
  } else {
    const phi = act.phi;
    for (let t = 0; t < len; t++) dst[t] = phi(src[t]);
  }
}

/** g ← g ⊙ φ′(pre) where pre = γ·ẑ + β (affine) or pre itself. */
function mulDphi(act: Act, g: Float64Array, pre: Float64Array, len: number, gamma = 1, beta = 0): void {
  if (act.pw) {
    const a = act.a;
    const b = act.b;
    for (let t = 0; t < len; t++) g[t] *= gamma * pre[t] + beta > 0 ? b : a;
  } else {
    const dphi = act.dphi;
    for (let t = 0; t < len; t++) g[t] *= dphi(gamma * pre[t] + beta);
  }
}

/** Normalize v (B × n) in place to ẑ with the stored mean; writes 1/√(var+ε) to inv. */
function normalize(v: Float64Array, B: number, n: number, mean: Float64Array, variance: Float64Array, eps: number, inv: Float64Array): void {
  for (let k = 0; k < n; k++) inv[k] = 1 / Math.sqrt(variance[k] + eps);
  for (let i = 0; i < B; i++) {
    const r = i * n;
    for (let k = 0; k < n; k++) v[r + k] = (v[r + k] - mean[k]) * inv[k];
  }
}

/**
 * BN backward in place: g ← inv ⊙ (g − mean_B g − ẑ·mean_B(g ⊙ ẑ)), per unit (Ioffe & Szegedy 2015;
 * exact with ε because ẑ and inv both include it). Returns [‖g after‖², ‖inv ⊙ g before‖²].
 */
function bnBackward(g: Float64Array, zhat: Float64Array, inv: Float64Array, B: number, n: number, s1: Float64Array, s2: Float64Array): [number, number] {
  s1.fill(0);
  s2.fill(0);
  for (let i = 0; i < B; i++) {
    const r = i * n;
    for (let k = 0; k < n; k++) {
      const gv = g[r + k];
      s1[k] += gv;
      s2[k] += gv * zhat[r + k];
    }
  }
  for (let k = 0; k < n; k++) {
    s1[k] /= B;
    s2[k] /= B;
  }
  let sq = 0;
  let pre = 0;
  for (let i = 0; i < B; i++) {
    const r = i * n;
    for (let k = 0; k < n; k++) {
      const gv = g[r + k];
      const w = inv[k] * gv;
      pre += w * w;
      const v = inv[k] * (gv - s1[k] - zhat[r + k] * s2[k]);
      g[r + k] = v;
      sq += v * v;
    }
  }
  return [sq, pre];
}

/** Mean over i<j of G_ij/√(G_ii G_jj) from the upper triangle of a B × B Gram matrix. */
function meanCosine(G: Float64Array, B: number): number {
  let s = 0;
  let c = 0;
  for (let i = 0; i < B; i++) {
    const gi = G[i * B + i];
    if (!(gi > 0)) continue;
    for (let j = i + 1; j < B; j++) {
      const gj = G[j * B + j];
      if (!(gj > 0)) continue;
      s += G[i * B + j] / Math.sqrt(gi * gj);
      c++;
    }
  }
  return c > 0 ? s / c : Number.NaN;
}

/** Σ_ij A_ij C_ij for symmetric A, C given by their upper triangles. */
function symDot(A: Float64Array, C: Float64Array, B: number): number {
  let diag = 0;
  let off = 0;
  for (let i = 0; i < B; i++) {
    const r = i * B;
    diag += A[r + i] * C[r + i];
    for (let j = i + 1; j < B; j++) off += A[r + j] * C[r + j];
  }
  return diag + 2 * off;
}

/**
 * Reused float64 buffers: large typed arrays are external memory, and allocating a few hundred MB per
 * network makes V8 collect garbage constantly. One pool per thread; buffers come back dirty.
 */
class BufferPool {
  private free = new Map<number, Float64Array[]>();
  private bytes = 0;
  constructor(private readonly maxBytes: number) {}
  take(len: number): Float64Array {
    const list = this.free.get(len);
    const a = list?.pop();
    if (a) {
      this.bytes -= 8 * len;
      return a;
    }
    return new Float64Array(len);
  }
  give(a: Float64Array | null | undefined): void {
    if (!a || a.length === 0 || this.bytes + 8 * a.length > this.maxBytes) return;
    let list = this.free.get(a.length);
    if (!list) this.free.set(a.length, (list = []));
    list.push(a);
    this.bytes += 8 * a.length;
  }
}
const pool = new BufferPool(512 * 2 ** 20);

interface LayerCache {
  /** ẑ of the BN (B × n), or null without BN. */
  zhat: Float64Array | null;
  /** 1/√(var+ε) per BN unit. */
  inv: Float64Array | null;
  /** h (B × n), kept when φ′ is evaluated at h (linear-act-bn, linear-act). */
  h: Float64Array | null;
  /** Upper-triangular Gram x_in x_inᵀ of the block input (B × B), for ‖∂L/∂W‖² = Σ (g gᵀ) ⊙ (x xᵀ). */
  gramIn: Float64Array;
}

class Net {
  readonly L: number;
  readonly B: number;
  readonly ws: number[];
  readonly fin: number[];
  readonly act: Act;
  readonly bn: boolean;
  readonly k: Kernels;
  // scratch, one per unit
  readonly mean: Float64Array;
  readonly variance: Float64Array;
  readonly s1: Float64Array;
  readonly s2: Float64Array;
  /** The block output's Gram, both triangles, for its diagnostics. */
  readonly fullGram: Float64Array;

  constructor(
    readonly spec: NetworkSpec,
    readonly params: LinearParams[],
    batch: number,
    backend: BackendChoice,
  ) {
    this.L = spec.depth;
    this.B = batch;
    this.ws = widths(spec);
    this.fin = fanIns(spec);
    this.act = actOf(spec);
    this.bn = spec.order !== 'linear-act';
    this.k = kernels(backend);
    const nMax = Math.max(maxOf(this.ws), spec.inputDim);
    this.mean = new Float64Array(nMax);
    this.variance = new Float64Array(nMax);
    this.s1 = new Float64Array(nMax);
    this.s2 = new Float64Array(nMax);
    this.fullGram = new Float64Array(batch * batch);
  }

  gram(x: Float64Array, n: number, out: Float64Array): Float64Array {
    this.k.syrk(false, this.B, n, 1, x, n, 0, out, this.B);
    return out;
  }

  cacheBytes(l: number): number {
    const n = this.ws[l];
    const big = this.spec.order === 'linear-act-bn' ? 2 : 1;
    return 8 * (this.B * n * big + n + this.B * this.B);
  }

  /**
   * Forward through block l (0-based) from x (B × fin[l]) with its Gram gx; returns the output and its
   * Gram, fills the cache, and writes statistics when stats is given.
   */
  forwardLayer(
    l: number,
    x: Float64Array,
    gx: Float64Array,
    cache: LayerCache,
    perturb: ForwardBackwardOptions['perturb'],
    stats: LayerStats | null,
  ): { out: Float64Array; gram: Float64Array } {
    const { B, act, spec } = this;
    const n = this.ws[l];
    const nIn = this.fin[l];
    const len = B * n;
    const { W, b } = this.params[l];
    const h = pool.take(len);
    this.k.gemm(false, true, B, n, nIn, 1, x, nIn, W, nIn, 0, h, n);
    let anyBias = false;
    for (let k = 0; k < n; k++) if (b[k] !== 0) anyBias = true;
    if (anyBias) for (let i = 0; i < B; i++) for (let k = 0; k < n; k++) h[i * n + k] += b[k];
    perturb?.(l + 1, h);
    const mean = this.mean;
    const variance = this.variance;
    const pre = batchStats(h, B, n, mean, variance);
    const { gamma, beta, eps } = spec.bn;
    let out: Float64Array;
    cache.gramIn = gx;
    if (spec.order === 'linear-bn-act') {
      const inv = pool.take(n);
      for (let k = 0; k < n; k++) inv[k] = 1 / Math.sqrt(variance[k] + eps);
      out = pool.take(len);
      const [pm, pv] = bnActForward(act, h, out, B, n, mean, inv, gamma, beta, this.s1, this.s2); // h now holds ẑ
      cache.zhat = h;
      cache.inv = inv;
      cache.h = null;
      if (stats) {
        stats.postactMean[l] = pm;
        stats.postactVar[l] = pv;
      }
    } else if (spec.order === 'linear-act-bn') {
      const a = pool.take(len);
      applyPhi(act, h, a, len);
      cache.h = h;
      const pv = batchStats(a, B, n, mean, variance);
      if (stats) stats.postactVar[l] = pv;
      if (stats) stats.postactMean[l] = meanOf(mean, n);
      const inv = pool.take(n);
      normalize(a, B, n, mean, variance, eps, inv); // a now holds ẑ
      cache.zhat = a;
      cache.inv = inv;
      out = pool.take(len);
      for (let t = 0; t < len; t++) out[t] = gamma * a[t] + beta;
    } else {
      cache.h = h;
      cache.zhat = null;
      cache.inv = null;
      out = pool.take(len);
      applyPhi(act, h, out, len);
      if (stats) stats.postactVar[l] = batchStats(out, B, n, mean, variance);
    }
    if (stats) {
      stats.preactVar[l] = pre;
      if (spec.order === 'linear-act') stats.postactMean[l] = meanOf(mean, n);
    }
    if (spec.residual) {
      const s = spec.residual.scale;
      for (let t = 0; t < len; t++) out[t] = x[t] + s * out[t];
    }
    const gram = this.gram(out, n, pool.take(B * B));
    if (stats) {
      stats.corr[l] = meanCosine(gram, B);
      if (B >= 4) {
        const full = this.fullGram;
        for (let i = 0; i < B; i++) for (let j = i; j < B; j++) full[i * B + j] = full[j * B + i] = gram[i * B + j];
        const d = gramDiagnostics(full, B);
        for (const [q, k] of GRAM_RECORDS) stats.gram[q][l] = d[k];
      }
    }
    return { out, gram };
  }
}

function meanOf(v: Float64Array, n: number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s += v[k];
  return s / n;
}

function emptyCache(): LayerCache {
  return { zhat: null, inv: null, h: null, gramIn: new Float64Array(0) };
}

function releaseCache(c: LayerCache, keepGram: boolean): void {
  pool.give(c.zhat);
  pool.give(c.inv);
  pool.give(c.h);
  if (!keepGram) pool.give(c.gramIn);
}

/**
 * One network of the spec at initialization (weights drawNetwork(spec, seed), inputs
 * gaussianInputs(B, inputDim, seed, ρ), readout drawReadout(width_L, nOut, seed), targets
 * randomTargets(loss, B, seed)): forward, loss, backward, per-layer statistics. Synchronous, float64.
 */
export function forwardBackward(spec: NetworkSpec, seed: number, opts: ForwardBackwardOptions = {}): LayerStats {
  if (spec.batch === null) {
    throw new SpecError('batch', null, 'an integer batch size for sampled networks (null, the large-batch limit, is theory only)');
  }
  const B = spec.batch;
  const loss = opts.loss ?? defaultLoss(spec);
  checkLoss(spec, loss);
  const bound = roundOffBound(B);
  const L = spec.depth;
  const ws = widths(spec);
  const params = opts.params ?? drawNetwork(spec, seed);
  const net = new Net(spec, params, B, opts.backend ?? 'auto');
  const x0 = opts.inputs ?? gaussianInputs(B, spec.inputDim, seed, opts.inputCorrelation ?? 0);
  if (x0.length !== B * spec.inputDim) {
    throw new SpecError('inputs', `Float64Array(${x0.length})`, `batch × inputDim = ${B} × ${spec.inputDim} = ${B * spec.inputDim} values`);
  }
  const nL = ws[L - 1];
  const nOut = lossOutputs(loss);
  const projection = loss === 'projection';
  const R = opts.readout ?? (projection ? drawProjection(B, nL, seed) : drawReadout(nL, nOut, seed));
  const rRows = projection ? B : nOut;
  if (R.length !== rRows * nL) {
    const what = projection ? `batch × width_L = ${B} × ${nL}` : `nOut × width_L = ${nOut} × ${nL}`;
    throw new SpecError('readout', `Float64Array(${R.length})`, `${what} = ${rRows * nL} values for loss ${loss}`);
  }
  const targets = randomTargets(loss, B, seed);

  const stats: LayerStats = {
    depth: L,
    batch: B,
    loss: Number.NaN,
    lossKind: loss,
    backend: net.k.name,
    preactVar: new Float64Array(L),
    postactMean: new Float64Array(L),
    postactVar: new Float64Array(L),
    corr: new Float64Array(L),
    gram: Object.fromEntries(GRAM_RECORDS.map(([q]) => [q, new Float64Array(L).fill(Number.NaN)])) as LayerStats['gram'],
    logGradHSq: new Float64Array(L),
    logGradWSq: new Float64Array(L),
    gradHSq: new Float64Array(L),
    gradWSq: new Float64Array(L),
    gradGrowth: new Float64Array(L),
    bnRetained: new Float64Array(L).fill(Number.NaN),
  };

  // Forward: keep every layer's cache if it fits the budget, else checkpoints every `seg` layers.
  const budget = opts.memoryBudgetBytes ?? 256 * 2 ** 20;
  let total = 0;
  for (let l = 0; l < L; l++) total += net.cacheBytes(l);
  const keepAll = total <= budget;
  const seg = keepAll ? L : Math.max(1, Math.ceil(Math.sqrt(L)));
  const caches: (LayerCache | null)[] = new Array(L).fill(null);
  const checkpoints = new Map<number, { x: Float64Array; g: Float64Array }>();
  let x = x0;
  let gx = net.gram(x0, spec.inputDim, pool.take(B * B));
  for (let l = 0; l < L; l++) {
    const isCheckpoint = !keepAll && l % seg === 0;
    if (isCheckpoint) checkpoints.set(l, { x, g: gx });
    const cache = emptyCache();
    const r = net.forwardLayer(l, x, gx, cache, opts.perturb, stats);
    if (keepAll) caches[l] = cache;
    else releaseCache(cache, isCheckpoint);
    if (x !== x0 && !isCheckpoint) pool.give(x);
    x = r.out;
    gx = r.gram;
  }
  pool.give(gx);

  // Loss at the top: y = x_L Rᵀ, or y_i = r_iᵀ x_L(i) for the projection loss.
  const y = new Float64Array(B * nOut);
  let g = pool.take(B * nL);
  if (projection) {
    for (let i = 0; i < B; i++) {
      let t = 0;
      for (let k = 0; k < nL; k++) t += R[i * nL + k] * x[i * nL + k];
      y[i] = t;
    }
  } else {
    net.k.gemm(false, true, B, nOut, nL, 1, x, nL, R, nL, 0, y, nOut);
  }
  const { loss: lossValue, dy } = lossAndGrad(y, B, targets);
  stats.loss = lossValue;
  if (projection) {
    for (let i = 0; i < B; i++) for (let k = 0; k < nL; k++) g[i * nL + k] = dy[i] * R[i * nL + k];
  } else {
    net.k.gemm(false, false, B, nL, nOut, 1, dy, nOut, R, nL, 0, g, nL);
  }
  if (x !== x0) pool.give(x);

  const keep = opts.keepGradients ? { dh: new Array<Float64Array>(L), dW: new Array<Float64Array>(L) } : undefined;
  let logScale = 0; // true gradient = e^logScale · g
  const { gamma } = spec.bn;
  const resScale = spec.residual ? spec.residual.scale : 0;
  const gg = new Float64Array(B * B);
  let dead = false;
  for (let l = L - 1; l >= 0; l--) {
    let cache = caches[l];
    if (!cache) {
      // recompute this segment's caches from its checkpoint (segments are visited top-down, once)
      const start = l - (l % seg);
      const cp = checkpoints.get(start)!;
      checkpoints.delete(start);
      let xs = cp.x;
      let gs = cp.g;
      for (let m = start; m <= l; m++) {
        const c = emptyCache();
        const r = net.forwardLayer(m, xs, gs, c, opts.perturb, null);
        caches[m] = c;
        if (xs !== x0) pool.give(xs);
        xs = r.out;
        gs = r.gram;
      }
      pool.give(xs);
      pool.give(gs);
      cache = caches[l]!;
    }
    const n = ws[l];
    const nIn = net.fin[l];
    const len = B * n;
    if (dead) {
      stats.logGradHSq[l] = Number.NEGATIVE_INFINITY;
      stats.logGradWSq[l] = Number.NEGATIVE_INFINITY;
      releaseCache(cache, false);
      caches[l] = null;
      continue;
    }
    // g is ∂L/∂out_l (scaled). Residual: the identity path keeps g; the block gets scale·g.
    const gRes = spec.residual ? g : null;
    const gh = spec.residual ? pool.take(len) : g;
    if (spec.residual) for (let t = 0; t < len; t++) gh[t] = resScale * g[t];
    let sq = 0;
    let projected = Number.NaN; // ‖g‖² right after BN's projection, and what entered it
    let entered = Number.NaN;
    if (spec.order === 'linear-bn-act') {
      [sq, entered] = bnActBackward(net.act, gh, cache.zhat!, cache.inv!, B, n, gamma, spec.bn.beta, net.s1, net.s2);
      projected = sq;
    } else {
      if (spec.order === 'linear-act-bn') {
        if (gamma !== 1) for (let t = 0; t < len; t++) gh[t] *= gamma;
        [projected, entered] = bnBackward(gh, cache.zhat!, cache.inv!, B, n, net.s1, net.s2);
      }
      mulDphi(net.act, gh, cache.h!, len);
      for (let t = 0; t < len; t++) sq += gh[t] * gh[t];
    }
    if (entered > 0 && Number.isFinite(entered)) {
      // BN's projection cancelled the gradient down to round-off: the loss is constant in the weights
      const retained = projected / entered;
      stats.bnRetained[l] = retained;
      if (retained < bound) {
        // (buffers not handed back to the pool are simply collected)
        throw new RoundOffGradientError(loss, l + 1, L, retained, Math.exp(Math.log(sq) + 2 * logScale), bound);
      }
    }
    // gh = e^{-logScale} ∂L/∂h_l
    net.k.syrk(false, B, n, 1, gh, n, 0, gg, B);
    const wsq = symDot(gg, cache.gramIn, B);
    stats.logGradHSq[l] = Math.log(sq) + 2 * logScale;
    stats.logGradWSq[l] = Math.log(wsq) + 2 * logScale;
    if (keep) {
      const e = Math.exp(logScale);
      keep.dh[l] = gh.map((v) => v * e);
      keep.dW[l] = dWFull(net.k, gh, B, n, nIn, l, params, spec, x0, e);
    }
    releaseCache(cache, false);
    caches[l] = null;
    if (!(sq > 0) || !Number.isFinite(sq)) {
      dead = true;
      continue;
    }
    // renormalize the backward signal to unit norm (folded into the next product) and carry the
    // scale in logs
    const r = 1 / Math.sqrt(sq);
    logScale += 0.5 * Math.log(sq);
    if (l > 0) {
      // ∂L/∂x_{l−1} = ∂L/∂h_l · W_l (+ the residual path), both scaled by r
      const gx2 = gRes ?? pool.take(B * nIn);
      net.k.gemm(false, false, B, nIn, n, r, gh, n, params[l].W, nIn, gRes ? r : 0, gx2, nIn);
      if (gh !== gx2) pool.give(gh);
      g = gx2;
    } else {
      pool.give(gh);
      if (gRes) pool.give(gRes);
    }
  }
  for (let l = 0; l < L; l++) {
    stats.gradHSq[l] = Math.exp(stats.logGradHSq[l]);
    stats.gradWSq[l] = Math.exp(stats.logGradWSq[l]);
    stats.gradGrowth[l] = l < L - 1 ? Math.exp(stats.logGradHSq[l] - stats.logGradHSq[l + 1]) : Number.NaN;
  }
  if (keep) stats.gradients = keep;
  return stats;
}

/** Full ∂L/∂W_l = ghᵀ x_in (checks only): rebuilds x_in by a fresh forward to layer l. */
function dWFull(
  k: Kernels,
  gh: Float64Array,
  B: number,
  n: number,
  nIn: number,
  l: number,
  params: LinearParams[],
  spec: NetworkSpec,
  x0: Float64Array,
  e: number,
): Float64Array {
  const net = new Net(spec, params, B, k.name === 'openblas' ? 'native' : 'typescript');
  let x = x0;
  let gx = net.gram(x0, spec.inputDim, new Float64Array(B * B));
  for (let m = 0; m < l; m++) {
    const r = net.forwardLayer(m, x, gx, emptyCache(), undefined, null);
    x = r.out;
    gx = r.gram;
  }
  const dW = new Float64Array(n * nIn);
  k.gemm(true, false, n, nIn, B, e, gh, n, x, nIn, 0, dW, nIn);
  return dW;
}
