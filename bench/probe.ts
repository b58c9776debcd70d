// The probe's cost per probed step on a depth-16, width-256 Dense → BN → ReLU tf.sequential (B = 128,
// 784 inputs, 10 classes, SGD, cross-entropy), every step probed: a custom loop (optimizer.minimize
// against prober.step: with the batch, the statistics read from the step's own pass (the default) or from
// the probe's own pass (reuseStep: false); without the batch, weights only) and model.fit (without and
// with the callback, reused and own pass; one step = the time between two onBatchEnd calls). Side by side,
// the peer: signalprop's own trainer on the same net, probes off and on. Medians over `reps` steps, the
// custom-loop and trainer variants interleaved step by step and the fit variants in alternating rounds, so
// that the machine's load falls on all alike. Prints ms, ratios and the load average.
// Usage: npx tsx bench/probe.ts [reps] [backend]
import { loadavg } from 'node:os';
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

const reps = Number(process.argv[2] ?? 15);
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

/** Whether a prober read the step's own pass at every probed step (no note of its own pass). */
const reused = (notes: string[]) => !notes.some((n) => n.includes('the probe ran its own forward/backward'));

/** Custom loop: minimize vs prober.step (with the batch: reused pass, own pass; without: weights only). */
function customLoop(): { plain: number[]; probed: number[]; own: number[]; weightsOnly: number[]; reusedAll: boolean } {
  const x = tf.tensor2d(hb.x, [batch, inDim]);
  const targets = batchTargets(hb, nOut);
  const models = [build(), build(), build(), build()];
  const opts = models.map(() => tf.train.sgd(lr));
  const lossFn = (m: tf.LayersModel) => () => lossTensor('xent', m.apply(x, { training: true }) as tf.Tensor2D, targets);
  const dense = { steps: 1_000_000, probe: { dense: 1_000_000 }, loss: 'cross-entropy' } as const;
  const pA = probe(models[1], dense);
  const pO = probe(models[2], { ...dense, reuseStep: false });
  const pB = probe(models[3], dense);
  const out = { plain: [] as number[], probed: [] as number[], own: [] as number[], weightsOnly: [] as number[], reusedAll: false };
  const time = (f: () => void) => {
    const t0 = performance.now();
    f();
    return performance.now() - t0;
  };
  for (let t = 0; t < reps + 2; t++) {
    const a = time(() => {
      const c = opts[0].minimize(lossFn(models[0]), true)!;
      c.dataSync();
      c.dispose();
    });
    const b = time(() => pA.step(lossFn(models[1]), opts[1], { x, y: targets.t }));
    const o = time(() => pO.step(lossFn(models[2]), opts[2], { x, y: targets.t }));
    const w = time(() => pB.step(lossFn(models[3]), opts[3]));
    if (t >= 2) {
      out.plain.push(a);
      out.probed.push(b);
      out.own.push(o);
      out.weightsOnly.push(w);
    }
  }
  out.reusedAll = reused(pA.notes());
  tf.dispose([x, targets.t]);
  for (const m of models) m.dispose();
  for (const o of opts) o.dispose();
  return out;
}

/** model.fit: per-step wall time (onBatchEnd to onBatchEnd), without and with the probe's callback. */
async function fitLoop(mode: 'plain' | 'reused' | 'own', notes?: string[][]): Promise<number[]> {
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
  const p = probe(m, { steps: 1_000_000, probe: { dense: 1_000_000 }, reuseStep: mode !== 'own' });
  const cbs = mode !== 'plain' ? [p.callback({ x: px, y: t1.t }), clock] : [clock];
  await m.fit(xs, ys, { epochs: 1, batchSize: batch, shuffle: false, verbose: 0, yieldEvery: 'never', callbacks: cbs });
  notes?.push(p.notes());
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
const load = () =>
  loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');
console.log(
  `probe bench: depth ${depth}, width ${width}, B ${batch}, Dense → BN → ReLU, backend ${be.name}, 1 thread, ${reps} steps each (medians); load average ${load()}`,
);
const row = (name: string, plain: number[], probed: number[]) =>
  console.log(
    `${name.padEnd(46)} plain ${median(plain).toFixed(1).padStart(7)} ms   probed ${median(probed).toFixed(1).padStart(7)} ms   ratio ${(median(probed) / median(plain)).toFixed(2)}`,
  );
const cl = customLoop();
row(`custom loop: step(lossFn, opt, batch)${cl.reusedAll ? '' : ' [own pass!]'}`, cl.plain, cl.probed);
row('custom loop: step(…, batch), reuseStep false', cl.plain, cl.own);
row('custom loop: step(lossFn, opt) (weights only)', cl.plain, cl.weightsOnly);
// fit runs whole: the three variants in two alternating rounds, their steps pooled
const fit = { plain: [] as number[], reused: [] as number[], own: [] as number[] };
const fitNotes: string[][] = [];
for (let round = 0; round < 2; round++)
  for (const mode of ['plain', 'reused', 'own'] as const)
    fit[mode].push(...(await fitLoop(mode, mode === 'reused' ? fitNotes : undefined)));
row(`model.fit + callback(probeBatch)${fitNotes.every(reused) ? '' : ' [own pass!]'}`, fit.plain, fit.reused);
row('model.fit + callback, reuseStep false', fit.plain, fit.own);
const tr = await trainerLoop();
row('peer: signalprop trainer, probes on', tr.plain, tr.probed);
console.log(`load average at the end ${load()}`);
