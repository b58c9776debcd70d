// The trainer's groupnorm (src/train/layers/groupnorm.ts): its closed-form gradient against tfjs autodiff of the
// moments formula (a second implementation, tf.moments on the [B, P, G, C/G] view), and train = sample at step 0:
// the tfjs net's loss, ‖∂L/∂h_l‖² and weight gradients against the float64 sampler's (src/sample) for the same
// seed, flat and image, G = 1, 2, C; eval mode is training mode, and each sample is normalized alone.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RNG, gaussianInputs, makeSpec, normalStream, randomTargets, type SpecInput } from '../../src/network/index.js';
import { forwardBackward } from '../../src/sample/index.js';
import { blasUnavailableReason } from '../../src/train/blas.js';
import { emptyCapture, gradientsOf, initBackend, Mlp } from '../../src/train/index.js';
import { filterFromRowMajor } from '../../src/train/layers/conv.js';
import { groupNorm, kernelFromRowMajor } from '../../src/train/layers/index.js';
import { relErr } from './reference.js';

const HAVE_BLAS = blasUnavailableReason() === null;
const BACKENDS = HAVE_BLAS ? (['wasm', 'blas', 'cpu'] as const) : (['wasm', 'cpu'] as const);
const U32 = 2 ** -24;

describe("groupNorm's closed-form gradient against autodiff of the moments formula", () => {
  it.each(BACKENDS)('[B, P, C] = [3, 5, 6], G = 1, 2, 3, 6, per-channel γ, β (%s)', async (backend) => {
    await initBackend(backend);
    const [B, P, C] = [3, 5, 6];
    const rng = normalStream(9, 'gn-train');
    const rand = (n: number, s = 1, o = 0) => Float32Array.from({ length: n }, () => o + s * rng());
    for (const G of [1, 2, 3, 6]) {
      const v = tf.tensor2d(rand(B * P * C, 1.5, 0.3), [B, P * C]);
      const gamma = tf.tensor1d(rand(C, 0.3, 1));
      const beta = tf.tensor1d(rand(C, 0.3));
      const dy = tf.tensor2d(rand(B * P * C), [B, P * C]);
      const eps = 1e-3;
      const mine = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(groupNorm(a as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, eps, { c: C, p: P, groups: G }), dy));
      const ref = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        const x4 = tf.reshape(a, [B, P, G, C / G]);
        const { mean, variance } = tf.moments(x4, [1, 3], true);
        const z = tf.div(tf.sub(x4, mean), tf.sqrt(tf.add(variance, eps)));
        const out = tf.add(tf.mul(z, tf.reshape(g, [G, C / G])), tf.reshape(b, [G, C / G]));
        return tf.sum(tf.mul(tf.reshape(out, [B, P * C]), dy));
      };
      const ga = tf.grads(mine)([v, gamma, beta]);
      const gb = tf.grads(ref)([v, gamma, beta]);
      // float32: each entry is a sum of ≤ B·P·C = 90 products through ≤ 10 operations (mean, variance, the two
      // projections, the sums over the batch): ≤ 10·90·u₃₂ ≈ 5.4·10⁻⁵ relative to the largest entry, worst case
      const tol = 10 * B * P * C * U32;
      expect(Math.abs(mine(v, gamma, beta).dataSync()[0] - ref(v, gamma, beta).dataSync()[0])).toBeLessThan(
        tol * Math.max(1, Math.abs(ref(v, gamma, beta).dataSync()[0])),
      );
      for (let i = 0; i < 3; i++) {
        const b = gb[i].dataSync();
        expect(Math.max(...Array.from(b, Math.abs)), `G = ${G}: gradient ${i} is not zero`).toBeGreaterThan(1e-3);
        expect(relErr(ga[i].dataSync(), b), `G = ${G}, ${['dv', 'dγ', 'dβ'][i]}`).toBeLessThan(tol);
      }
      tf.dispose([v, gamma, beta, dy, ...ga, ...gb]);
    }
  });
});

const D = (width: number, more: object = {}) => ({ kind: 'dense', width, ...more });
const GN = (groups: number, more: object = {}) => ({ kind: 'groupnorm', groups, ...more });
const A = (activation: string) => ({ kind: 'act', activation });
const CASES: [string, SpecInput][] = [
  [
    'flat: dense(12) → GN(4) → tanh, dense(12) → GN(1) → gelu, dense(8) → GN(2, γ 1.2, β 0.1) → tanh',
    {
      batch: 8,
      inputDim: 10,
      layers: [D(12), GN(4), A('tanh'), D(12), GN(1), A('gelu'), D(8), GN(2, { gamma: 1.2, beta: 0.1 }), A('tanh')],
    },
  ],
  [
    'image: conv(4) → GN(2) → tanh, conv(4) → GN(4, instance) → tanh, conv(6) → GN(3) → tanh, gap',
    {
      batch: 4,
      image: [5, 5, 2],
      layers: [
        { kind: 'conv2d', channels: 4 },
        GN(2, { gamma: 1.1, beta: 0.1 }),
        A('tanh'),
        { kind: 'conv2d', channels: 4 },
        GN(4),
        A('tanh'),
        { kind: 'conv2d', channels: 6, stride: 2, padding: 1 },
        GN(3),
        A('tanh'),
        { kind: 'gap' },
      ],
    },
  ],
];

describe("step-0 gradients equal the sampler's for the same seed", () => {
  for (const [name, input] of CASES) {
    it.each(BACKENDS)(`${name} (%s)`, async (backend) => {
      await initBackend(backend);
      const spec = makeSpec(input);
      const seed = 5;
      const B = spec.batch as number;
      const ref = forwardBackward(spec, seed, { loss: 'mse', backend: 'typescript', keepGradients: true });
      const t = randomTargets('mse', B, seed, 0, { rng: DEFAULT_RNG });
      const model = Mlp.fromSeed(spec, t.nOut, seed);
      const x = tf.tensor2d(Float32Array.from(gaussianInputs(B, spec.inputDim, seed, 0, 'x', { rng: DEFAULT_RNG })), [B, spec.inputDim]);
      const targets = { t: tf.tensor2d(Float32Array.from(t.targets!), [B, t.nOut]), labels: null };
      const capture = emptyCapture(spec.depth);
      const { grads, loss } = gradientsOf(model, 'mse', x, targets, capture);
      // float32 against float64, the bound of convGradients.test.ts: ≤ 40 operations on each path, each a sum of at
      // most n = 100 terms (a group of 4·25 values, a conv of 54 terms, the loss): 40·100·u₃₂ ≈ 2.4·10⁻⁴ relative
      const tol = 40 * 100 * U32;
      expect(Math.abs(loss.dataSync()[0] - ref.loss)).toBeLessThan(tol * Math.abs(ref.loss));
      for (let l = 0; l < spec.depth; l++) {
        const got = capture.dhSq[l].dataSync()[0];
        expect(Math.abs(got / ref.gradHSq[l] - 1), `‖∂L/∂h_${l + 1}‖²`).toBeLessThan(tol);
        const g = grads[model.weightIndex(l + 1)];
        const dW = ref.gradients!.dW[l];
        const s = g.shape as number[];
        const want = s.length === 4 ? filterFromRowMajor(dW, s[3], s[2], s[0]) : kernelFromRowMajor(dW, s[1], s[0]);
        expect(relErr(g.dataSync(), want), `∂L/∂W_${l + 1}`).toBeLessThan(tol);
      }
      expect(ref.gradHSq[0]).toBeGreaterThan(0);
      tf.dispose([...grads, loss, x, targets.t]);
      model.dispose();
    });
  }
});

describe('groupnorm in the trainer', () => {
  it.each(BACKENDS)('eval mode is training mode bit for bit; one sample alone gets its own output (%s)', async (backend) => {
    await initBackend(backend);
    const spec = makeSpec({ batch: 6, image: [3, 3, 2], layers: [{ kind: 'conv2d', channels: 4 }, GN(2), A('tanh'), { kind: 'gap' }] });
    const model = Mlp.fromSeed(spec, 3, 2);
    const x = tf.tensor2d(Float32Array.from(gaussianInputs(6, spec.inputDim, 2)), [6, spec.inputDim]);
    const a = model.forward(model.params, x, 'train').dataSync();
    const b = model.forward(model.params, x, 'eval').dataSync();
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    const one = model.forward(model.params, tf.slice(x, [2, 0], [1, spec.inputDim]), 'eval').dataSync();
    const n = one.length;
    // one sample alone runs the same float32 operations on the same values, up to the backend's blocking of sums
    expect(relErr(one, a.subarray(2 * n, 3 * n))).toBeLessThan(1e-6);
    // γ and β are per channel (4 each), as PyTorch's GroupNorm(2, 4)
    expect(model.info.filter((p) => /gamma|beta/.test(p.name)).map((p) => model.params[model.info.indexOf(p)].shape)).toEqual([[4], [4]]);
    model.dispose();
  });
});
