// Custom gradients (Linear, BN) against tfjs autodiff, and step-0 gradients of a trained net against
// a float64 reference built from the same spec draws and the shared loss, for every preset and custom
// lists, and against the sampler's float64 forwardBackward (train = sample at step 0).
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  activationOfLayer,
  blocksOf,
  DEFAULT_RNG,
  flatLayers,
  gaussianInputs,
  type Layer,
  type LossTargets,
  layersOf,
  MLP_PRESET_NAMES,
  makeSpec,
  type NetworkSpec,
  randomTargets,
  type SpecInput,
  widths,
} from '../../src/network/index.js';
import { blasUnavailableReason } from '../../src/train/blas.js';
import { batchNorm, emptyCapture, gradientsOf, initBackend, linear, Mlp, tfActivation } from '../../src/train/index.js';
import { reference64, relErr } from './reference.js';

// blas needs the native addon (built by npm ci where cc and libopenblas-dev are installed, as in .ci/run)
const HAVE_BLAS = blasUnavailableReason() === null;
const FAST = HAVE_BLAS ? (['wasm', 'blas'] as const) : (['wasm'] as const);

const U32 = 2 ** -24; // float32 unit roundoff

/** max |a − b| / max(|b|) over a tensor pair. */
const relDiff = (a: tf.Tensor, b: tf.Tensor) => relErr(a.dataSync(), b.dataSync());

for (const backend of [...FAST, 'cpu'] as const) {
  describe(`custom gradients vs tfjs autodiff (${backend})`, () => {
    it('Linear: dx, dK, db', async () => {
      await initBackend(backend);
      const B = 16;
      const nIn = 24;
      const nOut = 20;
      const x = tf.randomNormal([B, nIn], 0, 1, 'float32', 11) as tf.Tensor2D;
      const K = tf.randomNormal([nIn, nOut], 0, 0.3, 'float32', 12) as tf.Tensor2D;
      const b = tf.randomNormal([nOut], 0, 0.1, 'float32', 13) as tf.Tensor1D;
      const r = tf.randomNormal([B, nOut], 0, 1, 'float32', 14);
      const custom = tf.grads((a: tf.Tensor, k: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(linear(a as any, k as any, c as any), r)))([
        x,
        K,
        b,
      ]);
      const auto = tf.grads((a: tf.Tensor, k: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(tf.add(tf.matMul(a as any, k as any), c), r)))([
        x,
        K,
        b,
      ]);
      // each entry is a sum of at most max(B, nOut) = 20 float32 products: |error| <= 20·u·Σ|terms|,
      // and Σ|terms| is at most ~sqrt(20)x the result's scale here; 1e-5 covers 20·u·sqrt(20)·10.
      for (let i = 0; i < 3; i++) expect(relDiff(custom[i], auto[i])).toBeLessThan(1e-5);
    });

    it('BatchNorm: dh, dγ, dβ (vs moments-based autodiff and tf.batchNorm)', async () => {
      await initBackend(backend);
      const B = 12;
      const n = 9;
      const h = tf.add(tf.mul(tf.randomNormal([B, n], 0, 1, 'float32', 21), 1.7), 0.4) as tf.Tensor2D;
      const g = tf.randomNormal([n], 1, 0.2, 'float32', 22) as tf.Tensor1D;
      const bt = tf.randomNormal([n], 0, 0.2, 'float32', 23) as tf.Tensor1D;
      const r = tf.randomNormal([B, n], 0, 1, 'float32', 24);
      const eps = 1e-5;
      const custom = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
        tf.sum(tf.mul(tf.tanh(batchNorm(a as any, c as any, d as any, eps)), r)),
      )([h, g, bt]);
      const viaMoments = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => {
        const { mean, variance } = tf.moments(a, 0);
        const z = tf.add(tf.mul(tf.div(tf.sub(a, mean), tf.sqrt(tf.add(variance, eps))), c), d);
        return tf.sum(tf.mul(tf.tanh(z), r));
      })([h, g, bt]);
      const viaBatchNorm = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => {
        const { mean, variance } = tf.moments(a, 0);
        return tf.sum(tf.mul(tf.tanh(tf.batchNorm(a as any, mean, variance, d as any, c as any, eps)), r));
      })([h, g, bt]);
      // BN's backward subtracts two means of B terms from dẑ: cancellation can cost a factor ~B on
      // top of the summation error B·u, so the bound is B²·u·(scale) ≈ 144·6e-8 ≈ 1e-5; allow 1e-4.
      for (let i = 0; i < 3; i++) {
        expect(relDiff(custom[i], viaMoments[i])).toBeLessThan(1e-4);
        expect(relDiff(custom[i], viaBatchNorm[i])).toBeLessThan(1e-4);
      }
      // the forward value too
      const f1 = batchNorm(h, g, bt, eps);
      const { mean, variance } = tf.moments(h, 0);
      expect(relDiff(f1, tf.batchNorm(h, mean, variance, bt, g, eps))).toBeLessThan(1e-5);
    });
  });
}

describe('activations on tfjs equal the spec φ', () => {
  for (const a of [
    'relu',
    'leaky-relu:0.2',
    'leaky-relu:1.5',
    'identity',
    'tanh',
    'gelu',
    'silu',
    'elu:0.7',
    'expr:x*tanh(log(1 + exp(x)))',
    'expr:x/(1 + exp(-1.702*x))',
    'expr:sqrt(x^2 + 1) - 1 + asinh(x) - atan(x)*sin(x)',
    'expr:abs(x)^3 - sqrt(abs(x) + 1) + pi*cosh(x)/e',
  ]) {
    it(a, async () => {
      await initBackend('wasm');
      const spec = makeSpec({ activation: a, depth: 1, width: 1 });
      const xs = Array.from({ length: 41 }, (_, i) => -4 + i * 0.2 + 0.013);
      const got = tfActivation(spec.activation as string)(tf.tensor1d(xs)).dataSync();
      const { activationOf } = await import('../../src/network/index.js');
      const phi = activationOf(spec).phi;
      // float32 evaluation of an elementary function: a few ulps of the value (and of x ~ 4 inside)
      for (const [i, x] of xs.entries()) expect(Math.abs(got[i] - phi(x))).toBeLessThan(1e-6 * Math.max(1, Math.abs(phi(x))) * 8);
    });
  }
  it('rejects an expression outside the subset, naming it', async () => {
    await initBackend('wasm');
    expect(() => tfActivation('expr:sech(x)')).toThrow(/spec.activation.*function sech/);
  });
});

/** A network's step 0 on tfjs (the Mlp of the seed, its probes) for given float64 inputs and targets. */
function trainedStep0(spec: NetworkSpec, seed: number, x64: Float64Array, t: LossTargets, lossKind: 'mse' | 'xent') {
  const B = spec.batch!;
  const model = Mlp.fromSeed(spec, t.nOut, seed);
  const cap = emptyCapture(spec.depth);
  const oh = new Float32Array(B * t.nOut);
  if (t.labels) for (const [i, k] of t.labels.entries()) oh[i * t.nOut + k] = 1;
  const targets = {
    t: tf.tensor2d(t.targets ? Float32Array.from(t.targets) : oh, [B, t.nOut]),
    labels: t.labels ? Int32Array.from(t.labels) : null,
  };
  const g = gradientsOf(model, lossKind, tf.tensor2d(Float32Array.from(x64), [B, spec.inputDim]), targets, cap);
  return {
    loss: g.loss.dataSync()[0],
    gradHSq: cap.dhSq.map((s) => s.dataSync()[0]),
    gradWSq: Array.from({ length: spec.depth }, (_, l) => tf.sum(tf.square(g.grads[model.weightIndex(l + 1)])).dataSync()[0]),
    gradReadoutSq: tf.sum(tf.square(g.grads[model.weightIndex(null)])).dataSync()[0],
    /** the smallest |argument| of a piecewise-linear φ (ReLU's kink), Infinity where there is none */
    kinkMargin: kinkMargin(spec, cap.actIn),
  };
}

/** The smallest |z| over the arguments of every block's φ when φ is piecewise linear (it has a kink at 0). */
function kinkMargin(spec: NetworkSpec, actIn: tf.Tensor[]): number {
  const kinked = (l: Layer) => {
    const f = l.kind === 'act' ? activationOfLayer(l).family : undefined;
    return f !== undefined && f.a !== f.b;
  };
  const pw = blocksOf(layersOf(spec)).map((b) => flatLayers(b).some(kinked));
  let m = Number.POSITIVE_INFINITY;
  for (const [i, z] of actIn.entries()) if (pw[i]) for (const v of z.dataSync()) m = Math.min(m, Math.abs(v));
  return m;
}

const rel = (a: number, b: number) => Math.abs(a / b - 1);

/** The loss, and per layer ‖∂L/∂h_l‖² and ‖∂L/∂W_l‖², within tol relative; returns the worst ‖∂L/∂h_l‖² error. */
function expectStep0(
  got: { loss: number; gradHSq: ArrayLike<number>; gradWSq: ArrayLike<number> },
  ref: { loss: number; gradHSq: ArrayLike<number>; gradWSq: ArrayLike<number> },
  tol: number,
): number {
  expect(rel(got.loss, ref.loss)).toBeLessThan(tol);
  let worst = 0;
  for (let l = 0; l < ref.gradHSq.length; l++) {
    expect(rel(got.gradHSq[l], ref.gradHSq[l]), `‖∂L/∂h‖² of block ${l + 1}`).toBeLessThan(tol);
    expect(rel(got.gradWSq[l], ref.gradWSq[l]), `‖∂L/∂W‖² of block ${l + 1}`).toBeLessThan(tol);
    worst = Math.max(worst, rel(got.gradHSq[l], ref.gradHSq[l]));
  }
  return worst;
}

/** The measured agreement, max over layers of |‖∂L/∂h_l‖²_tfjs / ‖∂L/∂h_l‖²_float64 − 1|, per case (printed at the end). */
const agreement: string[] = [];

// Every preset (residual included) and custom lists against the float64 reference of reference.ts (its own
// backward, checked against central differences in layers.test.ts), same draws, inputs and targets.
const D = (width: number, more: object = {}) => ({ kind: 'dense', width, ...more });
const A = (activation: string) => ({ kind: 'act', activation });
const CUSTOM_NAME = 'custom: rmsnorm, pre-LN residual, act→BN, two norms in a block, unequal widths, a bias';
const customList = (n: number) => [
  D(n),
  { kind: 'rmsnorm', gamma: 1.1 },
  A('relu'),
  { kind: 'residual', scale: 0.7, layers: [{ kind: 'layernorm' }, D(n), A('gelu')] },
  D(n - 4, { sigmaB2: 0.05 }),
  A('tanh'),
  { kind: 'batchnorm', beta: 0.1 },
  D(n + 4),
  { kind: 'layernorm', gamma: 0.9 },
  A('silu'),
  { kind: 'rmsnorm' },
  D(n),
  A('relu'),
  { kind: 'residual', scale: 1, layers: [D(n), A('tanh')] },
  { kind: 'layernorm' },
];
const REFERENCE_CASES: [string, SpecInput, 'mse' | 'xent'][] = [
  ['linear-bn-act relu, mse', { order: 'linear-bn-act', activation: 'relu' }, 'mse'],
  ['linear-bn-act tanh, xent, β=0.5 γ=1.3', { order: 'linear-bn-act', activation: 'tanh', bn: { gamma: 1.3, beta: 0.5 } }, 'xent'],
  ['linear-act-bn gelu, mse', { order: 'linear-act-bn', activation: 'gelu' }, 'mse'],
  ['linear-act relu with biases, xent', { order: 'linear-act', activation: 'relu', init: { sigmaB2: 0.1 } }, 'xent'],
  ['residual linear-bn-act, orthogonal', { order: 'linear-bn-act', residual: { scale: 0.5 }, init: { kind: 'orthogonal' } }, 'mse'],
  ['residual linear-act-bn tanh, xent', { order: 'linear-act-bn', activation: 'tanh', residual: { scale: 1 } }, 'xent'],
  ['residual linear-act relu, mse', { order: 'linear-act', activation: 'relu', residual: { scale: 1 } }, 'mse'],
  ['linear-ln-act relu, mse', { order: 'linear-ln-act', activation: 'relu' }, 'mse'],
  ['linear-ln-act tanh, xent, β=0.5 γ=1.3', { order: 'linear-ln-act', activation: 'tanh', bn: { gamma: 1.3, beta: 0.5 } }, 'xent'],
  [
    'residual linear-ln-act gelu, orthogonal',
    { order: 'linear-ln-act', activation: 'gelu', residual: { scale: 0.5 }, init: { kind: 'orthogonal' } },
    'mse',
  ],
  ['linear-act-ln gelu, xent, ε=0.01', { order: 'linear-act-ln', activation: 'gelu', bn: { eps: 0.01 } }, 'xent'],
  ['linear-rms-act relu with biases, mse', { order: 'linear-rms-act', activation: 'relu', init: { sigmaB2: 0.1 } }, 'mse'],
  ['linear-rms-act silu, xent, γ=0.7', { order: 'linear-rms-act', activation: 'silu', bn: { gamma: 0.7 } }, 'xent'],
  ['preln-residual relu, mse', { order: 'preln-residual', activation: 'relu' }, 'mse'],
  [
    'preln-residual tanh, xent, scale 0.5, orthogonal',
    { order: 'preln-residual', activation: 'tanh', residual: { scale: 0.5 }, init: { kind: 'orthogonal' } },
    'xent',
  ],
  ['postln-residual relu, xent', { order: 'postln-residual', activation: 'relu' }, 'xent'],
  ['postln-residual gelu, mse, β=0.1 γ=1.2', { order: 'postln-residual', activation: 'gelu', bn: { gamma: 1.2, beta: 0.1 } }, 'mse'],
  [CUSTOM_NAME, { inputDim: 24, layers: customList(24) }, 'xent'],
];

describe('step-0 gradients of the trained net equal a float64 reference of the same seed', () => {
  afterAll(() =>
    console.log(`tfjs vs the float64 reference, max_l |‖∂L/∂h_l‖² ratio − 1|:\n${agreement.filter((a) => a.startsWith('ref')).join('\n')}`),
  );
  for (const [name, over, lossKind] of REFERENCE_CASES) {
    it.each(FAST)(`${name} (%s)`, async (backend) => {
      await initBackend(backend);
      const B = 16;
      const spec = makeSpec(over.layers ? { batch: B, ...over } : { depth: 6, width: 24, inputDim: 24, batch: B, ...over });
      const seed = 7;
      // the run's generator (the bare draw functions default to mt19937; the trainer draws with DEFAULT_RNG)
      const x64 = gaussianInputs(B, 24, seed, 0.2, 'x', { rng: DEFAULT_RNG });
      const t = randomTargets(lossKind, B, seed, 0, { rng: DEFAULT_RNG });
      const ref = reference64(spec, seed, x64, B, t);
      const got = trainedStep0(spec, seed, x64, t, lossKind);
      // premise: no argument of ReLU within float32 rounding of its kink (there the masks may differ)
      expect(got.kinkMargin).toBeGreaterThan(1e-5);
      // Bound: each forward/backward sum has <= 28 terms (<= 28·u relative), a path passes through at most
      // one op per layer of the list plus the readout and the loss (26 for 6 blocks of up to 4), and a
      // norm's backward cancellation costs up to ~B; rounding errors add up like a random walk in practice.
      const ops = Math.max(26, flatLayers(layersOf(spec)).length + 2);
      const n = Math.max(24, ...widths(spec));
      const tol = ops * n * U32 * 16;
      const worst = expectStep0(got, ref, tol);
      expect(rel(got.gradReadoutSq, ref.gradReadoutSq)).toBeLessThan(tol);
      agreement.push(`ref ${name} (${backend}): ${worst.toExponential(2)} (bound ${tol.toExponential(1)})`);
    });
  }
});

// Train = sample at step 0: every preset, plain and residual, and a custom list, against the sampler's own
// float64 walk of the layer list (src/sample/layers/).
const SAMPLER_CASES: [string, SpecInput, 'mse' | 'xent'][] = [
  ...MLP_PRESET_NAMES.map((order, i): [string, SpecInput, 'mse' | 'xent'] => [order, { order }, i % 2 ? 'xent' : 'mse']),
  ...(['linear-bn-act', 'linear-act-bn', 'linear-act', 'linear-ln-act', 'linear-rms-act'] as const).map(
    (order, i): [string, SpecInput, 'mse' | 'xent'] => [
      `${order} residual ${i % 2 ? 1 : 0.5}`,
      { order, residual: { scale: i % 2 ? 1 : 0.5 } },
      i % 2 ? 'mse' : 'xent',
    ],
  ),
  [
    'preln-residual scale 0.5, tanh, γ=1.3 β=0.2',
    { order: 'preln-residual', activation: 'tanh', residual: { scale: 0.5 }, bn: { gamma: 1.3, beta: 0.2 } },
    'xent',
  ],
  [CUSTOM_NAME, { inputDim: 32, layers: customList(32) }, 'mse'],
];

describe("step-0 gradients equal the sampler's forwardBackward (src/sample) for the same seed", () => {
  afterAll(() =>
    console.log(`tfjs vs the sampler, max_l |‖∂L/∂h_l‖² ratio − 1|:\n${agreement.filter((a) => a.startsWith('sampler')).join('\n')}`),
  );
  for (const [label, over, lossKind] of SAMPLER_CASES) {
    const name = `${label}, ${lossKind}`;
    it.each(FAST)(`${name} (%s)`, async (backend) => {
      const { forwardBackward } = await import('../../src/sample/index.js');
      await initBackend(backend);
      const B = 32;
      const spec = makeSpec(over.layers ? { batch: B, ...over } : { depth: 8, width: 32, batch: B, ...over });
      // The first seed from 12 on at which no pre-activation lies within float32 rounding of ReLU's kink (the
      // premise, checked below). At a seed where one does (under MT19937 seed 11 had |h| = 2e-7 in layer 8;
      // under Philox seed 12 has 7e-6 in linear-act-bn residual 1), float32 and float64 disagree on the ReLU mask
      // there, and the gradients legitimately differ by ~1%. With ~10⁴ arguments of density ≈ 0.4 near 0, a
      // seed hits the ±1e-5 band with probability ≈ 5–10%: the premise depends on the draw, not on the code.
      const step0 = (seed: number) => {
        const t = randomTargets(lossKind, B, seed, 0, { rng: DEFAULT_RNG });
        return trainedStep0(spec, seed, gaussianInputs(B, spec.inputDim, seed, 0.1, 'x', { rng: DEFAULT_RNG }), t, lossKind);
      };
      let seed = 12;
      let got = step0(seed);
      while (got.kinkMargin <= 1e-5 && seed < 17) got = step0(++seed);
      const ref = forwardBackward(spec, seed, { loss: lossKind, backend: 'typescript', inputCorrelation: 0.1 });
      // premise: every argument of φ exceeds 1e-5 in size, ten times the float32 forward error (~1e-6 at this scale)
      expect(got.kinkMargin).toBeGreaterThan(1e-5);
      // same bound as above with n = 32, B = 32: 34 ops · 32·u · 32 ≈ 2e-3 (more ops for longer lists)
      const tol = Math.max(34, flatLayers(layersOf(spec)).length + 2) * Math.max(32, ...widths(spec)) * U32 * 32;
      const worst = expectStep0(got, ref, tol);
      agreement.push(`sampler ${name} (${backend}): ${worst.toExponential(2)} (bound ${tol.toExponential(1)})`);
    });
  }
});
