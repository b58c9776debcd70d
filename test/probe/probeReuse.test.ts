// The probe reads its statistics from the step's own forward/backward (step() and the fit callback) where
// that pass is the probe's pass on the probe batch, and runs its own pass otherwise. Checked against a
// closed form: a twin whose probe loss is c·(the training loss), c = 1.001, must take its own pass (the
// output gradients differ by 1e-3 ≫ float32 rounding), and then every ∂L/∂y_l, hence grad_out_sq, is
// exactly c² times the reused run's (the backward is linear in the output gradient), while out_mean,
// out_var, unit_corr and grad_growth are the same. Training itself is the same bits either way.
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

const C = 1.001;
const STEPS = 4;
const B = 16;

function build(): tf.Sequential {
  const m = tf.sequential();
  for (let l = 0; l < 3; l++) {
    m.add(
      tf.layers.dense({
        units: 12,
        useBias: false,
        kernelInitializer: tf.initializers.heNormal({ seed: 5 + l }),
        ...(l === 0 ? { inputShape: [6] } : {}),
      }),
    );
    m.add(tf.layers.batchNormalization());
    m.add(tf.layers.reLU());
  }
  m.add(tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotNormal({ seed: 50 }) }));
  m.compile({ optimizer: tf.train.sgd(0.05), loss: 'meanSquaredError' });
  return m;
}

const mse = (yt: tf.Tensor, yp: tf.Tensor) => tf.losses.meanSquaredError(yt, yp) as tf.Scalar;
const scaled = (yt: tf.Tensor, yp: tf.Tensor) => tf.mul(mse(yt, yp), C) as tf.Scalar;
const OWN_STEP = "step(): lossFn's forward/backward is not the probe's pass";
const OWN_FIT = "callback: fit's forward/backward is not the probe's pass";

/** Per quantity, the largest |a/b − expected ratio| / expected ratio over every (layer, step) of the two record sets. */
function worst(a: SPRecord[], b: SPRecord[], ratio: Record<string, number>): Record<string, number> {
  const key = (r: SPRecord) => `${r.quantity}|${r.layer}|${r.step}`;
  const mb = new Map(b.map((r) => [key(r), r.value]));
  const out: Record<string, number> = {};
  for (const r of a) {
    const k = ratio[r.quantity];
    if (k === undefined) continue;
    const v = mb.get(key(r));
    if (v === undefined) throw new Error(`no ${key(r)} in the twin`);
    const e = Math.abs(v / r.value - k) / k;
    out[r.quantity] = Math.max(out[r.quantity] ?? 0, e);
  }
  return out;
}

// Tolerance: the twin's output gradient is fl(c·g) (≤ u = 6e-8 relative per entry) and every later float32
// operation rounds differently from the reused run's: ~20 operations between the output and a layer, a few
// u each with random signs, ≈ √20·2u ≈ 5e-7; a sum of squares over B·12 = 192 entries adds ≤ √192·u ≈ 1e-6.
// 1e-5 is ~5× over that. The activations and their statistics are the same computation: 1e-6.
const TOL_GRAD = 1e-5;
const TOL_ACT = 1e-6;

describe("probe statistics from the step's own pass", () => {
  it("step(): reused where lossFn is the probe's pass on batch; a different probe loss takes its own pass (grad_out_sq × c²)", () => {
    const a = build();
    const b = build();
    const pa = probe(a, { steps: STEPS, probe: { dense: STEPS }, loss: mse });
    const pb = probe(b, { steps: STEPS, probe: { dense: STEPS }, loss: scaled });
    const oa = tf.train.sgd(0.05);
    const ob = tf.train.sgd(0.05);
    for (let t = 0; t < STEPS; t++) {
      const x = tf.randomNormal([B, 6], 0, 1, 'float32', 10 + t);
      const y = tf.randomNormal([B, 3], 0, 1, 'float32', 20 + t);
      const lossOf = (m: tf.LayersModel) => () => mse(y, m.apply(x, { training: true }) as tf.Tensor);
      pa.step(lossOf(a), oa, { x, y });
      pb.step(lossOf(b), ob, { x, y });
      tf.dispose([x, y]);
    }
    expect(pa.notes().some((n) => n.startsWith(OWN_STEP))).toBe(false);
    expect(pb.notes().some((n) => n.startsWith(OWN_STEP))).toBe(true);
    const w = worst(pa.records(), pb.records(), {
      grad_out_sq: C * C,
      grad_growth: 1,
      out_mean: 1,
      out_var: 1,
      unit_corr: 1,
      grad_w_sq: 1,
    });
    console.log('step(): reused vs own pass, max relative deviation from the closed form:', w);
    expect(Object.keys(w).sort()).toEqual(['grad_growth', 'grad_out_sq', 'grad_w_sq', 'out_mean', 'out_var', 'unit_corr']);
    for (const q of ['grad_out_sq', 'grad_growth']) expect(w[q], q).toBeLessThan(TOL_GRAD);
    for (const q of ['out_mean', 'out_var', 'unit_corr', 'grad_w_sq']) expect(w[q], q).toBeLessThan(TOL_ACT);
    // the training is the same bits
    const wa = a.getWeights().map((v) => Array.from(v.dataSync()));
    const wb = b.getWeights().map((v) => Array.from(v.dataSync()));
    expect(wa).toEqual(wb);
    for (const m of [a, b]) m.dispose();
    oa.dispose();
    ob.dispose();
  });

  it("step(): another input than batch.x, or the model applied twice, takes the probe's own pass", () => {
    const x = tf.randomNormal([B, 6], 0, 1, 'float32', 1);
    const x2 = tf.randomNormal([B, 6], 0, 1, 'float32', 2);
    const y = tf.randomNormal([B, 3], 0, 1, 'float32', 3);
    const cases: [string, (m: tf.LayersModel) => () => tf.Scalar, boolean][] = [
      ['the same input', (m) => () => mse(y, m.apply(x, { training: true }) as tf.Tensor), false],
      ['another input', (m) => () => mse(y, m.apply(x2, { training: true }) as tf.Tensor), true],
      ['a copy of the input (same values)', (m) => () => mse(y, m.apply(tf.add(x, 0), { training: true }) as tf.Tensor), false],
      [
        'applied twice',
        (m) => () =>
          tf.add(
            mse(y, m.apply(x, { training: true }) as tf.Tensor),
            tf.mul(0, tf.sum(m.apply(x, { training: true }) as tf.Tensor)),
          ) as tf.Scalar,
        true,
      ],
      ['inference mode', (m) => () => mse(y, m.apply(x) as tf.Tensor), true],
    ];
    for (const [what, lossOf, own] of cases) {
      const m = build();
      const p = probe(m, { steps: 1, probe: { dense: 1 }, loss: mse });
      const opt = tf.train.sgd(0.05);
      const n0 = tf.memory().numTensors;
      p.step(lossOf(m), opt, { x, y });
      expect(tf.memory().numTensors, `${what}: no tensor left behind`).toBe(n0);
      expect(
        p.notes().some((n) => n.startsWith(OWN_STEP)),
        what,
      ).toBe(own);
      expect(p.records().filter((r) => r.quantity === 'grad_out_sq').length, what).toBe(10);
      m.dispose();
      opt.dispose();
    }
    tf.dispose([x, x2, y]);
  });

  it('fit callback: reused where the batch is probeBatch; a different probe loss takes its own pass (grad_out_sq, grad_w_sq × c²)', async () => {
    const x = tf.randomNormal([B, 6], 0, 1, 'float32', 31);
    const y = tf.randomNormal([B, 3], 0, 1, 'float32', 32);
    const a = build();
    const b = build();
    const pa = probe(a, { steps: STEPS, probe: { dense: STEPS } }); // the compiled loss
    const pb = probe(b, { steps: STEPS, probe: { dense: STEPS }, loss: scaled });
    const fitWith = (m: tf.LayersModel, cb: tf.CustomCallback) =>
      m.fit(x, y, { epochs: STEPS, batchSize: B, shuffle: false, verbose: 0, yieldEvery: 'never', callbacks: [cb] });
    await fitWith(a, pa.callback({ x, y }));
    await fitWith(b, pb.callback({ x, y }));
    expect(pa.notes().some((n) => n.startsWith(OWN_FIT))).toBe(false);
    expect(pb.notes().some((n) => n.startsWith(OWN_FIT))).toBe(true);
    const w = worst(pa.records(), pb.records(), {
      grad_out_sq: C * C,
      grad_w_sq: C * C,
      grad_growth: 1,
      out_mean: 1,
      out_var: 1,
      unit_corr: 1,
    });
    console.log('fit: reused vs own pass, max relative deviation from the closed form:', w);
    for (const q of ['grad_out_sq', 'grad_w_sq', 'grad_growth']) expect(w[q], q).toBeLessThan(TOL_GRAD);
    for (const q of ['out_mean', 'out_var', 'unit_corr']) expect(w[q], q).toBeLessThan(TOL_ACT);
    expect(pa.records().filter((r) => r.quantity === 'grad_out_sq').length).toBe(STEPS * 10);
    const wa = a.getWeights().map((v) => Array.from(v.dataSync()));
    const wb = b.getWeights().map((v) => Array.from(v.dataSync()));
    expect(wa).toEqual(wb);
    tf.dispose([x, y]);
    for (const m of [a, b]) m.dispose();
  });

  it('reuseStep: false takes the own pass at every step, with the same records to float32 rounding; a non-boolean is an InputError', () => {
    const a = build();
    const b = build();
    const pa = probe(a, { steps: 2, probe: { dense: 2 }, loss: mse });
    const pb = probe(b, { steps: 2, probe: { dense: 2 }, loss: mse, reuseStep: false });
    const oa = tf.train.sgd(0.05);
    const ob = tf.train.sgd(0.05);
    for (let t = 0; t < 2; t++) {
      const x = tf.randomNormal([B, 6], 0, 1, 'float32', 40 + t);
      const y = tf.randomNormal([B, 3], 0, 1, 'float32', 50 + t);
      pa.step(() => mse(y, a.apply(x, { training: true }) as tf.Tensor), oa, { x, y });
      pb.step(() => mse(y, b.apply(x, { training: true }) as tf.Tensor), ob, { x, y });
      tf.dispose([x, y]);
    }
    // the own pass is the same computation as the reused one (no note: it was asked for, not a fallback)
    expect(pb.notes().some((n) => n.startsWith(OWN_STEP))).toBe(false);
    const w = worst(pa.records(), pb.records(), { grad_out_sq: 1, grad_growth: 1, out_mean: 1, out_var: 1, unit_corr: 1, grad_w_sq: 1 });
    for (const [q, e] of Object.entries(w)) expect(e, q).toBeLessThan(TOL_GRAD);
    expect(Object.keys(w).length).toBe(6);
    expect(() => probe(a, { steps: 2, reuseStep: 'yes' as unknown as boolean })).toThrow(/reuseStep/);
    for (const m of [a, b]) m.dispose();
    oa.dispose();
    ob.dispose();
  });
});
