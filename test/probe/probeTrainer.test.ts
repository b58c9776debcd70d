// On a tfjs model built to equal a signalprop spec (same weights), the probe's records equal the built-in
// trainer's records for the same steps: a tf.sequential of Dense(+bias) → BatchNormalization → ReLU blocks
// and a Dense readout, the trainer's initial parameters copied in (Mlp.fromSeed: kernels K = Wᵀ as tfjs
// keeps them, b, γ, β; moving mean 0, variance 1), both trained with plain SGD on the same synthetic batches
// with the same cross-entropy, compared record by record.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeSpec } from '../../src/network/index.js';
import { probe } from '../../src/probe/index.js';
import type { SPRecord } from '../../src/records/index.js';
import { blasUnavailableReason } from '../../src/train/blas.js';
import { batchTargets, initBackend, loadData, lossTensor, resolveTrainConfig, Trainer } from '../../src/train/index.js';

const BACKEND = blasUnavailableReason() === null ? 'blas' : 'cpu';
beforeAll(async () => {
  await initBackend(BACKEND);
});

const STEPS = 6;
const LR = 0.1;

/** max over the pairs of |a − b| / |b|. */
const maxRel = (pairs: [number, number][]) => Math.max(...pairs.map(([a, b]) => Math.abs(a - b) / Math.abs(b)));

describe('probe against the built-in trainer', () => {
  it('linear-bn-act, depth 4, width 32, B 16: grad_w_sq, grad_out_sq (= grad_h_sq), weight_norm, update_ratio, unit_corr, out_var (= preact_var), loss', () => {
    const input = { order: 'linear-bn-act', depth: 4, width: 32, batch: 16, inputDim: 20 } as const;
    const { config, spec } = resolveTrainConfig({
      spec: input,
      data: { kind: 'synthetic', classes: 5 },
      loss: 'xent',
      optimizer: { kind: 'sgd', lr: LR },
      steps: STEPS,
      seed: 3,
      probe: { dense: STEPS },
      backend: BACKEND,
    });
    expect(spec.bn.eps).toBe(makeSpec(input).bn.eps);
    const data = loadData(config.data, config.seed, spec.inputDim, true);
    const trainer = new Trainer(config, spec, data, null, BACKEND);
    const L = spec.depth;
    const B = spec.batch!;
    const nOut = data.nOut;

    // the same network in tf.layers, with the trainer's initial parameters (block l: W, b, γ, β; then readout W, b)
    const model = tf.sequential();
    const P = trainer.model.params;
    for (let l = 1; l <= L; l++) {
      const i = 4 * (l - 1);
      const dense = tf.layers.dense({ units: 32, useBias: true, ...(l === 1 ? { inputShape: [spec.inputDim] } : {}) });
      const bn = tf.layers.batchNormalization({ epsilon: spec.bn.eps });
      model.add(dense);
      model.add(bn);
      model.add(tf.layers.reLU());
      dense.setWeights([P[i], P[i + 1]]);
      bn.setWeights([P[i + 2], P[i + 3], tf.zeros([32]), tf.ones([32])]);
    }
    const readout = tf.layers.dense({ units: nOut });
    model.add(readout);
    readout.setWeights([P[4 * L], P[4 * L + 1]]);

    const p = probe(model, { steps: STEPS, probe: { dense: STEPS }, loss: 'cross-entropy', seed: config.seed });
    const opt = tf.train.sgd(LR);
    const ref: SPRecord[] = [];
    for (let t = 0; t < STEPS; t++) {
      const hb = data.batch(t, B);
      ref.push(...trainer.step(t).records);
      const x = tf.tensor2d(hb.x, [B, spec.inputDim]);
      const targets = batchTargets(hb, nOut);
      p.step(() => lossTensor('xent', model.apply(x, { training: true }) as tf.Tensor2D, targets), opt, { x, y: targets.t });
      tf.dispose([x, targets.t]);
    }
    const got = p.records();
    const at = (rs: SPRecord[], q: string, layer: number | null, t: number) => {
      const r = rs.find((x) => x.quantity === q && x.layer === layer && x.step === t);
      if (!r) throw new Error(`no ${q} at layer ${layer}, step ${t}`);
      return r.value;
    };
    // the probe's layers: block l's Dense is layer 3l − 2, its BN 3l − 1, its ReLU (the block output) 3l
    const pairs: Record<string, [number, number][]> = {};
    const add = (k: string, a: number, b: number) => {
      pairs[k] ??= [];
      pairs[k].push([a, b]);
    };
    for (let t = 0; t < STEPS; t++) {
      add('loss', at(got, 'loss', null, t), at(ref, 'loss', null, t));
      for (let l = 1; l <= L; l++) {
        add('grad_w_sq', at(got, 'grad_w_sq', 3 * l - 2, t), at(ref, 'grad_w_sq', l, t));
        add('grad_h_sq', at(got, 'grad_out_sq', 3 * l - 2, t), at(ref, 'grad_h_sq', l, t));
        add('weight_norm', at(got, 'weight_norm', 3 * l - 2, t), at(ref, 'weight_norm', l, t));
        add('update_ratio', at(got, 'update_ratio', 3 * l - 2, t), at(ref, 'update_ratio', l, t));
        add('unit_corr', at(got, 'unit_corr', 3 * l, t), at(ref, 'unit_corr', l, t));
        add('preact_var', at(got, 'out_var', 3 * l - 2, t), at(ref, 'preact_var', l, t));
        if (l < L)
          add('grad_growth', at(got, 'grad_out_sq', 3 * l - 2, t) / at(got, 'grad_out_sq', 3 * l + 1, t), at(ref, 'grad_growth', l, t));
      }
    }
    const worst = Object.fromEntries(Object.entries(pairs).map(([k, v]) => [k, maxRel(v)]));
    console.log('probe vs trainer, max relative difference over 6 steps × 4 blocks:', worst);
    // Tolerance. Both are float32, in different op orders: tfjs's BN (moments, then batchNorm's
    // (x − μ)·rsqrt(σ² + ε)·γ + β) and its autodiff against the trainer's fused closed-form BN and its
    // hand-written backward; the same softmax cross-entropy formula (lossTensor) on both. Each value is a
    // chain of ~20 float32 stages over 4 blocks whose rounding errors (≤ u = 2⁻²⁴ ≈ 6e-8 relative per
    // operation) have random signs: ≈ √(20·32)·u ≈ 1.5e-6 relative, and 6 smooth SGD steps at lr 0.1 carry
    // the parameters' difference forward without amplifying it much. 1e-5 leaves a margin of ~7× over that
    // estimate (measured here: ≤ 3e-7, a few u, on blas and cpu; weight_norm agrees to the bit).
    for (const [k, v] of Object.entries(worst)) expect(v, k).toBeLessThan(1e-5);
    // the two runs are not the same run by accident: the weights moved and the probe recorded every step
    expect(at(got, 'update_ratio', 1, 0)).toBeGreaterThan(1e-4);
    expect(pairs.grad_w_sq.length).toBe(STEPS * L);
    trainer.dispose();
    opt.dispose();
    model.dispose();
  });
});
