// Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): the 70,000 28×28 grayscale images of Debian's package
// dataset-fashion-mnist (IDX files, gzip, under /usr/share/datasets/fashion-mnist/), read with node:zlib, in the
// published split: the first nTrain of the 60,000 training images and the first nTest of the 10,000 test
// images. Pixels are byte/255 in [0, 1]; a sample is 784 values, which is the NHWC image [28, 28, 1] for a conv
// net (spec image [28, 28, 1]) and the flat vector for an MLP. Without the files: exit 2 naming the path and
// the install line.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { TrainConfigError } from '../errors.js';
import { InMemory } from './memory.js';
import type { DataSource } from './types.js';

export interface FashionData {
  kind: 'fashion-mnist';
  nTrain: number;
  nTest: number;
  /** The directory of the four IDX files (default FASHION_DIR). */
  dir: string;
}

export const FASHION_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_INSTALL = 'apt-get install -y dataset-fashion-mnist';
export const FASHION_FILES = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
} as const;
const TRAIN_TOTAL = 60000;
const TEST_TOTAL = 10000;

/** An IDX file (LeCun's format, gzip): magic 0x00000800 + type (0x08: unsigned byte) and ndims, then big-endian dims, then data. */
export function readIdx(path: string, ndims: number): { dims: number[]; data: Uint8Array } {
  let buf: Buffer;
  try {
    buf = gunzipSync(readFileSync(path));
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : `unreadable (${(e as Error).message})`;
    throw new TrainConfigError('data', path, `the Fashion-MNIST file (${why}); install it with: ${FASHION_INSTALL}`);
  }
  const bad = (what: string): never => {
    throw new TrainConfigError(
      'data',
      path,
      `an IDX file of unsigned bytes with ${ndims} dimensions (${what}); reinstall with: ${FASHION_INSTALL}`,
    );
  };
  if (buf.length < 4 + 4 * ndims) bad(`${buf.length} bytes`);
  if (buf[0] !== 0 || buf[1] !== 0 || buf[2] !== 0x08 || buf[3] !== ndims) bad(`magic ${buf.subarray(0, 4).toString('hex')}`);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(buf.readUInt32BE(4 + 4 * i));
  const n = dims.reduce((a, b) => a * b, 1);
  const off = 4 + 4 * ndims;
  if (buf.length !== off + n) bad(`${buf.length - off} data bytes for dimensions ${dims.join('×')}`);
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + off, n) };
}

/** One split: the first n images (as floats in [0, 1]) and labels of a pair of files. */
function readSplit(dir: string, images: string, labels: string, n: number, total: number): { x: Float32Array; y: Int32Array } {
  const im = readIdx(join(dir, images), 3);
  const lb = readIdx(join(dir, labels), 1);
  const path = join(dir, images);
  if (im.dims[0] !== total || im.dims[1] !== 28 || im.dims[2] !== 28)
    throw new TrainConfigError('data', path, `${total} images of 28×28 (found ${im.dims.join('×')}); reinstall with: ${FASHION_INSTALL}`);
  if (lb.dims[0] !== total) throw new TrainConfigError('data', join(dir, labels), `${total} labels (found ${lb.dims[0]})`);
  const x = new Float32Array(n * 784);
  for (let t = 0; t < x.length; t++) x[t] = im.data[t] / 255;
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = lb.data[i];
    if (y[i] > 9) throw new TrainConfigError('data', join(dir, labels), `labels 0–9 (label ${y[i]} at ${i})`);
  }
  return { x, y };
}

export const fashionMnist: DataSource<FashionData> = {
  keys: ['kind', 'nTrain', 'nTest', 'dir'],
  parse({ raw, field, int }) {
    const nTrain = int('nTrain', TRAIN_TOTAL, 10, TRAIN_TOTAL);
    const nTest = int('nTest', TEST_TOTAL, 10, TEST_TOTAL);
    const dir = raw.dir ?? FASHION_DIR;
    if (typeof dir !== 'string' || dir === '') throw new TrainConfigError(`${field}.dir`, dir, 'a directory path (the four IDX .gz files)');
    return { kind: 'fashion-mnist', nTrain, nTest, dir };
  },
  dim: () => 784,
  load(cfg, seed, _inputDim, _classify, rng) {
    const tr = readSplit(cfg.dir, FASHION_FILES.trainImages, FASHION_FILES.trainLabels, cfg.nTrain, TRAIN_TOTAL);
    const te = readSplit(cfg.dir, FASHION_FILES.testImages, FASHION_FILES.testLabels, cfg.nTest, TEST_TOTAL);
    return new InMemory(
      'fashion-mnist',
      784,
      10,
      tr.x,
      tr.y,
      te.x,
      te.y,
      seed,
      {
        kind: 'fashion-mnist',
        source: `Debian dataset-fashion-mnist, ${cfg.dir} (28×28 grayscale in [0, 1]; the published split, first ${cfg.nTrain} of 60,000 train, first ${cfg.nTest} of 10,000 test)`,
        available: TRAIN_TOTAL + TEST_TOTAL,
      },
      rng,
    );
  },
};
