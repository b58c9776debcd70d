// The probe's cost per probed step on a depth-16, width-256 Dense → BN → ReLU tf.sequential (B = 128,
// 784 inputs, 10 classes, SGD, cross-entropy), every step probed: a custom loop (optimizer.minimize
// against prober.step, with and without the batch that gives the output statistics) and model.fit
// (without and with the callback; one step = the time between two onBatchEnd calls). Side by side, the
// peer: signalprop's own trainer on the same net, probes off and on. Medians over `reps` steps, the
// variants interleaved step by step so that the machine's load falls on all alike. Prints ms and ratios.
// Usage: npx tsx bench/probe.ts [reps] [backend]
import * as tf from '@tensorflow/tfjs';
import { gaussianInputs } from '../src/network/index.js';
import { probe } from '../src/probe/index.js';
import {
  type BackendName,
  batchTargets,
  type Dataset,
  type HostBatch,
  initBackend,
  lossTensor,
  resolveTrainConfig,
  Trainer,
} from '../src/train/index.js';

const reps = Number(process.argv[2] ?? 9);
const backend = (process.argv[3] ?? 'auto') as BackendName;
const depth = 16;
const width = 256;
const batch = 128;
const inDim = 784;
const nOut = 10;
const lr = 0.01;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const labels = Int32Array.from({ length: batch }, (_, i) => (i * 7) % nOut);
const hb: HostBatch = { x: Float32Array.from(gaussianInputs(batch, inDim, 1)), n: batch, labels, targets: null };

function build(): tf.Sequential {
  const m = tf.sequential();
  for (let l = 0; l < depth; l++) {
    m.add(
      tf.layers.dense({
        units: width,
        useBias: false,
        kernelInitializer: tf.initializers.heNormal({ seed: l + 1 }),
        ...(l === 0 ? { inputShape: [inDim] } : {}),
      }),
    );
    m.add(tf.layers.batchNormalization());
    m.add(tf.layers.reLU());
  }
  m.add(tf.layers.dense({ units: nOut, kernelInitializer: tf.initializers.glorotNormal({ seed: 99 }) }));
  m.compile({ optimizer: tf.train.sgd(lr), loss: 'categoricalCrossentropy' });
  return m;
}

/** Custom loop: minimize vs prober.step (with the batch: output statistics too; without: weights only). */
function customLoop(): { plain: number[]; probed: number[]; weightsOnly: number[] } {
  const x = tf.tensor2d(hb.x, [batch, inDim]);
  const targets = batchTargets(hb, nOut);
  const models = [build(), build(), build()];
  const opts = models.map(() => tf.train.sgd(lr));
  const lossFn = (m: tf.LayersModel) => () => lossTensor('xent', m.apply(x, { training: true }) as tf.Tensor2D, targets);
  const pA = probe(models[1], { steps: 1_000_000, probe: { dense: 1_000_000 }, loss: 'cross-entropy' });
  const pB = probe(models[2], { steps: 1_000_000, probe: { dense: 1_000_000 }, loss: 'cross-entropy' });
  const out = { plain: [] as number[], probed: [] as number[], weightsOnly: [] as number[] };
  for (let t = 0; t < reps + 2; t++) {
    let t0 = performance.now();
    const c = opts[0].minimize(lossFn(models[0]), true)!;
    c.dataSync();
    c.dispose();
    const a = performance.now() - t0;
    t0 = performance.now();
    pA.step(lossFn(models[1]), opts[1], { x, y: targets.t });
    const b = performance.now() - t0;
    t0 = performance.now();
    pB.step(lossFn(models[2]), opts[2]);
    const w = performance.now() - t0;
    if (t >= 2) {
      out.plain.push(a);
      out.probed.push(b);
      out.weightsOnly.push(w);
    }
  }
  tf.dispose([x, targets.t]);
  for (const m of models) m.dispose();
  for (const o of opts) o.dispose();
  return out;
}

/** model.fit: per-step wall time (onBatchEnd to onBatchEnd), without and with the probe's callback. */
async function fitLoop(withProbe: boolean): Promise<number[]> {
  const n = reps + 3;
  const xs = tf.tile(tf.tensor2d(hb.x, [batch, inDim]), [n, 1]);
  const t1 = batchTargets(hb, nOut);
  const ys = tf.tile(t1.t, [n, 1]);
  const m = build();
  const times: number[] = [];
  let last = 0;
  const clock = new tf.CustomCallback({
    onBatchEnd: async () => {
      const now = performance.now();
      if (last) times.push(now - last);
      last = now;
    },
  });
  const px = tf.tensor2d(hb.x, [batch, inDim]);
  const p = probe(m, { steps: 1_000_000, probe: { dense: 1_000_000 } });
  const cbs = withProbe ? [p.callback({ x: px, y: t1.t }), clock] : [clock];
  await m.fit(xs, ys, { epochs: 1, batchSize: batch, shuffle: false, verbose: 0, yieldEvery: 'never', callbacks: cbs });
  tf.dispose([xs, ys, px, t1.t]);
  m.dispose();
  return times.slice(1); // the first interval still warms up
}

/** The peer: signalprop's own trainer on the same net (linear-bn-act, depth 16, width 256, B 128), probes off and on. */
async function trainerLoop(): Promise<{ plain: number[]; probed: number[] }> {
  const data: Dataset = {
    name: 'fixed',
    dim: inDim,
    nOut,
    nTrain: null,
    nTest: batch,
    batch: () => hb,
    test: () => hb,
    describe: () => ({}),
  };
  const make = (on: boolean) => {
    const { config, spec } = resolveTrainConfig({
      spec: { depth, width, batch, inputDim: inDim, order: 'linear-bn-act', activation: 'relu' },
      loss: 'xent',
      optimizer: { kind: 'sgd', lr },
      steps: 1_000_000,
      seed: 1,
      probe: on ? { dense: 1_000_000 } : false,
      backend,
    });
    return new Trainer(config, spec, data, null, tf.getBackend());
  };
  const a = make(false);
  const b = make(true);
  const out = { plain: [] as number[], probed: [] as number[] };
  for (let t = 0; t < reps + 2; t++) {
    let t0 = performance.now();
    a.step(t);
    const x = performance.now() - t0;
    t0 = performance.now();
    b.step(t);
    const y = performance.now() - t0;
    if (t >= 2) {
      out.plain.push(x);
      out.probed.push(y);
    }
  }
  a.dispose();
  b.dispose();
  return out;
}

const be = await initBackend(backend, 1);
console.log(
  `probe bench: depth ${depth}, width ${width}, B ${batch}, Dense → BN → ReLU, backend ${be.name}, 1 thread, ${reps} steps each (medians)`,
);
const row = (name: string, plain: number[], probed: number[]) =>
  console.log(
    `${name.padEnd(44)} plain ${median(plain).toFixed(1).padStart(7)} ms   probed ${median(probed).toFixed(1).padStart(7)} ms   ratio ${(median(probed) / median(plain)).toFixed(2)}`,
  );
const cl = customLoop();
row('custom loop: step(lossFn, opt, batch)', cl.plain, cl.probed);
row('custom loop: step(lossFn, opt) (weights only)', cl.plain, cl.weightsOnly);
const fitPlain = await fitLoop(false);
const fitProbed = await fitLoop(true);
row('model.fit + callback(probeBatch)', fitPlain, fitProbed);
const tr = await trainerLoop();
row('peer: signalprop trainer, probes on', tr.plain, tr.probed);
