// The examples of docs/probe.md, run: a Keras-style tfjs model (tf.sequential, dense → batchNormalization →
// relu × 6, width 64) on MNIST trained with model.fit and the probe's callback for 20 steps, then a report of
// its step-0 gradient ratio per block against the theory; the same with LayerNormalization.
//
// Tolerance. The theory is the infinite-width mean field; a width-64 net deviates from it by a finite-width
// bias and by seed-to-seed noise. Neither is guessed: the bias is measured by signalprop's own sampler (an
// independent float64 implementation of random nets, at the same width, batch and depth, Gaussian inputs,
// 8 seeds), and the noise is the standard error over K = 6 models (seeds) here. The check is
//   |ln g_model − ln g_theory| ≤ |ln g_sampler − ln g_theory| + 3·√(se_model² + se_sampler²)
// with g the geometric mean over the interior blocks l = 2..5 of ‖∂L/∂h_l‖²/‖∂L/∂h_{l+1}‖² (h_l block l's
// Dense output; interiorLayers(6)), se the standard error of ln g over seeds. A theory off by the BN-vs-LN
// gap (1.49 vs 1.0) fails it by an order of magnitude.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe as group, expect, it } from 'vitest';
import { describe } from '../../src/probe/describe.js';
import { probe } from '../../src/probe/index.js';
import { blocksOfDescription, gradRatios, inputMoments, theoryOverlay } from '../../src/probe/theory.js';
import { sampleNetwork } from '../../src/sample/index.js';
import { interiorLayers } from '../../src/theory/index.js';
import { type Dataset, loadData, makeDataConfig } from '../../src/train/index.js';

const WIDTH = 64;
const DEPTH = 6;
const B = 64;
const STEPS = 20;
const SEEDS = 6;

let mnist: Dataset;
beforeAll(async () => {
  await tf.setBackend('cpu');
  tf.enableProdMode();
  mnist = loadData(makeDataConfig({ kind: 'mnist', nTrain: 2000, nTest: 100 }), 1, 784, true);
});

function kerasModel(norm: 'bn' | 'ln', seed: number): tf.Sequential {
  const m = tf.sequential();
  for (let l = 0; l < DEPTH; l++) {
    m.add(
      tf.layers.dense({
        units: WIDTH,
        kernelInitializer: tf.initializers.heNormal({ seed: seed * 100 + l }),
        ...(l === 0 ? { inputShape: [784] } : {}),
      }),
    );
    m.add(norm === 'bn' ? tf.layers.batchNormalization() : tf.layers.layerNormalization());
    m.add(tf.layers.activation({ activation: 'relu' }));
  }
  m.add(tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotNormal({ seed: seed * 100 + 99 }) }));
  m.compile({ optimizer: tf.train.sgd(0.05), loss: 'categoricalCrossentropy' });
  return m;
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const se = (v: number[]) => Math.sqrt(v.reduce((a, b) => a + (b - mean(v)) ** 2, 0) / (v.length - 1) / v.length);

interface Example {
  /** ln of the interior geometric mean of the step-0 block ratio, per seed. */
  lnG: number[];
  theory: number[];
  theoryGrowth: number;
  perLayer: number[][];
  losses: number[];
  spec: NonNullable<ReturnType<typeof describe>['spec']>;
  inputCorr: number;
}

async function runExample(norm: 'bn' | 'ln'): Promise<Example> {
  const [lo, hi] = interiorLayers(DEPTH);
  const lnG: number[] = [];
  const perLayer: number[][] = [];
  let theory: number[] = [];
  let theoryGrowth = Number.NaN;
  let losses: number[] = [];
  let spec: Example['spec'] | undefined;
  let inputCorr = 0;
  for (let s = 1; s <= SEEDS; s++) {
    const model = kerasModel(norm, s);
    const desc = describe(model, { batch: B });
    expect(desc.notes.filter((n) => n.startsWith('no theory'))).toEqual([]);
    // STEPS batches of MNIST for seed 1 (the example proper), one batch (step 0 only) for the other seeds,
    // each its own stretch of the data; the probe batch is the first one
    const steps = s === 1 ? STEPS : 1;
    const xs: number[] = [];
    const ys: number[] = [];
    for (let t = 0; t < steps; t++) {
      const b = mnist.batch((s - 1) * STEPS + t, B);
      xs.push(...b.x);
      ys.push(...b.labels!);
    }
    const x = tf.tensor2d(xs, [steps * B, 784]);
    const y = tf.oneHot(tf.tensor1d(ys, 'int32'), 10).toFloat();
    const px = x.slice([0, 0], [B, 784]);
    const py = y.slice([0, 0], [B, 10]);
    const prober = probe(model, { steps, seed: s, tags: { data: 'mnist', loss: 'xent' } });
    const h = await model.fit(x, y, {
      batchSize: B,
      epochs: 1,
      shuffle: false,
      callbacks: [prober.callback({ x: px, y: py })],
      verbose: 0,
    });
    const blocks = blocksOfDescription(desc, (n) => prober.layers().find((p) => p.name === n)?.layer ?? null);
    const r0 = gradRatios(prober.records(), blocks).get(0)!;
    expect(r0.every((v) => v !== null && v > 0)).toBe(true);
    perLayer.push(r0 as number[]);
    lnG.push(mean(r0.slice(lo - 1, hi).map((v) => Math.log(v!))));
    if (s === 1) {
      const mom = inputMoments(px.dataSync(), B, 784);
      inputCorr = mom.inputCorr;
      const o = theoryOverlay(desc, { ...mom, probed: prober.layers() });
      const p = o.prediction!;
      theory = blocks.slice(0, -1).map((b) => p.records.find((r) => r.quantity === 'grad_growth' && r.layer === b.block)!.value);
      theoryGrowth = o.growth!;
      losses = h.history.loss as number[];
      spec = desc.spec!;
      // 20 steps of fit ran, each probed (the dense phase), with fit's loss of every batch
      expect(prober.records().filter((r) => r.quantity === 'loss')).toHaveLength(STEPS);
      expect(
        new Set(
          prober
            .records()
            .filter((r) => r.quantity === 'grad_out_sq')
            .map((r) => r.step),
        ).size,
      ).toBe(STEPS);
    }
    prober.dispose();
    tf.dispose([x, y, px, py]);
    model.dispose();
  }
  return { lnG, theory, theoryGrowth, perLayer, losses, spec: spec!, inputCorr };
}

async function samplerReference(spec: Example['spec']): Promise<{ lnG: number; se: number }> {
  const res = await sampleNetwork(spec, { seeds: 8, threads: 1, baseSeed: 1 });
  return { lnG: Math.log(res.measuredGrowth), se: res.measuredGrowthSE / res.measuredGrowth };
}

function report(name: string, e: Example, ref: { lnG: number; se: number }): string {
  const [lo, hi] = interiorLayers(DEPTH);
  const lines = [
    `${name}: step-0 ratio ‖∂L/∂h_l‖²/‖∂L/∂h_{l+1}‖² per block (mean over ${SEEDS} seeds) against the theory`,
    ...e.theory.map((t, i) => {
      const v = e.perLayer.map((p) => p[i]);
      return `  block ${i + 1}: model ${mean(v).toFixed(4)} ± ${se(v).toFixed(4)}, theory ${t.toFixed(4)}${i + 1 >= lo && i + 1 <= hi ? '' : ' (not interior)'}`;
    }),
    `  interior ${lo}..${hi}: model ${Math.exp(mean(e.lnG)).toFixed(4)} (se of ln ${se(e.lnG).toFixed(4)}), sampler ${Math.exp(ref.lnG).toFixed(4)} (se ${ref.se.toFixed(4)}), theory ${e.theoryGrowth.toFixed(4)}`,
  ];
  return lines.join('\n');
}

function check(e: Example, ref: { lnG: number; se: number }): void {
  const [lo, hi] = interiorLayers(DEPTH);
  const lnTheory = mean(e.theory.slice(lo - 1, hi).map(Math.log));
  const bias = Math.abs(ref.lnG - lnTheory);
  const tol = bias + 3 * Math.sqrt(se(e.lnG) ** 2 + ref.se ** 2);
  expect(Math.abs(mean(e.lnG) - lnTheory)).toBeLessThanOrEqual(tol);
}

group('examples: a Keras-style model on MNIST, model.fit with the probe callback', () => {
  it('dense → BN → relu × 6: the step-0 block ratios against the BN theory λ(B)', async () => {
    const e = await runExample('bn');
    expect(e.spec.order).toBe('linear-bn-act');
    const ref = await samplerReference(e.spec);
    console.log(report('BatchNorm', e, ref));
    check(e, ref);
    // the BN theory's interior rate is λ(64) > 1.4: the net explodes, and the model does too
    expect(e.theoryGrowth).toBeGreaterThan(1.4);
    expect(Math.exp(mean(e.lnG))).toBeGreaterThan(1.3);
    expect(e.losses).toHaveLength(1); // one epoch's mean loss in fit's history
  }, 120_000);

  it('dense → LN → relu × 6: the step-0 block ratios against the LayerNorm theory (1 per block)', async () => {
    const e = await runExample('ln');
    expect(e.spec.order).toBe('custom');
    const ref = await samplerReference(e.spec);
    console.log(report('LayerNorm', e, ref));
    check(e, ref);
    expect(Math.abs(e.theoryGrowth - 1)).toBeLessThan(1e-6);
  }, 120_000);
});
