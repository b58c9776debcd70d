// A dataset held in memory (MNIST, CSV): a seeded split, seeded per-epoch shuffles, batches of B (the last
// partial batch dropped), so the batch of step t depends only on (seed, t).
import { DEFAULT_RNG, type RngName, uniformStreamOf } from '../../network/index.js';
import { TrainConfigError } from '../errors.js';
import type { Dataset, HostBatch } from './types.js';

/**
 * A permutation of 0..n−1 from the seeded uniform stream (seed, ...labels) of generator `rng` (Fisher–Yates;
 * Philox's 32-bit uniforms bias an index j < n by at most n·2^-32 relative).
 */
export function permutationOf(rng: RngName, n: number, seed: number, ...labels: (string | number)[]): Int32Array {
  const u = uniformStreamOf(rng, seed, ...labels);
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(u() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/** permutationOf with DEFAULT_RNG. */
export function permutation(n: number, seed: number, ...labels: (string | number)[]): Int32Array {
  return permutationOf(DEFAULT_RNG, n, seed, ...labels);
}

export class InMemory implements Dataset {
  private epoch = -1;
  private perm: Int32Array = new Int32Array(0);
  constructor(
    readonly name: string,
    readonly dim: number,
    readonly nOut: number,
    private readonly xs: Float32Array,
    private readonly ys: Int32Array,
    private readonly testX: Float32Array,
    private readonly testY: Int32Array,
    private readonly seed: number,
    private readonly info: Record<string, unknown>,
    private readonly rng: RngName = DEFAULT_RNG,
  ) {}
  get nTrain(): number {
    return this.ys.length;
  }
  get nTest(): number {
    return this.testY.length;
  }
  batch(step: number, B: number): HostBatch {
    const spe = Math.floor(this.nTrain / B);
    if (spe < 1) throw new TrainConfigError('spec.batch', B, `at most the number of training examples (${this.nTrain})`);
    const e = Math.floor(step / spe);
    if (e !== this.epoch) {
      this.perm = permutationOf(this.rng, this.nTrain, this.seed, 'shuffle', e);
      this.epoch = e;
    }
    const off = (step % spe) * B;
    const x = new Float32Array(B * this.dim);
    const labels = new Int32Array(B);
    for (let i = 0; i < B; i++) {
      const k = this.perm[off + i];
      x.set(this.xs.subarray(k * this.dim, (k + 1) * this.dim), i * this.dim);
      labels[i] = this.ys[k];
    }
    return { x, n: B, labels, targets: null };
  }
  test(): HostBatch {
    return { x: this.testX, n: this.testY.length, labels: this.testY, targets: null };
  }
  describe(): Record<string, unknown> {
    return { ...this.info, nTrain: this.nTrain, nTest: this.nTest, dim: this.dim, classes: this.nOut };
  }
}

/** The seeded split: the first nTest of a permutation for test, the next nTrain for training. */
export function split(
  n: number,
  nTest: number,
  nTrain: number,
  seed: number,
  rng: RngName = DEFAULT_RNG,
): { train: Int32Array; test: Int32Array } {
  const p = permutationOf(rng, n, seed, 'split');
  return { test: p.slice(0, nTest), train: p.slice(nTest, nTest + nTrain) };
}

/** The rows idx of a row-major array of width dim, as float32. */
export function gather(src: ArrayLike<number>, dim: number, idx: Int32Array): Float32Array {
  const out = new Float32Array(idx.length * dim);
  for (let i = 0; i < idx.length; i++) for (let j = 0; j < dim; j++) out[i * dim + j] = src[idx[i] * dim + j];
  return out;
}

export function gatherLabels(ys: Int32Array, idx: Int32Array): Int32Array {
  const out = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = ys[idx[i]];
  return out;
}
