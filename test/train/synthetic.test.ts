// The synthetic teacher runs on the sampler's float64 engine (issue 12): its outputs are, bit for bit,
// (1) those of the float64 loop it had before (written out here as the reference: a ← φ(W a + b) per
// layer, y = a Rᵀ, every sum in index order), so the data of existing runs are unchanged; and (2) the
// sampler's own forward of the same spec and seed (forwardBackward's statistics of the last layer).
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  activationOf,
  DEFAULT_RNG,
  deriveSeed,
  drawNetwork,
  drawReadout,
  gaussianInputs,
  type LinearParams,
  makeSpec,
  type NetworkSpec,
} from '../../src/network/index.js';
import { forwardBackward } from '../../src/sample/index.js';
import { loadData, makeDataConfig, type SyntheticData } from '../../src/train/data/index.js';
import { teacherForward, teacherSpec } from '../../src/train/data/synthetic.js';

/** The teacher's forward as it was before it moved onto the sampler (commit 8859255), in float64. */
function referenceTeacher(spec: NetworkSpec, params: LinearParams[], R: Float64Array, K: number, x: Float64Array, B: number): Float64Array {
  const phi = activationOf(spec).phi;
  let a = x;
  let nIn = spec.inputDim;
  for (const L of params) {
    const next = new Float64Array(B * L.nOut);
    for (let i = 0; i < B; i++)
      for (let o = 0; o < L.nOut; o++) {
        let s = L.b[o];
        for (let j = 0; j < nIn; j++) s += L.W[o * nIn + j] * a[i * nIn + j];
        next[i * L.nOut + o] = phi(s);
      }
    a = next;
    nIn = L.nOut;
  }
  const y = new Float64Array(B * K);
  for (let i = 0; i < B; i++)
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let j = 0; j < nIn; j++) s += R[k * nIn + j] * a[i * nIn + j];
      y[i * K + k] = s;
    }
  return y;
}

const cfgOf = (o: Partial<SyntheticData>): SyntheticData => makeDataConfig({ kind: 'synthetic', nTest: 16, ...o }) as SyntheticData;

describe('the synthetic teacher on the sampler engine', () => {
  // B = 150 is not a multiple of the 64 rows the teacher runs at once; the activations cover the
  // piecewise-linear branch (relu, leaky-relu) and φ calls (tanh, gelu)
  it.each([
    ['tanh', 2, 64, 10, 150],
    ['relu', 3, 40, 4, 150],
    ['gelu', 1, 17, 3, 65],
    ['leaky-relu:0.1', 4, 33, 7, 7],
  ] as const)(
    '%s, depth %i, width %i, %i classes, B = %i: the dataset equals the reference loop bit for bit',
    (act, depth, width, K, B) => {
      const dim = 23;
      const cfg = cfgOf({ teacherActivation: act, teacherDepth: depth, teacherWidth: width, classes: K, rho: 0.3 });
      const seed = 5;
      const ds = loadData(cfg, seed, dim, false);
      const dseed = deriveSeed(seed, 'data'); // what loadData hands the source
      const spec = teacherSpec(cfg, dim);
      const tseed = deriveSeed(dseed, 'teacher');
      // the data's draws: the run generator (the bare draw functions default to mt19937)
      const params = drawNetwork(spec, tseed, { rng: DEFAULT_RNG });
      const R = drawReadout(width, K, tseed, { rng: DEFAULT_RNG });
      for (const [label, hb] of [
        ['train-3', ds.batch(3, B)],
        ['test', ds.test()],
      ] as const) {
        const n = hb.n;
        const x = gaussianInputs(n, dim, dseed, cfg.rho, label, { rng: DEFAULT_RNG });
        expect(hb.x).toEqual(Float32Array.from(x));
        const want = Float32Array.from(referenceTeacher(spec, params, R, K, x, n));
        expect(hb.targets).toEqual(want);
        // and the float64 outputs themselves, before rounding to float32
        const got64 = teacherForward(spec, params, R, K, x, n);
        expect(got64).toEqual(referenceTeacher(spec, params, R, K, x, n));
      }
      // labels are the argmax of the same outputs
      const lab = loadData(cfg, seed, dim, true).batch(3, B);
      const y = Float32Array.from(
        referenceTeacher(spec, params, R, K, gaussianInputs(B, dim, dseed, cfg.rho, 'train-3', { rng: DEFAULT_RNG }), B),
      );
      for (let i = 0; i < B; i++) {
        const row = Array.from(y.subarray(i * K, (i + 1) * K));
        expect(lab.labels![i]).toBe(row.indexOf(Math.max(...row)));
      }
    },
  );

  it("equals the sampler's forward of the same spec and seed: forwardBackward's last-layer batch mean and variance", () => {
    // readout = identity: y = x_L exactly (each output is one product a·1 plus exact zeros)
    for (const act of ['tanh', 'relu', 'silu']) {
      const B = 96;
      const width = 24;
      const spec = makeSpec({ depth: 3, width, inputDim: 16, order: 'linear-act', activation: act, batch: B, init: { sigmaW2: 1.5 } });
      const seed = 9;
      const I = new Float64Array(width * width);
      for (let j = 0; j < width; j++) I[j * width + j] = 1;
      const xL = teacherForward(
        spec,
        drawNetwork(spec, seed, { rng: DEFAULT_RNG }),
        I,
        width,
        gaussianInputs(B, spec.inputDim, seed, 0, 'x', { rng: DEFAULT_RNG }),
        B,
      );
      const stats = forwardBackward(spec, seed, { backend: 'typescript', loss: 'readout' });
      // batch mean and (biased) variance per unit, then the mean over units, in float64 here
      let meanSum = 0;
      let varSum = 0;
      for (let j = 0; j < width; j++) {
        let m = 0;
        for (let i = 0; i < B; i++) m += xL[i * width + j];
        m /= B;
        let v = 0;
        for (let i = 0; i < B; i++) v += (xL[i * width + j] - m) ** 2;
        meanSum += m;
        varSum += v / B;
      }
      // the same numbers summed in another order: relative error ≲ (B + width)·2⁻⁵³ ≈ 1.3e-14; 1e-12 allows 75×
      const tol = (a: number) => 1e-12 * Math.max(1, Math.abs(a));
      expect(Math.abs(stats.postactVar[2] - varSum / width)).toBeLessThan(tol(varSum / width));
      expect(Math.abs(stats.postactMean[2] - meanSum / width)).toBeLessThan(tol(meanSum / width));
    }
  });

  test.prop([fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 3 }), fc.constantFrom('tanh', 'relu', 'gelu')], { numRuns: 20 })(
    'row by row: any batch gives each row the outputs it gets alone (the teacher runs 64 rows at a time)',
    (B, depth, act) => {
      const spec = makeSpec({ depth, width: 9, inputDim: 5, order: 'linear-act', activation: act, batch: null, init: { sigmaW2: 1 } });
      const params = drawNetwork(spec, 3);
      const R = drawReadout(9, 2, 3);
      const x = gaussianInputs(B, 5, 4, 0.2);
      const all = teacherForward(spec, params, R, 2, x, B);
      for (const i of [0, B - 1, Math.floor(B / 2)]) {
        const one = teacherForward(spec, params, R, 2, x.slice(i * 5, (i + 1) * 5), 1);
        expect(Array.from(all.subarray(i * 2, i * 2 + 2))).toEqual(Array.from(one));
      }
    },
  );
});
