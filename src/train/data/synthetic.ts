// Synthetic data: fresh Gaussian inputs every step with a controlled within-batch correlation, labels
// (or regression targets) from a random teacher network drawn from its own seed stream. The teacher runs
// on the sampler's float64 engine (src/sample: the walker over the layer list and its kernels, the
// TypeScript ones, so that the data do not depend on whether the native addon is built).
import {
  blocksOf,
  deriveSeed,
  drawNetwork,
  drawReadout,
  gaussianInputs,
  type Layer,
  type LinearParams,
  layersOf,
  makeSpec,
  type NetworkSpec,
  type RngName,
  SpecError,
} from '../../network/index.js';
import { sampleNet } from '../../sample/index.js';
import { TrainConfigError } from '../errors.js';
import type { DataSource, Dataset, HostBatch } from './types.js';

export interface SyntheticData {
  kind: 'synthetic';
  /** Input dimension (default: the spec's inputDim). */
  dim: number | null;
  /** Within-batch correlation ρ of the inputs: x_i = √(1−ρ)·z_i + √ρ·s with s shared by the batch. */
  rho: number;
  /** Number of outputs (classes for xent, regression targets for mse). */
  classes: number;
  /** Teacher: a random linear-act MLP drawn from its own seed stream. */
  teacherDepth: number;
  teacherWidth: number;
  teacherActivation: string;
  /** Held-out samples (one correlated block). */
  nTest: number;
}

export const synthetic: DataSource<SyntheticData> = {
  keys: ['kind', 'dim', 'rho', 'classes', 'teacherDepth', 'teacherWidth', 'teacherActivation', 'nTest'],
  parse({ raw, field, int }) {
    const rho = raw.rho ?? 0;
    if (typeof rho !== 'number' || !(rho >= 0 && rho < 1)) throw new TrainConfigError(`${field}.rho`, rho, 'a number in [0, 1)');
    const dim = raw.dim ?? null;
    if (dim !== null && (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1))
      throw new TrainConfigError(`${field}.dim`, dim, 'an integer >= 1, or null for the spec inputDim');
    const ta = raw.teacherActivation ?? 'tanh';
    if (typeof ta !== 'string') throw new TrainConfigError(`${field}.teacherActivation`, ta, 'an activation string');
    try {
      makeSpec({ activation: ta, depth: 1, width: 1 });
    } catch (e) {
      if (e instanceof SpecError) throw new TrainConfigError(`${field}.teacherActivation`, ta, e.allowed);
      throw e;
    }
    return {
      kind: 'synthetic',
      dim: dim as number | null,
      rho,
      classes: int('classes', 10, 2, 1000),
      teacherDepth: int('teacherDepth', 2, 1, 64),
      teacherWidth: int('teacherWidth', 64, 1, 4096),
      teacherActivation: ta,
      nTest: int('nTest', 512, 2, 1_000_000),
    };
  },
  dim: (cfg) => cfg.dim,
  load: (cfg, seed, inputDim, classify, rng) => new Synthetic(cfg.dim ?? inputDim, cfg, seed, classify, rng),
};

/** The teacher: a linear-act MLP of the configured depth, width and activation, σ_w² = 1, no biases, no batch. */
export function teacherSpec(cfg: SyntheticData, dim: number): NetworkSpec {
  return makeSpec({
    depth: cfg.teacherDepth,
    width: cfg.teacherWidth,
    inputDim: dim,
    order: 'linear-act',
    activation: cfg.teacherActivation,
    batch: null,
    init: { sigmaW2: 1 },
  });
}

/** Rows the teacher runs at once: its dense kernel also forms the rows × rows input Gram (for a backward it does not run), so few rows keep that cheap (64: about the cost of the product itself at the default width). */
const TEACHER_ROWS = 64;

/**
 * The teacher's outputs y = x_L Rᵀ (B × nOut, float64) for inputs x (B × inputDim): the spec's blocks
 * through the sampler's walker (sampleNet) on its TypeScript kernels, and the readout through the same
 * gemm. Every output is a sum over its inputs in index order, whatever the batch (gemm's loops), so the
 * rows are run TEACHER_ROWS at a time with the same result.
 */
export function teacherForward(
  spec: NetworkSpec,
  params: LinearParams[],
  readout: Float64Array,
  nOut: number,
  x: Float64Array,
  B: number,
): Float64Array {
  const blocks: Layer[][] = blocksOf(layersOf(spec));
  const y = new Float64Array(B * nOut);
  const nets = new Map<number, ReturnType<typeof sampleNet>>();
  for (let r0 = 0; r0 < B; r0 += TEACHER_ROWS) {
    const b = Math.min(TEACHER_ROWS, B - r0);
    let net = nets.get(b);
    if (!net) nets.set(b, (net = sampleNet(spec, params, b, 'typescript')));
    let a = x.subarray(r0 * spec.inputDim, (r0 + b) * spec.inputDim);
    let n = spec.inputDim;
    for (let l = 0; l < blocks.length; l++) {
      const r = net.forwardList(blocks[l], a, n, l > 0, { l, stats: null, inGram: null, shape: null });
      net.releaseList(blocks[l], r.caches);
      a = r.out;
      n = r.n;
    }
    net.k.gemm(false, true, b, nOut, n, 1, a, n, readout, n, 0, y.subarray(r0 * nOut, (r0 + b) * nOut), nOut);
    net.buf.give(a);
  }
  return y;
}

/** Synthetic data: fresh correlated Gaussian inputs every step, labels from a random teacher network. */
class Synthetic implements Dataset {
  readonly name = 'synthetic';
  readonly nTrain = null;
  private readonly tspec: NetworkSpec;
  private readonly teacher: LinearParams[];
  private readonly readout: Float64Array;
  private testCache: HostBatch | null = null;
  constructor(
    readonly dim: number,
    private readonly cfg: SyntheticData,
    private readonly seed: number,
    private readonly classify: boolean,
    private readonly rng: RngName,
  ) {
    this.tspec = teacherSpec(cfg, dim);
    const tseed = deriveSeed(seed, 'teacher');
    this.teacher = drawNetwork(this.tspec, tseed, { rng });
    this.readout = drawReadout(cfg.teacherWidth, cfg.classes, tseed, { rng });
  }
  get nOut(): number {
    return this.cfg.classes;
  }
  get nTest(): number {
    return this.cfg.nTest;
  }
  private make(B: number, label: string): HostBatch {
    const x64 = gaussianInputs(B, this.dim, this.seed, this.cfg.rho, label, { rng: this.rng });
    const K = this.cfg.classes;
    const y = Float32Array.from(teacherForward(this.tspec, this.teacher, this.readout, K, x64, B));
    const x = Float32Array.from(x64);
    if (!this.classify) return { x, n: B, labels: null, targets: y };
    const labels = new Int32Array(B);
    for (let i = 0; i < B; i++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (y[i * K + k] > y[i * K + best]) best = k;
      labels[i] = best;
    }
    return { x, n: B, labels, targets: null };
  }
  batch(step: number, B: number): HostBatch {
    return this.make(B, `train-${step}`);
  }
  test(): HostBatch {
    this.testCache ??= this.make(this.cfg.nTest, 'test');
    return this.testCache;
  }
  describe(): Record<string, unknown> {
    return { ...this.cfg, dim: this.dim, labels: this.classify ? 'argmax of teacher outputs' : 'teacher outputs (regression)' };
  }
}
