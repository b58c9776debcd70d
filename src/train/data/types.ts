// What every data source of the trainer provides (index.ts holds the table of sources).
import type { RngName } from '../../network/index.js';

/** One batch on the host (float32, row-major). */
export interface HostBatch {
  x: Float32Array;
  n: number;
  /** Class labels, when the data is a classification problem (synthetic xent, MNIST, CSV). */
  labels: Int32Array | null;
  /** Real targets (synthetic mse: the teacher outputs), B × nOut. */
  targets: Float32Array | null;
}

export interface Dataset {
  name: string;
  dim: number;
  /** Outputs of the network (classes, or regression targets). */
  nOut: number;
  /** Training examples (null for synthetic: fresh inputs every step). */
  nTrain: number | null;
  nTest: number;
  batch(step: number, B: number): HostBatch;
  test(): HostBatch;
  describe(): Record<string, unknown>;
}

/** What a source's option parser gets: the raw options, the field they are named under, an integer reader. */
export interface ParseContext {
  raw: Record<string, unknown>;
  field: string;
  /** raw[k] (default d) as an integer in [min, max], or a TrainConfigError naming `${field}.${k}`. */
  int(k: string, d: number, min: number, max?: number): number;
}

/** One data source: its options, their validation, its input dimension and its loader. */
export interface DataSource<C extends { kind: string }> {
  /** The option names it accepts (kind included). */
  keys: readonly string[];
  parse(ctx: ParseContext): C;
  /** The input dimension the config implies, when it does (else null: the spec's inputDim). */
  dim(cfg: C): number | null;
  /** Load it; `seed` is the run's data seed, `inputDim` the spec's, `rng` the generator of its draws. */
  load(cfg: C, seed: number, inputDim: number, classify: boolean, rng: RngName): Dataset;
}
