// probe(model): the training is unchanged (weights and BN moving statistics bit-identical after N steps,
// with model.fit and the callback, and with step() against optimizer.minimize), no tensor leaks, and the
// numbers against independent computations: a float64 hand-built chain (forward, BN backward, ReLU mask,
// Dense backward) on a tiny Dense → BN → ReLU → Dense model, the host differences of the weights, and
// tf.variableGrads on a twin model.
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/network/index.js';
import { probe } from '../../src/probe/index.js';
import type { SPRecord } from '../../src/records/index.js';
import { blasUnavailableReason } from '../../src/train/blas.js';
import { initBackend } from '../../src/train/index.js';

// the native backend where the addon is built (as in .ci/run), else tfjs's cpu backend; both are tfjs backends
const BACKEND = blasUnavailableReason() === null ? 'blas' : 'cpu';

beforeAll(async () => {
  await initBackend(BACKEND);
});

type Norm = 'bn' | 'ln';

/** Dense → norm → ReLU, `depth` times, then a Dense readout; weights from seeded initializers (same seed: same weights). */
function build(seed: number, norm: Norm, opts: { inDim?: number; width?: number; depth?: number; nOut?: number; lr?: number } = {}) {
  const { inDim = 8, width = 16, depth = 2, nOut = 3, lr = 0.1 } = opts;
  const m = tf.sequential();
  for (let l = 0; l < depth; l++) {
    m.add(
      tf.layers.dense({
        units: width,
        useBias: false,
        kernelInitializer: tf.initializers.glorotNormal({ seed: seed + l }),
        ...(l === 0 ? { inputShape: [inDim] } : {}),
      }),
    );
    m.add(norm === 'bn' ? tf.layers.batchNormalization() : tf.layers.layerNormalization());
    m.add(tf.layers.reLU());
  }
  m.add(tf.layers.dense({ units: nOut, kernelInitializer: tf.initializers.glorotNormal({ seed: seed + 100 }) }));
  m.compile({ optimizer: tf.train.sgd(lr), loss: 'meanSquaredError' });
  return m;
}

/** Every weight of the model (trainable and not: BN's moving mean/variance too) as host arrays. */
const weightsOf = (m: tf.LayersModel) => m.getWeights().map((w) => Float32Array.from(w.dataSync()));

/** Bit-for-bit equality (Object.is: NaN equals NaN, −0 differs from 0). */
function sameBits(a: Float32Array[], b: Float32Array[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i].length !== b[i].length) return false;
    for (let k = 0; k < a[i].length; k++) if (!Object.is(a[i][k], b[i][k])) return false;
  }
  return true;
}

const data = (B: number, inDim: number, nOut: number, seed: number) => ({
  x: tf.randomNormal([B, inDim], 0, 1, 'float32', seed),
  y: tf.randomNormal([B, nOut], 0, 1, 'float32', seed + 1),
});

const find = (rs: SPRecord[], q: string, layer: number | null, step: number) => {
  const r = rs.filter((x) => x.quantity === q && x.layer === layer && x.step === step);
  if (r.length !== 1) throw new Error(`${r.length} records ${q} layer ${layer} step ${step}`);
  return r[0].value;
};

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

describe('probe: the training is unchanged', () => {
  for (const norm of ['bn', 'ln'] as const) {
    it(`model.fit with the callback: weights (and moving statistics) bit-identical after 6 steps (${norm})`, async () => {
      const { x, y } = data(16, 8, 3, 7);
      const px = tf.slice(x, 0, 8);
      const py = tf.slice(y, 0, 8);
      const plain = build(1, norm);
      const n0 = tf.memory().numTensors;
      await plain.fit(x, y, { epochs: 3, batchSize: 8, shuffle: false, verbose: 0, yieldEvery: 'never' });
      const plainLeft = tf.memory().numTensors - n0; // what fit itself keeps (if anything)
      const probed = build(1, norm);
      const n1 = tf.memory().numTensors;
      const p = probe(probed, { steps: 6, probe: { dense: 6 }, seed: 1 });
      const cb = p.callback({ x: px, y: py });
      await probed.fit(x, y, { epochs: 3, batchSize: 8, shuffle: false, verbose: 0, yieldEvery: 'never', callbacks: [cb] });
      p.dispose();
      // the probe's forward/backward and snapshots left nothing behind: the same count as the plain fit's
      // (which is 0 in tfjs 4.22: the count after the probed fit equals the count before it)
      expect(tf.memory().numTensors - n1).toBe(plainLeft);
      const a = weightsOf(plain);
      const b = weightsOf(probed);
      // per block: K, γ, β and (BN) the moving mean and variance; then the readout K, b
      expect(a.length).toBe(2 * (norm === 'bn' ? 5 : 3) + 2);
      expect(sameBits(a, b)).toBe(true);
      // it did probe: 6 steps × (3·2 + 1 recorded layers)
      expect(p.records().filter((r) => r.quantity === 'grad_out_sq').length).toBe(6 * 7);
      tf.dispose([x, y, px, py]);
      plain.dispose();
      probed.dispose();
    });

    it(`step() in a custom loop: bit-identical to optimizer.minimize after 6 steps (${norm})`, () => {
      const B = 16;
      const plain = build(3, norm);
      const probed = build(3, norm);
      const loss = (m: tf.LayersModel, bx: tf.Tensor, by: tf.Tensor) => () =>
        tf.losses.meanSquaredError(by, m.apply(bx, { training: true }) as tf.Tensor) as tf.Scalar;
      const before = tf.memory().numTensors;
      const optA = tf.train.adam(0.01);
      const optB = tf.train.adam(0.01);
      const p = probe(probed, { steps: 6, loss: (yt, yp) => tf.losses.meanSquaredError(yt, yp) as tf.Scalar });
      const lossesA: number[] = [];
      const lossesB: number[] = [];
      for (let t = 0; t < 6; t++) {
        const { x, y } = data(B, 8, 3, 100 + t);
        const c = optA.minimize(
          loss(plain, x, y),
          true,
          plain.trainableWeights.map((w) => w.read() as tf.Variable),
        )!;
        lossesA.push(c.dataSync()[0]);
        c.dispose();
        lossesB.push(p.step(loss(probed, x, y), optB, { x, y }));
        tf.dispose([x, y]);
      }
      p.dispose();
      expect(sameBits(weightsOf(plain), weightsOf(probed))).toBe(true);
      expect(lossesB).toEqual(lossesA);
      // the records' losses are the step's
      expect(
        p
          .records()
          .filter((r) => r.quantity === 'loss')
          .map((r) => r.value),
      ).toEqual(lossesA);
      // Adam's state (m, v per variable) goes with the optimizers; nothing else stayed alive
      optA.dispose();
      optB.dispose();
      expect(tf.memory().numTensors).toBe(before);
      plain.dispose();
      probed.dispose();
    });
  }

  it('property: with and without probes the weights agree bit for bit (random depth, width, batch, lr)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 2, max: 12 }),
        fc.integer({ min: 2, max: 12 }),
        fc.double({ min: 0.001, max: 0.5, noNaN: true }),
        fc.integer({ min: 1, max: 1000 }),
        async (depth, width, B, lr, seed) => {
          const { x, y } = data(2 * B, 5, 2, seed);
          const a = build(seed, 'bn', { inDim: 5, width, depth, nOut: 2, lr });
          const b = build(seed, 'bn', { inDim: 5, width, depth, nOut: 2, lr });
          await a.fit(x, y, { epochs: 1, batchSize: B, shuffle: false, verbose: 0, yieldEvery: 'never' });
          const p = probe(b, { steps: 2 });
          await b.fit(x, y, {
            epochs: 1,
            batchSize: B,
            shuffle: false,
            verbose: 0,
            yieldEvery: 'never',
            callbacks: [p.callback({ x, y })],
          });
          const ok = sameBits(weightsOf(a), weightsOf(b));
          tf.dispose([x, y]);
          a.dispose();
          b.dispose();
          return ok;
        },
      ),
      { numRuns: 5, seed: 17 },
    );
  });
});

/** Float64 forward and backward of Dense(K1, no bias) → BN(γ, β, ε) → ReLU → Dense(K2, b2) with mean squared error over all entries. */
function chain64(x: number[][], t: number[][], K1: number[][], gamma: number[], beta: number[], eps: number, K2: number[][], b2: number[]) {
  const B = x.length;
  const n = K1[0].length;
  const k = K2[0].length;
  const mm = (A: number[][], M: number[][]) => A.map((row) => M[0].map((_, j) => row.reduce((s, v, i) => s + v * M[i][j], 0)));
  const T = (A: number[][]) => A[0].map((_, j) => A.map((r) => r[j]));
  const h = mm(x, K1);
  const mu = Array.from({ length: n }, (_, j) => h.reduce((s, r) => s + r[j], 0) / B);
  const va = Array.from({ length: n }, (_, j) => h.reduce((s, r) => s + (r[j] - mu[j]) ** 2, 0) / B);
  const inv = va.map((v) => 1 / Math.sqrt(v + eps));
  const zh = h.map((r) => r.map((v, j) => (v - mu[j]) * inv[j]));
  const z = zh.map((r) => r.map((v, j) => gamma[j] * v + beta[j]));
  const r = z.map((row) => row.map((v) => Math.max(v, 0)));
  const y = mm(r, K2).map((row) => row.map((v, j) => v + b2[j]));
  const gy = y.map((row, i) => row.map((v, j) => (2 * (v - t[i][j])) / (B * k)));
  const gr = mm(gy, T(K2));
  const gz = gr.map((row, i) => row.map((v, j) => (z[i][j] > 0 ? v : 0)));
  const dz = gz.map((row) => row.map((v, j) => v * gamma[j]));
  const mdz = Array.from({ length: n }, (_, j) => dz.reduce((s, row) => s + row[j], 0) / B);
  const mdzz = Array.from({ length: n }, (_, j) => dz.reduce((s, row, i) => s + row[j] * zh[i][j], 0) / B);
  const gh = dz.map((row, i) => row.map((v, j) => (v - mdz[j] - zh[i][j] * mdzz[j]) * inv[j]));
  const gK1 = mm(T(x), gh);
  const gK2 = mm(T(r), gy);
  const sq = (A: number[][]) => A.flat().reduce((s, v) => s + v * v, 0);
  const meanVar = (A: number[][]) => {
    const c = A[0].length;
    let m = 0;
    let v = 0;
    for (let j = 0; j < c; j++) {
      const col = A.map((row) => row[j]);
      const cm = col.reduce((s, a) => s + a, 0) / A.length;
      m += cm / c;
      v += col.reduce((s, a) => s + (a - cm) ** 2, 0) / A.length / c;
    }
    return { mean: m, var: v };
  };
  const unitCorr = (A: number[][]) => {
    const c = A[0].length;
    const cols = Array.from({ length: c }, (_, j) => A.map((row) => row[j]));
    const cen = cols.map((col) => {
      const cm = col.reduce((s, a) => s + a, 0) / col.length;
      return col.map((a) => a - cm);
    });
    const nrm = cen.map((col) => Math.sqrt(col.reduce((s, a) => s + a * a, 0)));
    let s = 0;
    for (let i = 0; i < c; i++)
      for (let j = 0; j < c; j++)
        if (i !== j && nrm[i] > 0 && nrm[j] > 0) s += Math.abs(cen[i].reduce((a, v, q) => a + v * cen[j][q], 0) / (nrm[i] * nrm[j]));
    return s / (c * (c - 1));
  };
  return {
    outs: [h, z, r, y],
    gradOutSq: [sq(gh), sq(gz), sq(gr), sq(gy)],
    gradWSq: { 1: sq(gK1), 4: sq(gK2) } as Record<number, number>,
    stats: [h, z, r, y].map((A) => ({ ...meanVar(A), uc: unitCorr(A) })),
    minAbsZ: Math.min(...z.flat().map(Math.abs)),
  };
}

const to2 = (t: tf.Tensor): number[][] => t.arraySync() as number[][];

describe('probe: the numbers against independent computations', () => {
  it('grad_out_sq, grad_w_sq, out_mean, out_var, unit_corr against a float64 hand-built chain (tiny Dense → BN → ReLU → Dense)', async () => {
    const m = build(5, 'bn', { inDim: 4, width: 6, depth: 1, nOut: 3 });
    const B = 16;
    const { x, y } = data(B, 4, 3, 21);
    // a layer's weight by its name (model.getWeights() lists the trainable ones first)
    const wt = (layer: number, name: string) => {
      const L = m.layers[layer];
      return L.getWeights()[L.weights.findIndex((v) => v.originalName.endsWith(`/${name}`))];
    };
    const [K1, gamma, beta, K2, b2] = [wt(0, 'kernel'), wt(1, 'gamma'), wt(1, 'beta'), wt(3, 'kernel'), wt(3, 'bias')];
    const bn = m.layers[1] as unknown as { epsilon: number };
    const ref = chain64(
      to2(x),
      to2(y),
      to2(K1),
      Array.from(gamma.dataSync()),
      Array.from(beta.dataSync()),
      bn.epsilon,
      to2(K2),
      Array.from(b2.dataSync()),
    );
    // the ReLU mask is the same in float32 and float64 only away from the kink: no |z| near float32 rounding
    expect(ref.minAbsZ).toBeGreaterThan(1e-4);
    const p = probe(m, { steps: 1 });
    await m.fit(x, y, { epochs: 1, batchSize: B, shuffle: false, verbose: 0, yieldEvery: 'never', callbacks: [p.callback({ x, y })] });
    const rs = p.records();
    // Tolerance: each value is a float32 computation through ≤ 8 stages (matMul, moments, normalize, mask,
    // matMul, loss gradient, BN backward, matMul), each a sum of ≤ 16 terms: relative error ≲ 8·16·u ≈ 8e-6
    // with u = 2^-24 per stage when nothing cancels; out_mean of the BN output is a cancellation (a mean
    // ≈ β = 0), judged absolutely against the output's scale √out_var. 1e-4 leaves a 10× margin.
    for (let l = 1; l <= 4; l++) {
      expect(relErr(find(rs, 'grad_out_sq', l, 0), ref.gradOutSq[l - 1])).toBeLessThan(1e-4);
      expect(relErr(find(rs, 'out_var', l, 0), ref.stats[l - 1].var)).toBeLessThan(1e-4);
      expect(Math.abs(find(rs, 'out_mean', l, 0) - ref.stats[l - 1].mean)).toBeLessThan(1e-4 * Math.sqrt(ref.stats[l - 1].var));
      expect(relErr(find(rs, 'unit_corr', l, 0), ref.stats[l - 1].uc)).toBeLessThan(1e-4);
    }
    for (const l of [1, 4]) expect(relErr(find(rs, 'grad_w_sq', l, 0), ref.gradWSq[l])).toBeLessThan(1e-4);
    for (let l = 1; l < 4; l++) expect(relErr(find(rs, 'grad_growth', l, 0), ref.gradOutSq[l - 1] / ref.gradOutSq[l])).toBeLessThan(2e-4);
    // the loss record is fit's loss of the batch: the float64 mean squared error of the same forward
    const lossRef = ref.outs[3].flat().reduce((s, v, i) => s + (v - to2(y).flat()[i]) ** 2, 0) / (B * 3);
    expect(relErr(find(rs, 'loss', null, 0), lossRef)).toBeLessThan(1e-4);
    tf.dispose([x, y]);
    m.dispose();
  });

  it('weight_norm, update_norm, update_ratio against the host differences of the weights; grad_w_sq against tf.variableGrads on a twin', async () => {
    const m = build(9, 'bn', { depth: 2 });
    const twin = build(9, 'bn', { depth: 2 });
    const { x, y } = data(24, 8, 3, 31);
    const px = tf.slice(x, 0, 8);
    const py = tf.slice(y, 0, 8);
    const kernels = () => m.layers.filter((l) => l.getClassName() === 'Dense').map((l) => Float64Array.from(l.getWeights()[0].dataSync()));
    const seen: Float64Array[][] = [];
    const twinGrads: number[][] = [];
    const watch = new tf.CustomCallback({
      onBatchBegin: async () => {
        seen.push(kernels());
        // the reference: the twin gets the model's weights and tf.variableGrads of the same loss on the probe batch
        twin.setWeights(m.getWeights());
        const vars = twin.layers.filter((l) => l.getClassName() === 'Dense').map((l) => l.trainableWeights[0].read() as tf.Variable);
        const { value, grads } = tf.variableGrads(
          () => tf.mean(tf.losses.meanSquaredError(py, twin.apply(px, { training: true }) as tf.Tensor)) as tf.Scalar,
          vars,
        );
        twinGrads.push(
          vars.map((v) => Array.from(grads[v.name].dataSync() as Float32Array).reduce((s: number, g: number) => s + g * g, 0)),
        );
        tf.dispose([value, ...Object.values(grads)]);
      },
    });
    const p = probe(m, { steps: 3 });
    await m.fit(x, y, {
      epochs: 1,
      batchSize: 8,
      shuffle: false,
      verbose: 0,
      yieldEvery: 'never',
      callbacks: [p.callback({ x: px, y: py }), watch],
    });
    seen.push(kernels());
    const rs = p.records();
    const denseLayers = [1, 4, 7]; // Dense, BN, ReLU, Dense, BN, ReLU, Dense
    for (let t = 0; t < 3; t++) {
      for (const [k, l] of denseLayers.entries()) {
        const w0 = seen[t][k];
        const w1 = seen[t + 1][k];
        const wn = Math.sqrt(w0.reduce((s, v) => s + v * v, 0));
        const un = Math.sqrt(w0.reduce((s, v, i) => s + (w1[i] - v) ** 2, 0));
        // float32 sums of ≤ 128 squares (and float32 differences, each rounded once): relative error ≤ 128·u + u ≈ 8e-6
        expect(relErr(find(rs, 'weight_norm', l, t), wn)).toBeLessThan(1e-5);
        expect(relErr(find(rs, 'update_norm', l, t), un)).toBeLessThan(1e-5);
        expect(relErr(find(rs, 'update_ratio', l, t), un / wn)).toBeLessThan(2e-5);
        // the same loss and weights through tfjs's own model.apply: different only in summation order, if at all
        expect(relErr(find(rs, 'grad_w_sq', l, t), twinGrads[t][k])).toBeLessThan(1e-5);
      }
    }
    tf.dispose([x, y, px, py]);
    m.dispose();
    twin.dispose();
  });

  it('update_norm of plain SGD is lr·‖∂L/∂W‖ of the step (the update −lr·g)', () => {
    const m = build(11, 'ln', { depth: 2 });
    const lr = 0.05;
    const opt = tf.train.sgd(lr);
    const p = probe(m, { steps: 3 });
    for (let t = 0; t < 3; t++) {
      const { x, y } = data(8, 8, 3, 50 + t);
      p.step(() => tf.losses.meanSquaredError(y, m.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, opt);
      tf.dispose([x, y]);
    }
    const rs = p.records();
    for (let t = 0; t < 3; t++)
      for (const l of [1, 4, 7]) {
        // ΔW = −lr·g elementwise, each entry rounded once (w − lr·g, then (w − lr·g) − w): relative error ≲ 4u·‖W‖/‖ΔW‖
        const tol = 4 * 2 ** -24 * (find(rs, 'weight_norm', l, t) / find(rs, 'update_norm', l, t)) + 1e-5;
        expect(relErr(find(rs, 'update_norm', l, t), lr * find(rs, 'grad_w_norm', l, t))).toBeLessThan(tol);
      }
    // without a batch, step() records no output statistics, and says so
    expect(rs.some((r) => r.quantity === 'out_var')).toBe(false);
    expect(p.notes().join('\n')).toMatch(/without a batch/);
    opt.dispose();
    m.dispose();
  });
});

describe('probe: records and input', () => {
  it('records carry the layer names, source trained, layer 1..n over the recorded layers, loss every step', async () => {
    const m = build(13, 'bn', { depth: 2 });
    const { x, y } = data(16, 8, 3, 61);
    const p = probe(m, { steps: 30, probe: { dense: 2, perDecade: 2 }, seed: 5, tags: { run: 'a' }, fields: { depth: 2, width: 16 } });
    const px = tf.slice(x, 0, 4);
    const py = tf.slice(y, 0, 4);
    await m.fit(x, y, {
      epochs: 15,
      batchSize: 8,
      shuffle: false,
      verbose: 0,
      yieldEvery: 'never',
      callbacks: [p.callback({ x: px, y: py })],
    });
    const rs = p.records();
    expect(new Set(rs.map((r) => r.source))).toEqual(new Set(['trained']));
    expect(rs.filter((r) => r.quantity === 'loss').map((r) => r.step)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    // the schedule is the trainer's: steps 0, 1, then log-spaced 2·10^(i/2) (2, 6, 20, …), and the last step 29
    const probed = [...new Set(rs.filter((r) => r.quantity === 'grad_out_sq').map((r) => r.step))];
    expect(probed).toEqual([0, 1, 2, 6, 20, 29]);
    const names = m.layers.map((l) => l.name);
    for (const r of rs.filter((q) => q.layer !== null)) expect(r.tags?.name).toBe(names[r.layer! - 1]);
    // batch: the probe batch's size (its statistics are over it), where fields does not say
    expect(rs.every((r) => r.seed === 5 && r.tags?.run === 'a' && r.depth === 2 && r.width === 16 && r.batch === 4)).toBe(true);
    expect(p.layers().map((l) => l.kind)).toEqual(['Dense', 'BatchNormalization', 'ReLU', 'Dense', 'BatchNormalization', 'ReLU', 'Dense']);
    tf.dispose([x, y, px, py]);
    m.dispose();
  });

  it("a layer that hands back its input (Dropout at rate 0) leaves the user's probe batch alone, and is noted", async () => {
    const m = tf.sequential();
    m.add(tf.layers.dropout({ rate: 0, inputShape: [4] }));
    m.add(tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotNormal({ seed: 3 }) }));
    m.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
    const { x, y } = data(8, 4, 2, 71);
    const p = probe(m, { steps: 2 });
    await m.fit(x, y, { epochs: 2, batchSize: 8, shuffle: false, verbose: 0, yieldEvery: 'never', callbacks: [p.callback({ x, y })] });
    expect(x.isDisposed).toBe(false);
    // the Dropout output is x itself: its out_var is x's (float32 sums of 8 terms: 1e-5 covers them)
    const host = to2(x);
    let v = 0;
    for (let j = 0; j < 4; j++) {
      const c = host.map((r) => r[j]);
      const mu = c.reduce((a, b) => a + b, 0) / 8;
      v += c.reduce((a, b) => a + (b - mu) ** 2, 0) / 8 / 4;
    }
    expect(relErr(find(p.records(), 'out_var', 1, 0), v)).toBeLessThan(1e-5);
    expect(p.notes().join('\n')).toMatch(/draws random numbers in training mode/);
    tf.dispose([x, y]);
    m.dispose();
  });

  it('bad input: an InputError naming the field', () => {
    const m = build(1, 'bn');
    const field = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(InputError);
        return (e as InputError).field;
      }
      return null;
    };
    expect(field(() => probe(m, { steps: 0 }))).toBe('steps');
    expect(field(() => probe(m, { steps: 2.5 }))).toBe('steps');
    expect(field(() => probe(m, { steps: 5, probe: { dense: -1 } }))).toBe('probe.dense');
    expect(field(() => probe(m, { steps: 5, loss: 'hinge' as never }))).toBe('loss');
    expect(field(() => probe({} as never, { steps: 5 }))).toBe('model');
    const un = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
    expect(field(() => probe(un, { steps: 5 }).callback({ x: tf.zeros([2, 3]), y: tf.zeros([2, 2]) }))).toBe('loss');
    expect(field(() => probe(m, { steps: 5 }).callback({} as never))).toBe('probeBatch');
    m.dispose();
    un.dispose();
  });
});

afterAll(() => {
  tf.disposeVariables();
});
