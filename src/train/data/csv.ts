// A user's CSV file: numeric feature columns and one label column; a header row is detected.
import { readFileSync } from 'node:fs';
import type { RngName } from '../../network/index.js';
import { TrainConfigError } from '../errors.js';
import { gather, gatherLabels, InMemory, split } from './memory.js';
import type { DataSource, Dataset } from './types.js';

export interface CsvData {
  kind: 'csv';
  path: string;
  /** Label column: a header name, or a 0-based index (negative counts from the end). */
  labelColumn: string | number;
  testFraction: number;
  /** z-score the features with the training split's mean and standard deviation. */
  standardize: boolean;
}

export const csv: DataSource<CsvData> = {
  keys: ['kind', 'path', 'labelColumn', 'testFraction', 'standardize'],
  parse({ raw, field }) {
    if (typeof raw.path !== 'string' || raw.path === '') throw new TrainConfigError(`${field}.path`, raw.path, 'the path of a CSV file');
    const lc = raw.labelColumn ?? -1;
    if (!(typeof lc === 'string' || (typeof lc === 'number' && Number.isInteger(lc))))
      throw new TrainConfigError(`${field}.labelColumn`, lc, 'a header name or a 0-based column index (negative from the end)');
    const tf = raw.testFraction ?? 0.2;
    if (typeof tf !== 'number' || !(tf >= 0 && tf < 1)) throw new TrainConfigError(`${field}.testFraction`, tf, 'a number in [0, 1)');
    const st = raw.standardize ?? true;
    if (typeof st !== 'boolean') throw new TrainConfigError(`${field}.standardize`, st, 'true or false');
    return { kind: 'csv', path: raw.path, labelColumn: lc as string | number, testFraction: tf, standardize: st };
  },
  dim: csvDim,
  load: (cfg, seed, _inputDim, _classify, rng) => loadCsv(cfg, seed, rng),
};

/** Parse a CSV file: numeric features, one label column (any values; classes are its distinct values). */
function loadCsv(cfg: CsvData, seed: number, rng: RngName): Dataset {
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
    if (li < 0)
      throw new TrainConfigError(
        'data.labelColumn',
        cfg.labelColumn,
        header ? `a column of the header (${header.join(', ')})` : 'a column index (the file has no header row)',
      );
  } else {
    li = cfg.labelColumn < 0 ? ncol + cfg.labelColumn : cfg.labelColumn;
    if (li < 0 || li >= ncol)
      throw new TrainConfigError('data.labelColumn', cfg.labelColumn, `a column index from ${-ncol} to ${ncol - 1}`);
  }
  const body = header ? rows.slice(1) : rows;
  const n = body.length;
  const dim = ncol - 1;
  const xs = new Float64Array(n * dim);
  const rawLabels: string[] = [];
  for (let r = 0; r < n; r++) {
    const row = body[r];
    const line = r + (header ? 2 : 1);
    if (row.length !== ncol)
      throw new TrainConfigError('data.path', cfg.path, `${ncol} columns on every line; line ${line} has ${row.length}`);
    let j = 0;
    for (let c = 0; c < ncol; c++) {
      if (c === li) continue;
      if (!isNum(row[c]))
        throw new TrainConfigError('data.path', cfg.path, `numeric features; line ${line}, column ${c + 1} is ${JSON.stringify(row[c])}`);
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
  const s = split(n, nTest, n - nTest, seed, rng);
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
  return new InMemory(
    'csv',
    dim,
    distinct.length,
    trainX,
    gatherLabels(ys, s.train),
    testX,
    gatherLabels(ys, s.test),
    seed,
    {
      kind: 'csv',
      path: cfg.path,
      labelColumn: header ? header[li] : li,
      classValues: distinct,
      standardized: cfg.standardize,
    },
    rng,
  );
}

/** The input dimension of a CSV file (columns − 1), or null when it cannot be read (loading says why). */
function csvDim(cfg: CsvData): number | null {
  let text: string;
  try {
    text = readFileSync(cfg.path, 'utf8');
  } catch {
    return null;
  }
  const first = text
    .replace(/^\ufeff/, '')
    .split(/\r?\n/)
    .find((l) => l.trim() !== '');
  checkCsvShape(cfg.path, first);
  return first!.split(',').length - 1;
}

/** An empty CSV, or one not delimited by commas, named with what is wrong (not "inputDim: 0" later). */
function checkCsvShape(path: string, first: string | undefined): void {
  if (first === undefined)
    throw new TrainConfigError('data.path', path, 'a CSV file with rows of comma-separated values (this file is empty)');
  if (!first.includes(',')) {
    const other = [';', '\t', '|'].find((d) => first.includes(d));
    throw new TrainConfigError(
      'data.path',
      path,
      `a CSV file delimited by commas (its first row has no comma${other ? `; it looks delimited by ${JSON.stringify(other)}` : ''})`,
    );
  }
}
