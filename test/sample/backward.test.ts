// The sampler's backward pass against central finite differences in float64, on small nets with
// normalizations (γ ≠ 1, β ≠ 0, ε > 0) in every preset, smooth and piecewise-linear activations, residual
// blocks, and each loss. Also: the Gram-matrix ‖∂L/∂W‖² equals the norm of the explicit ∂L/∂W, and the
// OpenBLAS and TypeScript kernels agree.
import { describe, expect, it } from 'vitest';
import {
  type LossKind,
  makeSpec,
  type NetworkSpec,
  MLP_PRESET_NAMES,
  type PresetName,
  drawNetwork,
  gaussianInputs,
  type SpecInput,
} from '../../src/network/index.js';
import { forwardBackward, nativeKernels, readoutConstantReason, tsKernels } from '../../src/sample/index.js';

// Central differences: truncation ≈ δ²/6·|L'''| ~ 1e-10 and rounding ≈ ε_mach·|L|/δ ~ 1e-11 at δ = 1e-5
// for O(1) losses on these nets, so 1e-6 of the largest gradient entry leaves a wide, derived margin.
const DELTA = 1e-5;
const REL = 1e-6;

function lossOf(
  spec: NetworkSpec,
  seed: number,
  loss: LossKind,
  params = drawNetwork(spec, seed),
  perturb?: (l: number, h: Float64Array) => void,
): number {
  return forwardBackward(spec, seed, { loss, params, perturb, backend: 'typescript' }).loss;
}

function checkNet(input: SpecInput, loss: LossKind, seed = 3): void {
  const spec = makeSpec(input);
  const params = drawNetwork(spec, seed);
  const res = forwardBackward(spec, seed, { loss, params, keepGradients: true, backend: 'typescript' });
  const { dh, dW } = res.gradients!;
  for (let l = 0; l < spec.depth; l++) {
    // ∂L/∂W_l entry by entry
    const W = params[l].W;
    const num = new Float64Array(W.length);
    for (let t = 0; t < W.length; t++) {
      const w0 = W[t];
      W[t] = w0 + DELTA;
      const up = lossOf(spec, seed, loss, params);
      W[t] = w0 - DELTA;
      const dn = lossOf(spec, seed, loss, params);
      W[t] = w0;
      num[t] = (up - dn) / (2 * DELTA);
    }
    const scaleW = Math.max(...num.map(Math.abs));
    expect(scaleW).toBeGreaterThan(1e-8); // the check is not vacuous
    for (let t = 0; t < W.length; t++) expect(Math.abs(dW[l][t] - num[t])).toBeLessThan(REL * scaleW + 1e-12);
    // ∂L/∂h_l through the perturbation hook on the pre-normalization Linear output
    const numH = new Float64Array(dh[l].length);
    for (let t = 0; t < numH.length; t++) {
      const at = (d: number) =>
        lossOf(spec, seed, loss, params, (layer, h) => {
          if (layer === l + 1) h[t] += d;
        });
      numH[t] = (at(DELTA) - at(-DELTA)) / (2 * DELTA);
    }
    const scaleH = Math.max(...numH.map(Math.abs));
    expect(scaleH).toBeGreaterThan(1e-8);
    for (let t = 0; t < numH.length; t++) expect(Math.abs(dh[l][t] - numH[t])).toBeLessThan(REL * scaleH + 1e-12);
    // the reported squared norms are the norms of these gradients (Gram identity for ‖∂L/∂W‖²)
    const sq = (a: Float64Array) => a.reduce((s, v) => s + v * v, 0);
    expect(res.gradHSq[l]).toBeCloseTo(sq(dh[l]), 10);
    expect(Math.abs(res.gradWSq[l] - sq(dW[l])) / sq(dW[l])).toBeLessThan(1e-10);
  }
}

const BN = { gamma: 1.3, beta: 0.2, eps: 1e-3 };
// RMSNorm has no shift β; pre-/post-LN residual presets need equal widths
const normOf = (order: PresetName) => (order === 'linear-rms-act' ? { ...BN, beta: 0 } : BN);
const unequalWidths = (order: PresetName) => order !== 'preln-residual' && order !== 'postln-residual';
/** readout where it is not constant for the spec, else mse */
const lossFor = (input: SpecInput): LossKind => (readoutConstantReason(makeSpec(input)) ? 'mse' : 'readout');

describe('backward pass vs finite differences (float64)', () => {
  for (const order of MLP_PRESET_NAMES) {
    const widthsCase: SpecInput = unequalWidths(order)
      ? { depth: 3, width: [4, 5, 3], inputDim: 3, batch: 5, order, activation: 'tanh', bn: normOf(order), init: { sigmaB2: 0.1 } }
      : { depth: 3, width: 4, inputDim: 4, batch: 5, order, activation: 'tanh', bn: normOf(order), init: { sigmaB2: 0.1 } };
    it(`${order}, tanh, ${unequalWidths(order) ? 'widths 4-5-3' : 'width 4'}, batch 5, ${lossFor(widthsCase)}`, () => {
      checkNet(widthsCase, lossFor(widthsCase));
    });
    it(`${order}, gelu, residual 0.7, xent`, () => {
      checkNet(
        { depth: 2, width: 4, inputDim: 4, batch: 6, order, activation: 'gelu', bn: normOf(order), residual: { scale: 0.7 } },
        'xent',
      );
    });
    it(`${order}, relu, mse`, () => {
      // ReLU has kinks; with δ = 1e-5 and Gaussian pre-activations a kink lies within δ with probability ~1e-5 per entry
      checkNet(
        { depth: 3, width: 5, inputDim: unequalWidths(order) ? 4 : 5, batch: 4, order, activation: 'relu', bn: normOf(order) },
        'mse',
        11,
      );
    });
  }
  it('orthogonal init, leaky ReLU, BN with ε = 0', () => {
    checkNet(
      { depth: 2, width: 5, inputDim: 5, batch: 7, activation: 'leaky-relu:0.2', init: { kind: 'orthogonal' }, bn: { eps: 0 } },
      'mse',
    );
  });
});

describe('kernels', () => {
  it('OpenBLAS (when built) and TypeScript give the same statistics', () => {
    const native = nativeKernels();
    if (!native) return; // the TypeScript kernels are the ones checked above
    for (const order of MLP_PRESET_NAMES) {
      const spec = makeSpec({ depth: 6, width: 48, batch: 16, order, residual: order === 'linear-act' ? { scale: 0.5 } : null });
      const loss: LossKind = readoutConstantReason(spec) ? 'mse' : 'readout';
      const a = forwardBackward(spec, 5, { loss, backend: 'native' });
      const b = forwardBackward(spec, 5, { loss, backend: 'typescript' });
      for (const key of ['preactVar', 'postactMean', 'postactVar', 'corr', 'logGradHSq', 'logGradWSq'] as const) {
        for (let l = 0; l < spec.depth; l++) expect(Math.abs(a[key][l] - b[key][l])).toBeLessThan(1e-10 * (1 + Math.abs(b[key][l])));
      }
    }
  });
  it('TypeScript gemm matches a naive triple loop for every transpose', () => {
    const M = 5;
    const N = 7;
    const K = 3;
    const A = Float64Array.from({ length: 40 }, (_, i) => Math.sin(i + 1));
    const Bm = Float64Array.from({ length: 40 }, (_, i) => Math.cos(2 * i + 1));
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const lda = ta ? M : K;
        const ldb = tb ? K : N;
        const C = new Float64Array(M * N).fill(1);
        tsKernels.gemm(ta, tb, M, N, K, 0.5, A, lda, Bm, ldb, 2, C, N);
        for (let i = 0; i < M; i++) {
          for (let j = 0; j < N; j++) {
            let s = 0;
            for (let k = 0; k < K; k++) s += (ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? Bm[j * ldb + k] : Bm[k * ldb + j]);
            expect(C[i * N + j]).toBeCloseTo(2 + 0.5 * s, 12);
          }
        }
      }
    }
  });
});

describe('deep nets', () => {
  it('depth 1,000 stays finite in logs and checkpointing gives the same numbers', () => {
    const spec = makeSpec({ depth: 1000, width: 16, batch: 8 });
    const full = forwardBackward(spec, 2);
    const ckpt = forwardBackward(spec, 2, { memoryBudgetBytes: 10_000 });
    expect(full.logGradHSq.every(Number.isFinite)).toBe(true);
    // λ(8) ≈ 1.79 per layer at large width: ln‖∂L/∂h_1‖² − ln‖∂L/∂h_L‖² ≈ 999·ln λ, hundreds of nats (width 16 lowers λ)
    expect(full.logGradHSq[0] - full.logGradHSq[999]).toBeGreaterThan(300);
    for (let l = 0; l < 1000; l++) expect(ckpt.logGradHSq[l]).toBeCloseTo(full.logGradHSq[l], 9);
    const x = gaussianInputs(8, 16, 2);
    expect(x.length).toBe(128);
  });
});
