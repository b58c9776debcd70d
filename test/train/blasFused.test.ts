// The blas backend's own one-dispatch kernels (src/train/blas.ts OWN_KERNELS: SignalpropDense and its
// gradient, SignalpropRelu and its gradient) against the op sequences they replace: the same bits as the
// unfused path on blas (dense: tf.customGrad over matMul + add, dense.ts's path with a probe), the same
// bits as tf.relu's gradient on the tfjs cpu backend (relu: elementwise, exact), and dense against a
// float64 product with the a-priori rounding bound of a float32 dot product.
import { fc, test } from '@fast-check/vitest';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { blasUnavailableReason, OWN_KERNELS } from '../../src/train/blas.js';
import { initBackend } from '../../src/train/index.js';
import { linear } from '../../src/train/layers/dense.js';
import { reluFused } from '../../src/train/ops.js';
import { values } from '../helpers/float32Values.js';

const HAVE = blasUnavailableReason() === null;
const U = 2 ** -24; // float32 unit roundoff

/** Index of the first element whose bits differ (NaNs count as equal), or -1. */
function firstBitDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) if (ua[i] !== ub[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return i;
  return -1;
}

/** Value and gradients (wrt every input) of Σ w ⊙ f(inputs), with a fixed weight w, as host copies. */
function valueAndGrads(
  inputs: { data: Float32Array; shape: number[] }[],
  f: (...ts: tf.Tensor[]) => tf.Tensor,
  w: Float32Array,
): Float32Array[] {
  return tf.tidy(() => {
    const ts = inputs.map((h) => tf.tensor(Float32Array.from(h.data), h.shape));
    let y: tf.Tensor | null = null;
    const { grads } = tf.valueAndGrads((...xs: tf.Tensor[]) => {
      const v = f(...xs);
      y = tf.keep(v);
      return tf.sum(tf.mul(v, tf.tensor(w, v.shape)));
    })(ts);
    const out = [Float32Array.from((y as unknown as tf.Tensor).dataSync()), ...grads.map((g) => Float32Array.from(g.dataSync()))];
    (y as unknown as tf.Tensor).dispose(); // kept past the gradient's scope
    return out;
  });
}

describe.skipIf(!HAVE)('the blas backend registers its own kernels', () => {
  it('under the names ops.ts dispatches to', async () => {
    await initBackend('blas', 1);
    const blas = new Set(tf.getKernelsForBackend('blas').map((k) => k.kernelName));
    for (const k of Object.values(OWN_KERNELS)) expect(blas.has(k), k).toBe(true);
    // and only there: on cpu the same calls fall back to the tf ops
    await initBackend('cpu');
    for (const k of Object.values(OWN_KERNELS)) expect(tf.getKernel(k, 'cpu'), k).toBeUndefined();
  });
});

describe.skipIf(!HAVE)('SignalpropDense: the bits of the unfused dense layer on blas', () => {
  test.prop(
    [fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 1e6 })],
    {
      numRuns: 30,
    },
  )('value, dx, dK, db (B × I times I × N)', async (B, I, N, seed) => {
    await initBackend('blas', 1);
    const inputs = [
      { data: values(B * I, seed), shape: [B, I] },
      { data: values(I * N, seed + 1), shape: [I, N] },
      { data: values(N, seed + 2), shape: [N] },
    ];
    const w = values(B * N, seed + 3);
    const nodes0 = tf.memory().numTensors;
    const fused = valueAndGrads(inputs, (x, K, b) => linear(x as tf.Tensor2D, K as tf.Tensor2D, b as tf.Tensor1D), w);
    // a probe callback sends linear() down its tf.customGrad path (matMul + add; transposed matMuls and a sum)
    const plain = valueAndGrads(inputs, (x, K, b) => linear(x as tf.Tensor2D, K as tf.Tensor2D, b as tf.Tensor1D, () => {}), w);
    expect(tf.memory().numTensors).toBe(nodes0); // neither path leaks a tensor
    for (let k = 0; k < 4; k++) {
      const i = firstBitDiff(fused[k], plain[k]);
      expect(i, i < 0 ? '' : `output ${k}, element ${i}: fused ${fused[k][i]} vs unfused ${plain[k][i]}`).toBe(-1);
    }
  });

  it('x·K + b and its gradients within the float32 dot-product bound of float64 values', async () => {
    await initBackend('blas', 1);
    const [B, I, N] = [33, 70, 45];
    const x = values(B * I, 7);
    const K = values(I * N, 8);
    const b = values(N, 9);
    const w = values(B * N, 10);
    const [y, dx, dk, db] = valueAndGrads(
      [
        { data: x, shape: [B, I] },
        { data: K, shape: [I, N] },
        { data: b, shape: [N] },
      ],
      (xx, kk, bb) => linear(xx as tf.Tensor2D, kk as tf.Tensor2D, bb as tf.Tensor1D),
      w,
    );
    // a sum of n float32 products (exact inputs) is off its exact value by at most γ_n Σ|terms|, γ_n = n·u/(1 − n·u)
    // (Higham, Accuracy and Stability, §3.1), plus one rounding (u·|result|) for the bias add; the upstream
    // gradient w is exact here (d/dy of Σ w ⊙ y is w itself).
    const gamma = (n: number) => (n * U) / (1 - n * U);
    const check = (got: Float32Array, exact: Float64Array, abs: Float64Array, n: number, what: string) => {
      for (let i = 0; i < got.length; i++) {
        const bound = gamma(n) * abs[i] + U * Math.abs(exact[i]) * 2;
        expect(Math.abs(got[i] - exact[i]), `${what}[${i}]`).toBeLessThanOrEqual(bound);
      }
    };
    const ye = new Float64Array(B * N);
    const ya = new Float64Array(B * N);
    for (let r = 0; r < B; r++)
      for (let c = 0; c < N; c++) {
        let s = b[c];
        let a = Math.abs(b[c]);
        for (let k = 0; k < I; k++) {
          s += x[r * I + k] * K[k * N + c];
          a += Math.abs(x[r * I + k] * K[k * N + c]);
        }
        ye[r * N + c] = s;
        ya[r * N + c] = a;
      }
    check(y, ye, ya, I + 1, 'y');
    const dxe = new Float64Array(B * I);
    const dxa = new Float64Array(B * I);
    for (let r = 0; r < B; r++)
      for (let k = 0; k < I; k++)
        for (let c = 0; c < N; c++) {
          dxe[r * I + k] += w[r * N + c] * K[k * N + c];
          dxa[r * I + k] += Math.abs(w[r * N + c] * K[k * N + c]);
        }
    check(dx, dxe, dxa, N, 'dx');
    const dke = new Float64Array(I * N);
    const dka = new Float64Array(I * N);
    for (let k = 0; k < I; k++)
      for (let c = 0; c < N; c++)
        for (let r = 0; r < B; r++) {
          dke[k * N + c] += x[r * I + k] * w[r * N + c];
          dka[k * N + c] += Math.abs(x[r * I + k] * w[r * N + c]);
        }
    check(dk, dke, dka, B, 'dK');
    const dbe = new Float64Array(N);
    const dba = new Float64Array(N);
    for (let c = 0; c < N; c++)
      for (let r = 0; r < B; r++) {
        dbe[c] += w[r * N + c];
        dba[c] += Math.abs(w[r * N + c]);
      }
    check(db, dbe, dba, B, 'db');
  });
});

describe.skipIf(!HAVE)('SignalpropRelu: the bits of tf.relu and its gradient on the cpu backend', () => {
  test.prop([fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 1, max: 1e6 })], { numRuns: 30 })(
    'with 0, −0, NaN, ±∞ in x and in the upstream gradient',
    async (n, seed) => {
      const x = { data: values(n, seed, true), shape: [n] };
      const w = values(n, seed + 1, true);
      await initBackend('cpu');
      const cpu = valueAndGrads([x], (t) => tf.relu(t), w);
      await initBackend('blas', 1);
      const nodes0 = tf.memory().numTensors;
      const blas = valueAndGrads([x], (t) => reluFused(t), w);
      expect(tf.memory().numTensors).toBe(nodes0);
      for (let k = 0; k < 2; k++) {
        const i = firstBitDiff(blas[k], cpu[k]);
        expect(i, i < 0 ? '' : `output ${k}, element ${i}: blas ${blas[k][i]} vs cpu ${cpu[k][i]}`).toBe(-1);
      }
    },
  );
});
