// Train = sample at step 0 for image nets: the tfjs conv2d, BatchNorm2d, gap and flatten of the trainer's table
// (src/train/layers/conv.ts, batchnorm.ts) against the float64 sampler (src/sample/layers/conv.ts) for the same
// seed: ‖∂L/∂h_l‖² per block and the conv kernels' gradients, within a float32 round-off bound.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RNG, gaussianInputs, makeSpec, randomTargets, type SpecInput } from '../../src/network/index.js';
import { forwardBackward } from '../../src/sample/index.js';
import { blasUnavailableReason } from '../../src/train/blas.js';
import {
  type Dataset,
  emptyCapture,
  gradientsOf,
  type HostBatch,
  initBackend,
  Mlp,
  resolveTrainConfig,
  Trainer,
} from '../../src/train/index.js';
import { filterFromRowMajor } from '../../src/train/layers/conv.js';
import { relErr } from './reference.js';

const HAVE_BLAS = blasUnavailableReason() === null;
// the convolution is im2col + matMul (convIm2col), which runs on every backend
const BACKENDS = HAVE_BLAS ? (['blas', 'wasm', 'cpu'] as const) : (['wasm', 'cpu'] as const);
const U32 = 2 ** -24;

const CASES: [string, SpecInput][] = [
  [
    'resnet blocks: identity and stride-2 projection, tanh',
    {
      batch: 4,
      image: [6, 6, 3],
      layers: [
        { kind: 'resblock', channels: 3, activation: 'tanh', gamma: 1.1, beta: 0.1 },
        { kind: 'resblock', channels: 4, stride: 2, activation: 'tanh' },
        { kind: 'gap' },
      ],
    },
  ],
  ['conv-bn-act, tanh, k = 3', { order: 'conv-bn-act', depth: 3, width: 4, batch: 4, image: [6, 6, 4], activation: 'tanh' }],
  [
    'a list: conv /2 → BN2d → tanh → conv k = 1 → tanh → flatten → dense → tanh',
    {
      batch: 4,
      image: [5, 5, 2],
      activation: undefined,
      layers: [
        { kind: 'conv2d', channels: 3, kernel: 3, stride: 2, padding: 1, sigmaB2: 0.1 },
        { kind: 'batchnorm', gamma: 1.2, beta: 0.1 },
        { kind: 'act', activation: 'tanh' },
        { kind: 'conv2d', channels: 4, kernel: 1, padding: 0 },
        { kind: 'act', activation: 'tanh' },
        { kind: 'flatten' },
        { kind: 'dense', width: 6 },
        { kind: 'act', activation: 'tanh' },
      ],
    },
  ],
];

describe("image nets: step-0 gradients equal the sampler's for the same seed", () => {
  for (const [name, input] of CASES) {
    it.each(BACKENDS)(`${name} (%s)`, async (backend) => {
      await initBackend(backend);
      const { activation: _a, ...rest } = input;
      const spec = makeSpec(input.layers ? rest : input);
      const seed = 5;
      const B = spec.batch as number;
      const ref = forwardBackward(spec, seed, { loss: 'mse', backend: 'typescript', keepGradients: true });
      // the sampler's draws: the run generator (the bare draw functions default to mt19937)
      const t = randomTargets('mse', B, seed, 0, { rng: DEFAULT_RNG });
      const model = Mlp.fromSeed(spec, t.nOut, seed);
      const x = tf.tensor2d(Float32Array.from(gaussianInputs(B, spec.inputDim, seed, 0, 'x', { rng: DEFAULT_RNG })), [B, spec.inputDim]);
      const targets = { t: tf.tensor2d(Float32Array.from(t.targets!), [B, t.nOut]), labels: null };
      const capture = emptyCapture(spec.depth);
      const { grads, loss } = gradientsOf(model, 'mse', x, targets, capture);
      // float32 against float64: each value passes ~40 operations (convs of ≤ 36 terms, BN over ≤ 144 values, the
      // loss), each a sum of at most n = 144 terms: relative error ≤ 40·n·u₃₂ ≈ 3.4·10⁻⁴ (a worst-case bound)
      const tol = 40 * 144 * U32;
      expect(Math.abs(loss.dataSync()[0] - ref.loss)).toBeLessThan(tol * Math.abs(ref.loss));
      for (let l = 0; l < spec.depth; l++) {
        const got = capture.dhSq[l].dataSync()[0];
        expect(Math.abs(got / ref.gradHSq[l] - 1), `‖∂L/∂h_${l + 1}‖²`).toBeLessThan(tol);
        // the block's kernel gradient, in the tf layout
        const i = model.weightIndex(l + 1);
        const g = grads[i];
        const dW = ref.gradients!.dW[l];
        const shape = g.shape;
        const want = shape.length === 4 ? filterFromRowMajor(dW, shape[3], shape[2], shape[0]) : null;
        if (want) expect(relErr(g.dataSync(), want), `∂L/∂W_${l + 1}`).toBeLessThan(tol);
      }
      expect(ref.gradHSq[0]).toBeGreaterThan(0);
    });
  }
});

describe('image nets: the probes take batch statistics per channel, over B·H·W', () => {
  it('step-0 preact_var equals the sampler’s per-channel variance; unit_corr is between channels', async () => {
    await initBackend(HAVE_BLAS ? 'blas' : 'cpu');
    const seed = 3;
    const input: SpecInput = { order: 'conv-bn-act', depth: 3, width: 4, batch: 4, image: [6, 6, 2], activation: 'tanh' };
    const { config, spec } = resolveTrainConfig({ spec: input, loss: 'mse', optimizer: { kind: 'sgd', lr: 0.01 }, steps: 1, seed });
    const B = spec.batch as number;
    const dim = spec.inputDim;
    const t = randomTargets('mse', B, seed, 0, { rng: DEFAULT_RNG });
    const hb: HostBatch = {
      x: Float32Array.from(gaussianInputs(B, dim, seed, 0, 'x', { rng: DEFAULT_RNG })),
      n: B,
      labels: null,
      targets: Float32Array.from(t.targets!),
    };
    const data: Dataset = {
      name: 'fixed',
      dim,
      nOut: t.nOut,
      nTrain: null,
      nTest: B,
      batch: () => hb,
      test: () => hb,
      describe: () => ({}),
    };
    const tr = new Trainer(config, spec, data, null, 'test');
    const ref = forwardBackward(spec, seed, { loss: 'mse', backend: 'typescript' });
    // the block outputs at θ₀, to compute the channel correlation on the host in float64
    const capture = emptyCapture(spec.depth);
    const x = tf.tensor2d(hb.x, [B, dim]);
    const targets = { t: tf.tensor2d(hb.targets!, [B, t.nOut]), labels: null };
    gradientsOf(tr.model, 'mse', x, targets, capture);
    const recs = tr.step(0).records; // after the capture: the step moves the weights to θ₁
    const C = 4;
    // float32 against float64 through ≤ 3 blocks of convs of ≤ 36 terms and BN over 144 values: ≤ 40·144·u₃₂
    const tol = 40 * 144 * U32;
    for (let l = 1; l <= spec.depth; l++) {
      const pv = recs.find((r) => r.quantity === 'preact_var' && r.layer === l)!.value;
      expect(Math.abs(pv / ref.preactVar[l - 1] - 1), `preact_var ${l}`).toBeLessThan(tol);
      // mean |correlation| between the C channels of the block output over its B·H·W rows
      const X = Float64Array.from(capture.out[l - 1].dataSync());
      const rows = X.length / C;
      const mean = new Float64Array(C);
      for (let i = 0; i < rows; i++) for (let c = 0; c < C; c++) mean[c] += X[i * C + c] / rows;
      const cov = (a: number, b: number) => {
        let s = 0;
        for (let i = 0; i < rows; i++) s += (X[i * C + a] - mean[a]) * (X[i * C + b] - mean[b]);
        return s;
      };
      let sum = 0;
      for (let a = 0; a < C; a++) for (let b = 0; b < C; b++) if (a !== b) sum += Math.abs(cov(a, b) / Math.sqrt(cov(a, a) * cov(b, b)));
      const want = sum / (C * (C - 1));
      const got = recs.find((r) => r.quantity === 'unit_corr' && r.layer === l)!.value;
      expect(Math.abs(got - want), `unit_corr ${l}`).toBeLessThan(1e-4);
    }
    tr.dispose();
  });
});
