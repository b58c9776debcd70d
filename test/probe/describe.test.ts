// describe(model) and theoryOverlay on tfjs models built here. Every number is checked against something the
// code under test does not compute: σ_w² against the variance of the kernel tfjs actually drew (Monte Carlo),
// the truncated-normal factor against a Simpson quadrature, each activation mapping against tfjs's own
// activation on a grid, block 1's predicted pre-activation variance against the model's forward pass.
import * as tf from '@tensorflow/tfjs';
import { describe as group, expect, it } from 'vitest';
import { layersOf, makeSpec, parseActivation } from '../../src/network/index.js';
import { tfjsActivation, describe, truncatedNormalVariance } from '../../src/probe/describe.js';
import { defaultLayerIndex, giaRecords, inputMoments, theoryOverlay } from '../../src/probe/theory.js';
import { predict } from '../../src/theory/index.js';

tf.setBackend('cpu');

function bnNet(opts: { width: number; depth: number; inputDim: number; init: () => any; eps?: number; act?: string }) {
  const m = tf.sequential();
  for (let l = 0; l < opts.depth; l++) {
    m.add(tf.layers.dense({ units: opts.width, kernelInitializer: opts.init(), ...(l === 0 ? { inputShape: [opts.inputDim] } : {}) }));
    m.add(tf.layers.batchNormalization({ epsilon: opts.eps ?? 1e-3 }));
    m.add(tf.layers.activation({ activation: (opts.act ?? 'relu') as any }));
  }
  m.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  return m;
}

/** Var(kernel)·fan_in of the weights tfjs drew. */
function drawnSigmaW2(layer: tf.layers.Layer): { sw: number; n: number } {
  const k = layer.getWeights()[0];
  const v = k.dataSync();
  let s = 0;
  for (const x of v) s += x * x;
  return { sw: (s / v.length) * k.shape[0], n: v.length };
}

group('describe: σ_w² from the initializer', () => {
  it('the truncated-normal factor equals a Simpson quadrature of x²φ(x) on [−2, 2]', () => {
    // ∫_{−2}^{2} x² φ(x) dx / ∫_{−2}^{2} φ(x) dx, Simpson with 20000 panels: error ~1e-15
    const N = 20000;
    const h = 4 / N;
    let num = 0;
    let den = 0;
    for (let i = 0; i <= N; i++) {
      const x = -2 + i * h;
      const w = i === 0 || i === N ? 1 : i % 2 ? 4 : 2;
      const p = Math.exp((-x * x) / 2);
      num += w * x * x * p;
      den += w * p;
    }
    expect(truncatedNormalVariance(2)).toBeCloseTo(num / den, 10);
  });

  // each initializer: the derived σ_w² against the drawn kernel's Var·fan_in (fan_in 256, 256 units:
  // N = 65536 entries; the sample second moment's relative sd is √((κ−1)/N) ≤ √(2/N) = 0.55% for κ ≤ 3;
  // tolerance 4 sd = 2.2%, while the truncation alone would be a 23% error)
  const cases: [string, () => any][] = [
    ['heNormal', () => tf.initializers.heNormal({ seed: 3 })],
    ['heUniform', () => tf.initializers.heUniform({ seed: 4 })],
    ['glorotNormal', () => tf.initializers.glorotNormal({ seed: 5 })],
    ['glorotUniform', () => tf.initializers.glorotUniform({ seed: 6 })],
    ['leCunNormal', () => tf.initializers.leCunNormal({ seed: 7 })],
    ['varianceScaling fanOut 1.7', () => tf.initializers.varianceScaling({ scale: 1.7, mode: 'fanOut', distribution: 'uniform', seed: 8 })],
    ['randomNormal 0.05', () => tf.initializers.randomNormal({ stddev: 0.05, seed: 9 })],
    ['truncatedNormal 0.05', () => tf.initializers.truncatedNormal({ stddev: 0.05, seed: 10 })],
    ['randomUniform ±0.1', () => tf.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: 11 })],
  ];
  for (const [name, init] of cases) {
    it(`${name}: σ_w² matches the drawn kernel within 2.2%`, () => {
      const m = bnNet({ width: 256, depth: 2, inputDim: 256, init });
      const d = describe(m);
      const dense = d.map.filter((x) => x.kind === 'dense');
      expect(dense).toHaveLength(2);
      for (let i = 0; i < 2; i++) {
        const { sw } = drawnSigmaW2(m.getLayer(dense[i].modelLayer));
        expect(Math.abs(dense[i].sigmaW2! / sw - 1)).toBeLessThan(0.022);
        expect(dense[i].how).toMatch(/σ_w²/);
      }
      m.dispose();
    });
  }

  it('orthogonal (square): σ_w² = gain², the drawn kernel’s Var·fan_in exactly (an orthogonal matrix: Σ W² = gain²·n)', () => {
    const m = bnNet({ width: 32, depth: 2, inputDim: 32, init: () => tf.initializers.orthogonal({ gain: 1.3, seed: 12 }) });
    const d = describe(m);
    const dense = d.map.filter((x) => x.kind === 'dense');
    for (const x of dense) {
      expect(x.sigmaW2).toBeCloseTo(1.69, 12);
      expect(Math.abs(drawnSigmaW2(m.getLayer(x.modelLayer)).sw / 1.69 - 1)).toBeLessThan(1e-5); // float32
    }
    expect(d.spec!.init.kind).toBe('orthogonal');
    m.dispose();
  });

  it('an initializer without a variance (Zeros) is a note, no spec, no crash', () => {
    const m = bnNet({ width: 8, depth: 2, inputDim: 8, init: () => 'zeros' });
    const d = describe(m);
    expect(d.layers).toBeNull();
    expect(d.spec).toBeUndefined();
    expect(d.notes.some((n) => /^no theory for layer dense_\w+ \(Dense\): its kernel initializer Zeros/.test(n))).toBe(true);
    m.dispose();
  });
});

group('describe: kinds, ε, γ/β, activations', () => {
  it('dense → BN → relu × 3 is the linear-bn-act preset with the model’s ε, widths and σ_w²', () => {
    const m = bnNet({ width: 32, depth: 3, inputDim: 20, init: () => tf.initializers.heNormal({ seed: 1 }), eps: 0.01 });
    const d = describe(m, { batch: 16 });
    expect(d.map.map((x) => x.kind)).toEqual([
      'dense',
      'batchnorm',
      'act',
      'dense',
      'batchnorm',
      'act',
      'dense',
      'batchnorm',
      'act',
      'readout',
    ]);
    expect(d.map.map((x) => x.block)).toEqual([1, 1, 1, 2, 2, 2, 3, 3, 3, null]);
    expect(d.readout).toBe(m.layers[9].name);
    expect(d.spec!.order).toBe('linear-bn-act');
    expect(d.spec!.depth).toBe(3);
    expect(d.spec!.width).toBe(32);
    expect(d.spec!.inputDim).toBe(20);
    expect(d.spec!.batch).toBe(16);
    expect(d.spec!.bn).toEqual({ gamma: 1, beta: 0, eps: 0.01 });
    // He normal in tfjs: truncated at 2 sd, so σ_w² = 2·0.7737 (fan_in mode: the same for every block)
    expect(d.spec!.init.sigmaW2).toBeCloseTo(2 * truncatedNormalVariance(2), 12);
    expect(d.inputScale).toBe(1);
    m.dispose();
  });

  it('center/scale off: β = 0, γ = 1; a Constant γ is read', () => {
    const m = tf.sequential({
      layers: [
        tf.layers.dense({ units: 8, inputShape: [8], kernelInitializer: 'heNormal' }),
        tf.layers.batchNormalization({ center: false, scale: false, epsilon: 1e-5 }),
        tf.layers.reLU(),
        tf.layers.dense({ units: 8, kernelInitializer: 'heNormal' }),
        tf.layers.layerNormalization({ epsilon: 1e-4, gammaInitializer: tf.initializers.constant({ value: 0.5 }) }),
        tf.layers.leakyReLU({ alpha: 0.2 }),
        tf.layers.dense({ units: 3 }),
      ],
    });
    const d = describe(m);
    expect(d.layers).toEqual([
      { kind: 'dense', width: 8, init: 'gaussian', sigmaW2: expect.any(Number), sigmaB2: 0 },
      { kind: 'batchnorm', gamma: 1, beta: 0, eps: 1e-5 },
      { kind: 'act', activation: 'relu' },
      { kind: 'dense', width: 8, init: 'gaussian', sigmaW2: expect.any(Number), sigmaB2: 0 },
      { kind: 'layernorm', gamma: 0.5, beta: 0, eps: 1e-4 },
      { kind: 'act', activation: 'leaky-relu:0.2' },
    ]);
    // blocks differ (BN then LN): a custom list, which the theory room refuses with BatchNorm in it
    expect(d.spec!.order).toBe('custom');
    const o = theoryOverlay(d);
    expect(o.records).toHaveLength(0);
    expect(o.notes.join(' ')).toMatch(/predict refused/);
    m.dispose();
  });

  it('a fused Dense activation becomes dense → act; dropout 0 and a linear Activation change nothing', () => {
    const m = tf.sequential({
      layers: [
        tf.layers.dense({ units: 8, inputShape: [4], activation: 'tanh' }),
        tf.layers.dropout({ rate: 0 }),
        tf.layers.activation({ activation: 'linear' }),
        tf.layers.dense({ units: 8, activation: 'tanh' }),
        tf.layers.dense({ units: 2 }),
      ],
    });
    const d = describe(m);
    expect(d.layers!.map((l) => l.kind)).toEqual(['dense', 'act', 'dense', 'act']);
    expect(d.map.map((x) => x.kind)).toEqual(['dense', 'identity', 'identity', 'dense', 'readout']);
    expect(layersOf(d.spec!).length).toBe(4);
    m.dispose();
  });

  // every mapped activation against tfjs's own activation function on a grid in [−4, 4] (float32: 1e-5
  // absolute + relative; the GELU tanh form is not the erf GELU: max gap 4.7e-4, so it must map elsewhere)
  const names = ['relu', 'tanh', 'linear', 'gelu', 'gelu_new', 'swish', 'elu', 'softplus', 'sigmoid', 'selu', 'mish', 'softsign'];
  for (const name of names) {
    it(`activation ${name} maps to a φ equal to tfjs's`, () => {
      const a = tfjsActivation(name);
      expect(a.activation).not.toBeNull();
      const phi = parseActivation(a.activation!).phi;
      const xs = Array.from({ length: 161 }, (_, i) => -4 + i * 0.05);
      const m = tf.sequential({ layers: [tf.layers.activation({ activation: name as any, inputShape: [1] })] });
      const ys = (m.predict(tf.tensor2d(xs, [xs.length, 1])) as tf.Tensor).dataSync();
      for (let i = 0; i < xs.length; i++) expect(Math.abs(phi(xs[i]) - ys[i])).toBeLessThan(1e-5 * (1 + Math.abs(ys[i])));
      m.dispose();
    });
  }

  it('an unknown activation (softmax inside the net, relu6) is a note', () => {
    expect(tfjsActivation('softmax').activation).toBeNull();
    const m = tf.sequential({
      layers: [tf.layers.dense({ units: 8, inputShape: [4], activation: 'relu6' }), tf.layers.dense({ units: 2 })],
    });
    const d = describe(m);
    expect(d.layers).toBeNull();
    expect(d.notes.some((n) => n.startsWith(`no theory for layer ${m.layers[0].name} (Dense): activation "relu6"`))).toBe(true);
    m.dispose();
  });
});

group('describe: a conv net', () => {
  it('Conv2D → BN → relu × 2 → GAP: conv2d kinds, σ_w² with fan_in k²·C_in against the drawn kernels (3%)', () => {
    // block 2: 3·3·64·64 = 36864 entries, relative sd of the second moment ≤ √(2/N) = 0.74%, 4 sd = 3%
    const m = tf.sequential({
      layers: [
        tf.layers.conv2d({
          filters: 64,
          kernelSize: 3,
          padding: 'same',
          inputShape: [6, 6, 3],
          kernelInitializer: tf.initializers.heNormal({ seed: 1 }),
        }),
        tf.layers.batchNormalization(),
        tf.layers.reLU(),
        tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'valid', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
        tf.layers.batchNormalization(),
        tf.layers.reLU(),
        tf.layers.globalAveragePooling2d({}),
        tf.layers.dense({ units: 10 }),
      ],
    });
    const d = describe(m, { batch: 8 });
    expect(d.notes.filter((n) => n.startsWith('no theory'))).toEqual([]);
    expect(d.image).toEqual([6, 6, 3]);
    expect(d.layers!.map((l) => l.kind)).toEqual(['conv2d', 'batchnorm', 'act', 'conv2d', 'batchnorm', 'act', 'gap']);
    expect(d.layers![3]).toMatchObject({ kind: 'conv2d', channels: 64, kernel: 3, stride: 1, padding: 0 });
    const k = m.layers[3].getWeights()[0];
    const v = k.dataSync();
    let sq = 0;
    for (const x of v) sq += x * x;
    const drawn = (sq / v.length) * 3 * 3 * 64;
    expect(Math.abs((d.layers![3].sigmaW2 as number) / drawn - 1)).toBeLessThan(0.03);
    // glorot uniform: Var = 2/(fan_in + fan_out) with fans 9·64 each: σ_w² = Var·fan_in = 1 exactly
    expect(d.layers![3].sigmaW2).toBeCloseTo(1, 12);
    expect(d.spec!.image).toEqual([6, 6, 3]);
    m.dispose();
  });
});

group('describe: functional models', () => {
  it('Add(x, relu(dense(ln(x)))) is a pre-LN residual block', () => {
    const x = tf.input({ shape: [16] });
    let h: tf.SymbolicTensor = tf.layers.dense({ units: 16, kernelInitializer: 'heNormal' }).apply(x) as tf.SymbolicTensor;
    for (let b = 0; b < 3; b++) {
      const n = tf.layers.layerNormalization().apply(h) as tf.SymbolicTensor;
      const d = tf.layers.dense({ units: 16, kernelInitializer: 'heNormal' }).apply(n) as tf.SymbolicTensor;
      const r = tf.layers.reLU().apply(d) as tf.SymbolicTensor;
      h = tf.layers.add().apply([h, r]) as tf.SymbolicTensor;
    }
    const y = tf.layers.dense({ units: 4 }).apply(h) as tf.SymbolicTensor;
    const m = tf.model({ inputs: x, outputs: y });
    const d = describe(m, { batch: 8 });
    expect(d.notes.filter((n) => n.startsWith('no theory'))).toEqual([]);
    expect(d.layers!.map((l) => l.kind)).toEqual(['dense', 'residual', 'residual', 'residual']);
    expect((d.layers![1].layers as any[]).map((l) => l.kind)).toEqual(['layernorm', 'dense', 'act']);
    expect(d.map.filter((x) => x.kind === 'residual').map((x) => x.block)).toEqual([2, 3, 4]);
    const o = theoryOverlay(d);
    // the theory table runs it (residual growth falls with depth: a geometric mean, finite and > 0)
    expect(o.growth).toBeGreaterThan(0);
    m.dispose();
  });

  it('a branch that is not a skip around a chain (two Dense on the same input, concatenated) is a note', () => {
    const x = tf.input({ shape: [8] });
    const a = tf.layers.dense({ units: 8 }).apply(x) as tf.SymbolicTensor;
    const b = tf.layers.dense({ units: 8 }).apply(x) as tf.SymbolicTensor;
    const c = tf.layers.concatenate().apply([a, b]) as tf.SymbolicTensor;
    const y = tf.layers.dense({ units: 2 }).apply(c) as tf.SymbolicTensor;
    const m = tf.model({ inputs: x, outputs: y });
    const d = describe(m);
    expect(d.layers).toBeNull();
    expect(d.notes.some((n) => /^no theory for layer \S+ \(Dense\): it reads/.test(n))).toBe(true);
    expect(d.notes.some((n) => /^no theory for layer \S+ \(Concatenate\)/.test(n))).toBe(true);
    m.dispose();
  });

  it('an unsupported layer (GaussianNoise) gets the note and no theory, every other layer still mapped', () => {
    const m = tf.sequential({
      layers: [
        tf.layers.dense({ units: 8, inputShape: [4] }),
        tf.layers.gaussianNoise({ stddev: 0.1 }),
        tf.layers.reLU(),
        tf.layers.dense({ units: 2 }),
      ],
    });
    const d = describe(m);
    expect(d.layers).toBeNull();
    expect(d.notes).toContain(
      `no theory for layer ${m.layers[1].name} (GaussianNoise): signalprop has no GaussianNoise kind (Dense, BatchNormalization, LayerNormalization, Activation, ReLU, LeakyReLU, ELU, Add, Conv2D, GlobalAveragePooling2D, Flatten, Dropout map)`,
    );
    expect(d.map.map((x) => x.kind)).toEqual(['dense', null, 'act', 'readout']);
    expect(theoryOverlay(d).records).toEqual([]);
    m.dispose();
  });
});

group('theoryOverlay', () => {
  it('block 1 with its own σ_w²: the predicted pre-activation variance is the model’s (forward pass, 5%)', () => {
    // glorotNormal: block 1 (fan_in 512 → 256) has σ_w² = 0.77·2·512/768, blocks 2.. 0.77; the preset carries
    // the latter and the input's second moment absorbs the ratio. Measured: the mean over 256 units of the
    // batch variance of dense_1's output on Gaussian inputs (B = 128): relative sd ≈ √(2/B/256) + √(2/512) ≈ 6.5%
    // of one unit / 16 → under 1%; tolerance 5%.
    const m = bnNet({ width: 256, depth: 3, inputDim: 512, init: () => tf.initializers.glorotNormal({ seed: 21 }) });
    const d = describe(m, { batch: 128 });
    expect(d.inputScale).toBeCloseTo((2 * 512) / 768, 10);
    const x = tf.randomNormal([128, 512], 0, 1, 'float32', 5);
    const h = m.layers[0].apply(x) as tf.Tensor;
    const measured = tf.mean(tf.moments(h, 0).variance).dataSync()[0];
    const mom = inputMoments(x.dataSync(), 128, 512);
    const o = theoryOverlay(d, { inputVar: mom.inputVar, inputCorr: mom.inputCorr });
    const idx = defaultLayerIndex(d.map);
    const rec = o.records.find((r) => r.quantity === 'out_var' && r.layer === idx(m.layers[0].name))!;
    expect(rec.tags!.name).toBe(m.layers[0].name);
    expect(Math.abs(rec.value / measured - 1)).toBeLessThan(0.05);
    // and the interior growth is predict's λ(B) for the plain preset (it does not depend on σ_w² but via ε)
    const ref = predict(
      makeSpec({
        order: 'linear-bn-act',
        depth: 3,
        width: 256,
        inputDim: 512,
        batch: 128,
        bn: { eps: 1e-3 },
        init: { sigmaW2: d.spec!.init.sigmaW2 },
      }),
    );
    expect(o.growth).toBe(ref.predictedGrowth);
    x.dispose();
    h.dispose();
    m.dispose();
  });

  it('inputMoments against a direct double sum', () => {
    const n = 5;
    const dim = 3;
    const x = Array.from({ length: n * dim }, (_, i) => Math.sin(i * 1.3) + 0.4);
    let q = 0;
    let c = 0;
    for (let a = 0; a < n; a++)
      for (let b = 0; b < n; b++)
        for (let j = 0; j < dim; j++) {
          if (a === b) q += x[a * dim + j] ** 2;
          else c += x[a * dim + j] * x[b * dim + j];
        }
    const mm = inputMoments(x, n, dim);
    expect(mm.inputVar).toBeCloseTo(q / (n * dim), 12);
    expect(mm.inputCorr).toBeCloseTo(c / (n * (n - 1) * dim) / (q / (n * dim)), 12);
  });
});

group('giaRecords: the gradient-independence reconstruction on a model', () => {
  it('its forward is the probe’s (pre-BN batch variance per block, float32), no tensors leak, BN moving stats untouched', async () => {
    const m = bnNet({ width: 32, depth: 4, inputDim: 24, init: () => tf.initializers.heNormal({ seed: 31 }) });
    m.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    const d = describe(m, { batch: 32 });
    const x = tf.randomNormal([32, 24], 0, 1, 'float32', 8);
    const y = tf
      .oneHot(
        tf.tensor1d(
          Array.from({ length: 32 }, (_, i) => i % 10),
          'int32',
        ),
        10,
      )
      .toFloat();
    const { probe } = await import('../../src/probe/index.js');
    const p = probe(m, { steps: 1 });
    const moving = m.layers[1].getWeights()[2].dataSync().slice();
    const before = tf.memory().numTensors;
    const g = giaRecords(m, d, x, 0, { probed: p.layers() });
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(m.layers[1].getWeights()[2].dataSync())).toEqual(Array.from(moving));
    // blocks 1..3 (l < L), at the Dense layers' probe indices 1, 4, 7
    expect(g.records.map((r) => [r.quantity, r.layer, r.tags!.block])).toEqual([
      ['gia_growth', 1, 1],
      ['gia_growth', 4, 2],
      ['gia_growth', 7, 3],
    ]);
    await m.fit(x, y, { batchSize: 32, epochs: 1, callbacks: [p.callback({ x, y })], verbose: 0 });
    for (let l = 0; l < 4; l++) {
      const ov = p.records().find((r) => r.quantity === 'out_var' && r.step === 0 && r.tags!.name === m.layers[3 * l].name)!;
      // two float32 forwards of the same arithmetic (matMul + bias, biased moments): relative 1e-4
      expect(Math.abs(g.preVarMean[l] / ov.value - 1)).toBeLessThan(1e-4);
    }
    for (const r of g.records) expect(r.value).toBeGreaterThan(0);
    p.dispose();
    tf.dispose([x, y]);
    m.dispose();
  });

  it('a model that is not dense → BN → φ blocks: none, and a note', () => {
    const m = tf.sequential({
      layers: [tf.layers.dense({ units: 8, inputShape: [4], activation: 'tanh' }), tf.layers.dense({ units: 2 })],
    });
    const g = giaRecords(m, describe(m), tf.zeros([2, 4]), 0);
    expect(g.records).toEqual([]);
    expect(g.notes[0]).toMatch(/^no gia_growth: /);
    m.dispose();
  });
});
