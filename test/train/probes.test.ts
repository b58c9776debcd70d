import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { lgamma, normalStream } from '../../src/network/index.js';
import { blasUnavailableReason } from '../../src/train/blas.js';
import { initBackend, unitCorrelation } from '../../src/train/index.js';

// the probe transposes explicitly on wasm and passes matMul's transpose flag on blas: test both
const BACKENDS = blasUnavailableReason() === null ? (['wasm', 'blas'] as const) : (['wasm'] as const);

/** Float64 mean |Pearson correlation| over unit pairs, written out directly. */
function unitCorr64(x: Float64Array, B: number, n: number): number {
  const mean = new Float64Array(n);
  for (let i = 0; i < B; i++) for (let j = 0; j < n; j++) mean[j] += x[i * n + j] / B;
  let sum = 0;
  for (let j = 0; j < n; j++)
    for (let k = j + 1; k < n; k++) {
      let sjk = 0;
      let sjj = 0;
      let skk = 0;
      for (let i = 0; i < B; i++) {
        const a = x[i * n + j] - mean[j];
        const b = x[i * n + k] - mean[k];
        sjk += a * b;
        sjj += a * a;
        skk += b * b;
      }
      sum += Math.abs(sjk / Math.sqrt(sjj * skk));
    }
  return sum / ((n * (n - 1)) / 2);
}

describe('unit-correlation probe', () => {
  it.each(BACKENDS)('equals a float64 computation and recovers a planted correlation ρ = a²/(a²+b²) (%s)', async (backend) => {
    await initBackend(backend);
    const B = 4000;
    const n = 12;
    const rng = normalStream(3, 'unit-corr-test');
    const a = 0.8;
    const b = 0.6; // ρ = 0.64/(0.64+0.36) = 0.64 between every pair
    const x = new Float64Array(B * n);
    for (let i = 0; i < B; i++) {
      const z = rng();
      for (let j = 0; j < n; j++) x[i * n + j] = a * z + b * rng() + 2; // an offset the probe must remove
    }
    const got = unitCorrelation(tf.tensor2d(Float32Array.from(x), [B, n])).dataSync()[0];
    // float32 sums of B = 4000 terms: relative error ≲ B·u ≈ 2.4e-4
    expect(Math.abs(got - unitCorr64(x, B, n))).toBeLessThan(1e-3);
    // sampling error of a correlation near ρ: (1 − ρ²)/√B ≈ 0.009; 4 sd
    expect(Math.abs(got - 0.64)).toBeLessThan(0.04);
  });
  it.each(BACKENDS)('independent units give E|r| = Γ((B−1)/2)/(√π Γ(B/2)) (the null distribution of r) (%s)', async (backend) => {
    await initBackend(backend);
    const B = 20;
    const n = 200;
    const rng = normalStream(4, 'unit-corr-null');
    const x = new Float64Array(B * n);
    for (let i = 0; i < x.length; i++) x[i] = rng();
    const got = unitCorrelation(tf.tensor2d(Float32Array.from(x), [B, n])).dataSync()[0];
    const expected = Math.exp(lgamma((B - 1) / 2) - lgamma(B / 2)) / Math.sqrt(Math.PI); // 0.18547 at B = 20
    // 19900 pairs, but pairs share units: bound the error by the sd of |r| (≈ 0.14) over √n = 14 independent-ish units
    expect(Math.abs(got - expected)).toBeLessThan(0.03);
  });
});
