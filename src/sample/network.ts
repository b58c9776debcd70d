// One real random network at initialization, in float64: forward with real batch statistics, backward
// through every normalization's full backward, per-layer statistics.
//
// A network is its layer list (layersOf(spec)); the walker here (Net) runs it block by block (blocksOf:
// block l = the l-th dense layer and what follows it, or a residual) through the table of kernels
// SAMPLE_LAYERS (src/sample/layers/, one file per kind), with the fusion rules of layers/fused.ts
// (batchnorm followed by act). Shapes are row-major, samples × units (B × n), as in PyTorch. The
// presets, for example:
//   linear-bn-act:  h = x Wᵀ + b,  ẑ = BN(h),  out = φ(γẑ + β)
//   linear-act-bn:  h = x Wᵀ + b,  a = φ(h),   out = γ·BN(a) + β
//   linear-ln-act:  h = x Wᵀ + b,  out = φ(γ·LN(h) + β)
//   residual:       out = x + scale·block(x);  preln-residual: x + scale·φ(W·LN(x) + b)
// The backward signal is renormalized to unit norm at every dense output and its log scale carried, so
// log-norms stay finite at any depth (the backward pass is linear in the upstream gradient).

import { maxOf } from '../io/arrays.js';
import {
  blocksOf,
  describeLayers,
  drawNetwork,
  drawProjection,
  drawReadout,
  fanIns,
  gaussianInputs,
  type ImageShape,
  imageOf,
  type Layer,
  type LayerKind,
  type LinearParams,
  type LossKind,
  layersOf,
  lossAndGrad,
  lossOutputs,
  type NetworkSpec,
  type RngName,
  randomTargets,
  runRng,
  SpecError,
  shapesOf,
  widths,
} from '../network/index.js';
import { GRAM_RECORDS, gramDiagnostics } from '../theory/index.js';
import {
  type Backward,
  type Buffers,
  type Forward,
  FUSIONS,
  type FusedStep,
  gramOf,
  type ReadoutState,
  SAMPLE_LAYERS,
  type SampleLayer,
  type SampleNet,
} from './layers/index.js';
import { type BackendChoice, type Kernels, kernels } from './linalg.js';

export interface ForwardBackwardOptions {
  /** Loss at the top (default: defaultLoss(spec): readout, or projection/mse where readout is constant). */
  loss?: LossKind;
  /** Within-batch correlation ρ of the Gaussian inputs (default 0). */
  inputCorrelation?: number;
  /** The generator of every draw (weights, inputs, readout or projection, targets); default DEFAULT_RNG. */
  rng?: RngName;
  /** Explicit inputs, B × inputDim row-major (default: gaussianInputs(B, inputDim, seed, ρ)). */
  inputs?: Float64Array;
  /** Matrix kernels: 'auto' (OpenBLAS if built, else TypeScript), 'native' or 'typescript'. */
  backend?: BackendChoice;
  /** Explicit weights, one per block (default: drawNetwork(spec, seed)). */
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
  /** Hook on each h_l right after block l's dense layer (layer 1..L), e.g. to perturb it in a check. */
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
   * ‖g_v‖²/‖inv ⊙ g_ẑ‖² with g_ẑ = ∂L/∂ẑ and g_v as in bnProject, the smallest over the block's BatchNorm
   * layers (NaN without BN or when g_ẑ = 0;
   * ≈ (B−2)/B for a generic gradient; at round-off, below roundOffBound(B), when L is constant).
   */
  bnRetained: Float64Array;
  /** Unscaled gradients when keepGradients was set. */
  gradients?: { dh: Float64Array[]; dW: Float64Array[] };
}

/** The kernel of a kind, typed loosely for the walker (the table itself is checked per kind). */
function kernelOf(kind: LayerKind): SampleLayer<any> {
  return SAMPLE_LAYERS[kind] as SampleLayer<any>;
}

/** The inputs do not depend on the weights, so their batch sum is fixed (a residual path reaches them). */
const INPUTS: ReadoutState = { fixed: true, inputs: true, bn: null, why: 'the inputs are fixed', tail: '', fallback: 'projection' };

/**
 * Whether the readout of the top activation is blind to the weights below a BatchNorm (ReadoutState), by
 * each kind's rule (the `readout` entry of SAMPLE_LAYERS), walking the list from the inputs:
 *   - batchnorm: out = γẑ + β with Σ_i ẑ_i = 0 per unit, whatever came before;
 *   - act: keeps it where φ is affine on what reaches it: φ linear (a piecewise-linear φ with equal
 *     slopes), or right after a BatchNorm, u = γẑ + β on one side of the kink for every ẑ: |ẑ| ≤ √(B−1)
 *     in a batch of B (biased variance; ε only shrinks it), so |β| ≥ |γ|·√(B−1); other activations
 *     (expr:, API functions) are not inspected (forwardBackward's round-off test catches them);
 *   - dense: affine with the same W, b for every sample, keeps it (the readout then depends on that W,
 *     not on anything below the BatchNorm);
 *   - layernorm, rmsnorm: per-sample normalizations (over units, not the batch) end it. LN's output sums
 *     to n·β over the units of each sample, which would make a readout row constant over units (r = c·1)
 *     constant, not a drawn one; RMSNorm fixes each sample's mean square (γ²·m/(m+ε)), which a linear
 *     readout does not see; neither is refused;
 *   - residual: x + scale·inner(x) keeps it when both terms have it (x the inputs or affine in an earlier
 *     BatchNorm output: down to the inputs).
 */
function readoutState(spec: NetworkSpec): ReadoutState {
  const walk = (layers: readonly Layer[], s: ReadoutState, last: boolean): ReadoutState => {
    layers.forEach((l, i) => {
      s = kernelOf(l.kind).readout(l, s, { batch: spec.batch, last: last && i === layers.length - 1, walk });
    });
    return s;
  };
  return walk(layersOf(spec), INPUTS, true);
}

/**
 * Why a readout loss L = Σ_i r·x_L(i) is constant for this spec (in every weight below a BatchNorm), a
 * priori, or null (readoutState: each kind's rule). For the presets: linear-act-bn always
 * (out = γẑ + β), linear-bn-act when φ(γẑ + β) is affine on the range of ẑ (φ linear, or |β| ≥ |γ|·√(B−1)
 * with a kink), each with or without residual; never for linear-act or the LayerNorm and RMSNorm presets.
 */
export function readoutConstantReason(spec: NetworkSpec): string | null {
  const s = readoutState(spec);
  if (!s.fixed || s.inputs) return null;
  const subject = spec.order === 'custom' ? `the layer list ${describeLayers(layersOf(spec))}` : `order ${spec.order}`;
  return `for ${subject} ${s.why}${s.tail}`;
}

/**
 * The loss used when none is given: readout, except where readout is constant (readoutConstantReason):
 * then the rule that made it constant says which (mse after a last BatchNorm, as linear-act-bn always
 * had; the per-sample projection where an affine φ follows BatchNorm).
 */
export function defaultLoss(spec: NetworkSpec): LossKind {
  const s = readoutState(spec);
  return s.fixed && !s.inputs ? s.fallback : 'readout';
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

/** One step of a layer list: a kind's kernel, or a fusion rule over two consecutive layers. */
type Step =
  | { layer: Layer; kernel: SampleLayer<any>; second?: undefined; fused?: undefined }
  | { layer: Layer; second: Layer; fused: FusedStep<any, any>; kernel?: undefined };

const stepMemo = new WeakMap<readonly Layer[], Step[]>();

/** The steps of a list: each layer through SAMPLE_LAYERS, except where a fusion rule takes two. */
function stepsOf(layers: readonly Layer[]): Step[] {
  let steps = stepMemo.get(layers);
  if (steps) return steps;
  steps = [];
  for (let i = 0; i < layers.length; i++) {
    const next = layers[i + 1];
    const rule = next ? FUSIONS.find((f) => f.first === layers[i].kind && f.second === next.kind) : undefined;
    if (rule) steps.push({ layer: layers[i], second: layers[++i], fused: rule.step });
    else steps.push({ layer: layers[i], kernel: kernelOf(layers[i].kind) });
  }
  stepMemo.set(layers, steps);
  return steps;
}

/** The walker: one spec's blocks through the kernel table. */
class Net implements SampleNet {
  readonly L: number;
  readonly B: number;
  readonly fin: number[];
  readonly blocks: Layer[][];
  /** The image shape entering each block (null: flat). */
  readonly blockShape: (ImageShape | null)[];
  /** Units of the network's output (the last block's width; for an image net, what its list ends with). */
  readonly outN: number;
  readonly k: Kernels;
  readonly buf: Buffers;
  readonly mean: Float64Array;
  readonly variance: Float64Array;
  readonly s1: Float64Array;
  readonly s2: Float64Array;
  /** The block output's Gram, both triangles, for its diagnostics. */
  readonly fullGram: Float64Array;
  /** Buffers the kernels must not hand back: the inputs and the checkpoints. */
  readonly kept = new Set<Float64Array>();

  constructor(
    readonly spec: NetworkSpec,
    readonly params: LinearParams[],
    batch: number,
    backend: BackendChoice,
    readonly perturb: ForwardBackwardOptions['perturb'],
    readonly keepInputs: boolean,
  ) {
    this.L = spec.depth;
    this.B = batch;
    const layers = layersOf(spec);
    this.blocks = blocksOf(layers);
    const image = imageOf(spec);
    let nMax = Math.max(maxOf(widths(spec)), spec.inputDim);
    if (image) {
      // an image net: each block's input size and shape follow the list (shapesOf)
      const shapes = shapesOf(layers, spec.inputDim, image);
      const at = this.blocks.map((b) => layers.indexOf(b[0]));
      this.fin = at.map((i) => shapes[i].n);
      this.blockShape = at.map((i) => shapes[i].shape);
      nMax = Math.max(nMax, ...shapes.map((s) => s.n));
      this.outN = shapes[shapes.length - 1].n;
    } else {
      this.fin = fanIns(spec);
      this.blockShape = this.blocks.map(() => null);
      this.outN = widths(spec)[this.L - 1];
    }
    this.k = kernels(backend);
    this.mean = new Float64Array(nMax);
    this.variance = new Float64Array(nMax);
    this.s1 = new Float64Array(nMax);
    this.s2 = new Float64Array(nMax);
    this.fullGram = new Float64Array(batch * batch);
    const kept = this.kept;
    this.buf = {
      take: (len) => pool.take(len),
      give: (a) => {
        if (a && !kept.has(a)) pool.give(a);
      },
    };
  }

  forwardList(
    layers: readonly Layer[],
    x: Float64Array,
    n: number,
    owned: boolean,
    f: Forward,
  ): { out: Float64Array; n: number; caches: unknown[] } {
    const caches: unknown[] = [];
    for (const s of stepsOf(layers)) {
      const r = s.fused ? s.fused.forward(this, s.layer, s.second, x, n, owned, f) : s.kernel.forward(this, s.layer, x, n, owned, f);
      caches.push(r.cache);
      x = r.out;
      n = r.n;
      owned = true;
    }
    return { out: x, n, caches };
  }

  backwardList(layers: readonly Layer[], caches: unknown[], g: Float64Array, b: Backward): Float64Array | null {
    const steps = stepsOf(layers);
    let cur: Float64Array | null = g;
    for (let i = steps.length - 1; i >= 0; i--) {
      const s = steps[i];
      if (cur === null) this.releaseStep(s, caches[i]);
      else
        cur = s.fused ? s.fused.backward(this, s.layer, s.second, caches[i], cur, b) : s.kernel.backward(this, s.layer, caches[i], cur, b);
    }
    return cur;
  }

  releaseList(layers: readonly Layer[], caches: unknown[]): void {
    stepsOf(layers).forEach((s, i) => {
      this.releaseStep(s, caches[i]);
    });
  }

  private releaseStep(s: Step, cache: unknown): void {
    if (s.fused) s.fused.release(this, cache);
    else s.kernel.release(this, s.layer, cache);
  }

  cacheBytesList(layers: readonly Layer[], n: number): number {
    let bytes = 0;
    for (const s of stepsOf(layers)) {
      bytes += s.fused ? s.fused.cacheBytes(this, n) : s.kernel.cacheBytes(this, s.layer, n);
      if (s.layer.kind === 'dense') n = s.layer.width;
    }
    return bytes;
  }

  cacheBytes(l: number): number {
    return this.cacheBytesList(this.blocks[l], this.fin[l]);
  }

  /**
   * Forward through block l (0-based) from x (B × fin[l], left untouched) with its Gram gx (handed over);
   * returns the output, its Gram and the block's caches, and writes statistics when stats is given.
   */
  forwardBlock(
    l: number,
    x: Float64Array,
    gx: Float64Array,
    stats: LayerStats | null,
  ): { out: Float64Array; gram: Float64Array; caches: unknown[] } {
    const B = this.B;
    const f: Forward = { l, stats, inGram: { x, gram: gx }, shape: this.blockShape[l] };
    const { out, n, caches } = this.forwardList(this.blocks[l], x, this.fin[l], false, f);
    if (f.inGram) this.buf.give(f.inGram.gram); // no dense layer read the block input
    const gram = gramOf(this, out, n);
    if (stats) {
      stats.corr[l] = meanCosine(gram, B);
      if (B >= 4) {
        const full = this.fullGram;
        for (let i = 0; i < B; i++) for (let j = i; j < B; j++) full[i * B + j] = full[j * B + i] = gram[i * B + j];
        const d = gramDiagnostics(full, B);
        for (const [q, k] of GRAM_RECORDS) stats.gram[q][l] = d[k];
      }
    }
    return { out, gram, caches };
  }
}

/** A walker for kernels run one by one (the Jacobian sampler): no hook, no kept inputs. */
export function sampleNet(spec: NetworkSpec, params: LinearParams[], batch: number, backend: BackendChoice = 'auto'): SampleNet {
  return new Net(spec, params, batch, backend, undefined, false);
}

function emptyStats(L: number, B: number, loss: LossKind, backend: string): LayerStats {
  const nan = () => new Float64Array(L).fill(Number.NaN);
  return {
    depth: L,
    batch: B,
    loss: Number.NaN,
    lossKind: loss,
    backend,
    preactVar: nan(),
    postactMean: nan(),
    postactVar: nan(),
    corr: new Float64Array(L),
    gram: Object.fromEntries(GRAM_RECORDS.map(([q]) => [q, nan()])) as LayerStats['gram'],
    logGradHSq: new Float64Array(L),
    logGradWSq: new Float64Array(L),
    gradHSq: new Float64Array(L),
    gradWSq: new Float64Array(L),
    gradGrowth: new Float64Array(L),
    bnRetained: nan(),
  };
}

/**
 * One network of the spec at initialization (weights drawNetwork(spec, seed), inputs
 * gaussianInputs(B, inputDim, seed, ρ), readout drawReadout(width_L, nOut, seed), targets
 * randomTargets(loss, B, seed), all with generator opts.rng, default DEFAULT_RNG): forward, loss, backward,
 * per-layer statistics. Synchronous, float64.
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
  const draw = { rng: runRng(opts.rng) };
  // a drawn network's weights go back to `spare` below, so that the next seed of the same shapes is drawn into them
  const reuse = opts.params ? null : takeSpare();
  const params = opts.params ?? drawNetwork(spec, seed, draw, reuse ?? undefined);
  const net = new Net(spec, params, B, opts.backend ?? 'auto', opts.perturb, opts.keepGradients ?? false);
  const buf = net.buf;
  const x0 = opts.inputs ?? gaussianInputs(B, spec.inputDim, seed, opts.inputCorrelation ?? 0, 'x', draw);
  if (x0.length !== B * spec.inputDim) {
    throw new SpecError('inputs', `Float64Array(${x0.length})`, `batch × inputDim = ${B} × ${spec.inputDim} = ${B * spec.inputDim} values`);
  }
  net.kept.add(x0);
  const nL = net.outN;
  const nOut = lossOutputs(loss);
  const projection = loss === 'projection';
  const R = opts.readout ?? (projection ? drawProjection(B, nL, seed, draw) : drawReadout(nL, nOut, seed, draw));
  const rRows = projection ? B : nOut;
  if (R.length !== rRows * nL) {
    const what = projection ? `batch × width_L = ${B} × ${nL}` : `nOut × width_L = ${nOut} × ${nL}`;
    throw new SpecError('readout', `Float64Array(${R.length})`, `${what} = ${rRows * nL} values for loss ${loss}`);
  }
  const targets = randomTargets(loss, B, seed, 0, draw);

  const stats = emptyStats(L, B, loss, net.k.name);

  // Forward: keep every block's caches if they fit the budget, else checkpoints every `seg` blocks.
  const budget = opts.memoryBudgetBytes ?? 256 * 2 ** 20;
  let total = 0;
  for (let l = 0; l < L; l++) total += net.cacheBytes(l);
  const keepAll = total <= budget;
  const seg = keepAll ? L : Math.max(1, Math.ceil(Math.sqrt(L)));
  const caches: (unknown[] | null)[] = new Array(L).fill(null);
  const checkpoints = new Map<number, { x: Float64Array; g: Float64Array }>();
  let x = x0;
  let gx = gramOf(net, x0, spec.inputDim);
  for (let l = 0; l < L; l++) {
    if (!keepAll && l % seg === 0) {
      checkpoints.set(l, { x, g: gx });
      net.kept.add(x).add(gx);
    }
    const r = net.forwardBlock(l, x, gx, stats);
    if (keepAll) caches[l] = r.caches;
    else net.releaseList(net.blocks[l], r.caches);
    buf.give(x);
    x = r.out;
    gx = r.gram;
  }
  buf.give(gx);

  // Loss at the top: y = x_L Rᵀ, or y_i = r_iᵀ x_L(i) for the projection loss.
  const y = new Float64Array(B * nOut);
  let g: Float64Array | null = buf.take(B * nL);
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
  buf.give(x);

  // Backward, block by block from the top; g = e^{−logScale} ∂L/∂x_l.
  const keep = opts.keepGradients ? { dh: new Array<Float64Array>(L), dW: new Array<Float64Array>(L) } : undefined;
  let logScale = 0;
  for (let l = L - 1; l >= 0; l--) {
    let blockCaches = caches[l];
    if (!blockCaches) {
      // recompute this segment's caches from its checkpoint (segments are visited top-down, once)
      const start = l - (l % seg);
      const cp = checkpoints.get(start)!;
      checkpoints.delete(start);
      net.kept.delete(cp.x);
      net.kept.delete(cp.g);
      let xs = cp.x;
      let gs = cp.g;
      for (let m = start; m <= l; m++) {
        const r = net.forwardBlock(m, xs, gs, null);
        caches[m] = r.caches;
        buf.give(xs);
        xs = r.out;
        gs = r.gram;
      }
      buf.give(xs);
      buf.give(gs);
      blockCaches = caches[l]!;
    }
    caches[l] = null;
    if (g === null) {
      // the gradient vanished above
      stats.logGradHSq[l] = Number.NEGATIVE_INFINITY;
      stats.logGradWSq[l] = Number.NEGATIVE_INFINITY;
      net.releaseList(net.blocks[l], blockCaches);
      continue;
    }
    const b: Backward = { l, stats, needInput: l > 0, logScale, r: Number.NaN, dead: false, acc: null, projections: [], keep };
    g = net.backwardList(net.blocks[l], blockCaches, g, b);
    logScale = b.logScale;
    for (const { projected, entered } of b.projections) {
      if (!(entered > 0 && Number.isFinite(entered))) continue;
      // BN's projection cancelled the gradient down to round-off: the loss is constant in the weights
      const retained = projected / entered;
      if (!(retained >= stats.bnRetained[l])) stats.bnRetained[l] = retained;
      if (retained < bound) throw new RoundOffGradientError(loss, l + 1, L, retained, Math.exp(stats.logGradHSq[l]), bound);
    }
    if (b.dead) g = null;
  }
  for (let l = 0; l < L; l++) {
    stats.gradHSq[l] = Math.exp(stats.logGradHSq[l]);
    stats.gradWSq[l] = Math.exp(stats.logGradWSq[l]);
    stats.gradGrowth[l] = l < L - 1 ? Math.exp(stats.logGradHSq[l] - stats.logGradHSq[l + 1]) : Number.NaN;
  }
  if (keep) stats.gradients = keep;
  if (!opts.params) giveSpare(params);
  return stats;
}

/**
 * The weights of the last network forwardBackward drew in this thread (nothing else holds them), for the next
 * one to be drawn into (drawNetwork's `into`): 32 fresh 512×512 arrays a seed cost page faults and garbage
 * collection. Taken while a call runs (so a nested call draws fresh arrays), and held only up to 256 MiB.
 */
let spare: LinearParams[] | null = null;
const SPARE_MAX_BYTES = 256 * 2 ** 20;

function takeSpare(): LinearParams[] | null {
  const s = spare;
  spare = null;
  return s;
}

function giveSpare(params: LinearParams[]): void {
  let bytes = 0;
  for (const p of params) bytes += 8 * (p.W.length + p.b.length);
  if (bytes <= SPARE_MAX_BYTES) spare = params;
}

/**
 * One layer list alone, for checks (test/sample/layers.test.ts): out = list(x) for x (B × n, B =
 * spec.batch) and, for the scalar f = Σ G ⊙ out, the unscaled ∂f/∂x and, when the list holds a dense
 * layer, ∂f/∂W. The dense layer is block `block` of `params` (default 1: not the first block, so that ∂f/∂x
 * is computed); the spec only sizes the scratch (its widths and inputDim must cover the list's).
 */
export function layerListCheck(
  spec: NetworkSpec,
  layers: Layer[],
  x: Float64Array,
  G: Float64Array,
  opts: { params?: LinearParams[]; block?: number; backend?: BackendChoice; shape?: ImageShape } = {},
): { out: Float64Array; dx: Float64Array | null; dW: Float64Array | null } {
  const B = spec.batch as number;
  const block = opts.block ?? 1;
  const net = new Net(spec, opts.params ?? [], B, opts.backend ?? 'typescript', undefined, true);
  const stats = emptyStats(Math.max(spec.depth, block + 1), B, 'readout', net.k.name);
  const r = net.forwardList(layers, x, x.length / B, false, { l: block, stats, inGram: null, shape: opts.shape ?? null });
  const out = Float64Array.from(r.out);
  const keep = { dh: [] as Float64Array[], dW: [] as Float64Array[] };
  const b: Backward = { l: block, stats, needInput: true, logScale: 0, r: Number.NaN, dead: false, acc: null, projections: [], keep };
  const dx = net.backwardList(layers, r.caches, Float64Array.from(G), b);
  const e = Math.exp(b.logScale);
  return { out, dx: dx ? dx.map((v) => v * e) : null, dW: keep.dW[block] ?? null };
}
