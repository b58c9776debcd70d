import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lgamma, normalStream } from '../../src/network/index.js';
import { blasUnavailableReason } from '../../src/train/blas.js';
import { columnStatsHost, initBackend, sampleCorrelationHost, unitCorrelation, unitCorrelationHost } from '../../src/train/index.js';

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

/** Float64 mean cosine similarity over the B(B−1) ordered pairs of distinct rows, written out pair by pair. */
function sampleCorr64(x: Float64Array, B: number, n: number): number {
  const norm = (i: number) => {
    let s = 0;
    for (let j = 0; j < n; j++) s += x[i * n + j] ** 2;
    return Math.sqrt(s);
  };
  let sum = 0;
  for (let i = 0; i < B; i++)
    for (let k = 0; k < B; k++) {
      if (i === k) continue;
      let d = 0;
      for (let j = 0; j < n; j++) d += x[i * n + j] * x[k * n + j];
      sum += d / (norm(i) * norm(k));
    }
  return sum / (B * (B - 1));
}

describe('host statistics of a probed matrix', () => {
  it.each(BACKENDS)('columnStatsHost: mean, biased variance and unit correlation against float64 pair by pair (%s)', async (backend) => {
    await initBackend(backend);
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 40 }),
        fc.integer({ min: 2, max: 24 }),
        fc.integer({ min: 1, max: 1e6 }),
        fc.boolean(),
        fc.constantFrom(0.1, 40),
        (B, n, seed, constCol, offset) => {
          const rng = normalStream(seed, 'column-stats');
          const x = new Float64Array(B * n);
          const shared = Array.from({ length: B }, () => rng());
          // correlated columns with offsets: small (the raw-Gram path, μ²/σ² ≤ 16) or 40 sd (the centred path)
          for (let i = 0; i < B; i++) for (let j = 0; j < n; j++) x[i * n + j] = Math.fround(0.5 * shared[i] + rng() + j * offset);
          if (constCol) for (let i = 0; i < B; i++) x[i * n] = 3; // a zero-variance unit: 0 in each of its pairs
          const f32 = Float32Array.from(x);
          const got = columnStatsHost(f32, B, n);
          let m = 0;
          let v = 0;
          for (let j = 0; j < n; j++) {
            let mu = 0;
            for (let i = 0; i < B; i++) mu += x[i * n + j] / B;
            let s = 0;
            for (let i = 0; i < B; i++) s += (x[i * n + j] - mu) ** 2 / B;
            m += mu / n;
            v += s / n;
          }
          // the reference with a zero-variance unit: its pairs count 0 (the definition unitCorrelation uses)
          let ref = 0;
          if (constCol) {
            // mean over all c(c−1)/2 pairs, the constant unit's n − 1 pairs adding 0
            const rest = new Float64Array(B * (n - 1));
            for (let i = 0; i < B; i++) for (let j = 1; j < n; j++) rest[i * (n - 1) + j - 1] = x[i * n + j];
            const pairsRest = ((n - 1) * (n - 2)) / 2;
            ref = n > 2 ? (unitCorr64(rest, B, n - 1) * pairsRest) / ((n * (n - 1)) / 2) : 0;
          } else ref = unitCorr64(x, B, n);
          // mean and variance: float64 sums of float32 inputs, ~1e-15; the correlation: centred values rounded to
          // float32 (u = 6e-8 relative) and a float32 Gram over B ≤ 40 rows (≤ B·u ≈ 2.4e-6 relative per entry)
          expect(Math.abs(got.mean - m)).toBeLessThan(1e-12 * (1 + Math.abs(m)));
          expect(Math.abs(got.variance - v)).toBeLessThan(1e-12 * (1 + v));
          expect(Math.abs(got.unitCorr - ref)).toBeLessThan(1e-5);
          expect(unitCorrelationHost(f32, B, n)).toBe(got.unitCorr);
          // and the device implementation (float32 throughout) agrees to its own rounding
          const dev = unitCorrelation(tf.tensor2d(f32, [B, n])).dataSync()[0];
          expect(Math.abs(dev - got.unitCorr)).toBeLessThan(1e-5);
        },
      ),
      { numRuns: 60, seed: 11 },
    );
  });

  it('sampleCorrelationHost equals the mean off-diagonal cosine of the B×B Gram matrix (the identity ‖Σu‖² − Σ‖u‖²)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 30 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 1e6 }),
        fc.boolean(),
        (B, n, seed, zeroRow) => {
          const rng = normalStream(seed, 'sample-corr');
          const x = new Float64Array(B * n);
          for (let i = 0; i < x.length; i++) x[i] = Math.fround(rng() + 0.7);
          if (zeroRow) for (let j = 0; j < n; j++) x[j] = 0; // a zero row: u = 0, its pairs add 0
          const got = sampleCorrelationHost(Float32Array.from(x), B, n);
          const ref = zeroRow ? sampleCorr64Zero(x, B, n) : sampleCorr64(x, B, n);
          // both float64 over the same float32 values: the identity only reorders the sums (~B²·1e-16)
          expect(Math.abs(got - ref)).toBeLessThan(1e-12);
        },
      ),
      { numRuns: 60, seed: 12 },
    );
  });
});

/** sampleCorr64 with zero rows counted as cosine 0 with everything. */
function sampleCorr64Zero(x: Float64Array, B: number, n: number): number {
  let sum = 0;
  const norm = (i: number) => Math.sqrt(Array.from({ length: n }, (_, j) => x[i * n + j] ** 2).reduce((a, b) => a + b, 0));
  for (let i = 0; i < B; i++)
    for (let k = 0; k < B; k++) {
      if (i === k || norm(i) === 0 || norm(k) === 0) continue;
      let d = 0;
      for (let j = 0; j < n; j++) d += x[i * n + j] * x[k * n + j];
      sum += d / (norm(i) * norm(k));
    }
  return sum / (B * (B - 1));
}
