// probe on a functional model with convolutions and a residual add: Conv2D → BN → ReLU → Conv2D → Add
// (the ReLU output + the second conv) → Flatten → Dense. The weights stay bit-identical with model.fit and
// the callback; a conv output [B, H, W, C] is read as B·H·W rows × C channels (out_mean, out_var, unit_corr
// against float64 on the host from a twin's conv output, BN's from its closed form); Flatten passes the
// gradient on unchanged (grad_out_sq equal to the Add's).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { probe } from '../../src/probe/index.js';
import type { SPRecord } from '../../src/records/index.js';
import { blasUnavailableReason } from '../../src/train/blas.js';
import { initBackend } from '../../src/train/index.js';

const BACKEND = blasUnavailableReason() === null ? 'blas' : 'cpu';
beforeAll(async () => {
  await initBackend(BACKEND);
});

function build(seed: number): tf.LayersModel {
  const input = tf.input({ shape: [6, 6, 2] });
  const k = (s: number) => tf.initializers.glorotNormal({ seed: seed + s });
  const c1 = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: k(0) }).apply(input);
  const bn = tf.layers.batchNormalization().apply(c1);
  const r = tf.layers.reLU().apply(bn) as tf.SymbolicTensor;
  const c2 = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: k(1) }).apply(r) as tf.SymbolicTensor;
  const add = tf.layers.add().apply([r, c2]);
  const flat = tf.layers.flatten().apply(add);
  const out = tf.layers.dense({ units: 3, kernelInitializer: k(2) }).apply(flat) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: out });
  m.compile({ optimizer: tf.train.sgd(0.05), loss: 'meanSquaredError' });
  return m;
}

const same = (a: tf.Tensor[], b: tf.Tensor[]) =>
  a.length === b.length &&
  a.every((t, i) => {
    const [u, v] = [t.dataSync(), b[i].dataSync()];
    return u.length === v.length && u.every((z, k) => Object.is(z, v[k]));
  });

describe('probe on a functional conv model with a residual add', () => {
  it('bit-identical weights with model.fit; NHWC statistics against the host; Flatten passes the gradient on', async () => {
    const B = 8;
    const x = tf.randomNormal([2 * B, 6, 6, 2], 0, 1, 'float32', 5);
    const y = tf.randomNormal([2 * B, 3], 0, 1, 'float32', 6);
    const px = tf.slice(x, 0, B);
    const py = tf.slice(y, 0, B);
    const plain = build(1);
    await plain.fit(x, y, { epochs: 2, batchSize: B, shuffle: false, verbose: 0, yieldEvery: 'never' });
    const m = build(1);
    // the conv output at θ_0 on the probe batch, from a twin (conv is the same in training and inference)
    const twin = build(1);
    const conv1 = tf.model({ inputs: twin.inputs, outputs: twin.layers[1].output as tf.SymbolicTensor });
    const c = conv1.predict(px) as tf.Tensor;
    const ch = Array.from(c.dataSync());
    const eps = (m.layers[2] as unknown as { epsilon: number }).epsilon;
    const p = probe(m, { steps: 4 });
    expect(p.layers().map((l) => l.kind)).toEqual(['Conv2D', 'BatchNormalization', 'ReLU', 'Conv2D', 'Add', 'Flatten', 'Dense']);
    await m.fit(x, y, {
      epochs: 2,
      batchSize: B,
      shuffle: false,
      verbose: 0,
      yieldEvery: 'never',
      callbacks: [p.callback({ x: px, y: py })],
    });
    expect(same(plain.getWeights(), m.getWeights())).toBe(true);

    const rs = p.records();
    const at = (q: string, layer: number, t: number) => {
      const r = rs.filter((z: SPRecord) => z.quantity === q && z.layer === layer && z.step === t);
      expect(r.length).toBe(1);
      return r[0].value;
    };
    // host: rows = B·6·6 positions, C = 4 channels (NHWC: the channel is the fastest axis)
    const C = 4;
    const N = ch.length / C;
    const col = (j: number) => Array.from({ length: N }, (_, n) => ch[n * C + j]);
    const cols = Array.from({ length: C }, (_, j) => col(j));
    const means = cols.map((v) => v.reduce((s, a) => s + a, 0) / N);
    const vars = cols.map((v, j) => v.reduce((s, a) => s + (a - means[j]) ** 2, 0) / N);
    const corr = (i: number, j: number) =>
      cols[i].reduce((s, a, n) => s + (a - means[i]) * (cols[j][n] - means[j]), 0) / N / Math.sqrt(vars[i] * vars[j]);
    let uc = 0;
    for (let i = 0; i < C; i++) for (let j = 0; j < C; j++) if (i !== j) uc += Math.abs(corr(i, j));
    uc /= C * (C - 1);
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    // float32 sums of N = 288 terms: relative error ≲ 288·u ≈ 2e-5; out_mean (a cancellation) judged against √out_var
    const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
    expect(rel(at('out_var', 1, 0), mean(vars))).toBeLessThan(1e-4);
    expect(Math.abs(at('out_mean', 1, 0) - mean(means))).toBeLessThan(1e-4 * Math.sqrt(mean(vars)));
    expect(rel(at('unit_corr', 1, 0), uc)).toBeLessThan(1e-4);
    // BN over B·H·W per channel, γ = 1, β = 0: out_var = mean_j σ_j²/(σ_j² + ε), out_mean = 0
    expect(rel(at('out_var', 2, 0), mean(vars.map((v) => v / (v + eps))))).toBeLessThan(1e-4);
    expect(Math.abs(at('out_mean', 2, 0))).toBeLessThan(1e-5);
    // BN is per channel affine: its output's unit correlation is the input's
    expect(rel(at('unit_corr', 2, 0), uc)).toBeLessThan(1e-4);
    // Flatten is a reshape: ‖∂L/∂y‖² of its output is the Add's, at every probed step (the same values)
    for (let t = 0; t < 4; t++) expect(at('grad_out_sq', 6, t)).toBe(at('grad_out_sq', 5, t));
    // conv kernels have weight records; BN, ReLU, Add and Flatten do not
    expect(new Set(rs.filter((r) => r.quantity === 'weight_norm').map((r) => r.layer))).toEqual(new Set([1, 4, 7]));
    tf.dispose([x, y, px, py, c]);
    plain.dispose();
    m.dispose();
    twin.dispose();
  });
});
