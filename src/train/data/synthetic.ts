// Synthetic data: fresh Gaussian inputs every step with a controlled within-batch correlation, labels
// (or regression targets) from a random teacher network drawn from its own seed stream.
import { activationOf, deriveSeed, drawNetwork, drawReadout, gaussianInputs, makeSpec, SpecError } from '../../network/index.js';
import { TrainConfigError } from '../errors.js';
import type { Dataset, DataSource, HostBatch } from './types.js';

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
  load: (cfg, seed, inputDim, classify) => new Synthetic(cfg.dim ?? inputDim, cfg, seed, classify),
};

/** Synthetic data: fresh correlated Gaussian inputs every step, labels from a random teacher network. */
class Synthetic implements Dataset {
  readonly name = 'synthetic';
  readonly nTrain = null;
  private readonly teacher: { W: Float64Array; nOut: number; nIn: number; b: Float64Array }[];
  private readonly readout: Float64Array;
  private readonly phi: (x: number) => number;
  private testCache: HostBatch | null = null;
  constructor(
    readonly dim: number,
    private readonly cfg: SyntheticData,
    private readonly seed: number,
    private readonly classify: boolean,
  ) {
    const tspec = makeSpec({
      depth: cfg.teacherDepth,
      width: cfg.teacherWidth,
      inputDim: dim,
      order: 'linear-act',
      activation: cfg.teacherActivation,
      batch: null,
      init: { sigmaW2: 1 },
    });
    const tseed = deriveSeed(seed, 'teacher');
    this.teacher = drawNetwork(tspec, tseed);
    this.readout = drawReadout(cfg.teacherWidth, cfg.classes, tseed);
    this.phi = activationOf(tspec).phi;
  }
  get nOut(): number {
    return this.cfg.classes;
  }
  get nTest(): number {
    return this.cfg.nTest;
  }
  private make(B: number, label: string): HostBatch {
    const x64 = gaussianInputs(B, this.dim, this.seed, this.cfg.rho, label);
    // teacher forward in float64: a ← φ(W a + b) per layer, outputs y = a R^T
    let a = x64;
    let nIn = this.dim;
    for (const L of this.teacher) {
      const next = new Float64Array(B * L.nOut);
      for (let i = 0; i < B; i++) {
        for (let o = 0; o < L.nOut; o++) {
          let s = L.b[o];
          for (let j = 0; j < nIn; j++) s += L.W[o * nIn + j] * a[i * nIn + j];
          next[i * L.nOut + o] = this.phi(s);
        }
      }
      a = next;
      nIn = L.nOut;
    }
    const K = this.cfg.classes;
    const y = new Float32Array(B * K);
    for (let i = 0; i < B; i++)
      for (let k = 0; k < K; k++) {
        let s = 0;
        for (let j = 0; j < nIn; j++) s += this.readout[k * nIn + j] * a[i * nIn + j];
        y[i * K + k] = s;
      }
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
