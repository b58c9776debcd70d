// signalprop probe model.json: a saved tfjs LayersModel trained on signalprop's data with the probe's `step`
// (src/probe), its theory overlaid where describe() maps it, written as a run directory (docs/probe.md).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Command } from 'commander';
import { writeFileAtomic } from '../../io/files.js';
import { InputError, type SpecFields, specFields, specToJSON } from '../../network/index.js';
import type { SPRecord } from '../../records/index.js';
import { describe } from '../../probe/describe.js';
import { probe } from '../../probe/index.js';
import { loadModel } from '../../probe/load.js';
import { giaRecords, inputMoments, theoryOverlay } from '../../probe/theory.js';
import { blasUnavailableReason } from '../../train/blas.js';
import { DATA_KINDS, initBackend, loadData, makeDataConfig, makeProbeConfig, ProbeSchedule, TrainConfigError } from '../../train/index.js';
import { checkOutPath, numberFlag, progress, UsageError } from '../io.js';

export const PROBE_OPTIMIZERS = ['sgd', 'momentum', 'adam', 'rmsprop'] as const;
export type ProbeOptimizer = (typeof PROBE_OPTIMIZERS)[number];
export const PROBE_DATA = ['mnist', 'fashion-mnist', 'synthetic'] as const;

export interface ProbeRunOptions {
  model: string;
  data: (typeof PROBE_DATA)[number];
  steps: number;
  optimizer: ProbeOptimizer;
  lr: number;
  batch: number;
  seed: number;
  /** 'all' layers, or only those with a weight matrix ('weights': the probe's grad_growth is then the block ratio). */
  record: 'all' | 'weights';
  out?: string;
  quiet?: boolean;
}

export interface ProbeRunResult {
  records: SPRecord[];
  notes: string[];
  manifest: Record<string, unknown>;
}

function optimizerOf(kind: ProbeOptimizer, lr: number): tf.Optimizer {
  if (kind === 'sgd') return tf.train.sgd(lr);
  if (kind === 'momentum') return tf.train.momentum(lr, 0.9);
  if (kind === 'adam') return tf.train.adam(lr);
  return tf.train.rmsprop(lr);
}

/** Load, describe, train with probes, overlay the theory; writes the run directory when `out` is given. */
export async function probeRun(o: ProbeRunOptions): Promise<ProbeRunResult> {
  // the blas backend where the addon is built: tfjs's cpu backend with its matrix products (tf.layers.dense's
  // fused matMul too), elementwise ops and convolutions native, every other op the cpu kernel, so any model
  // runs on it; else the cpu backend itself (the wasm backend lacks ops a user's model may use). Set before
  // the model is built.
  tf.enableProdMode(); // no console hints on stdout, no per-op NaN checks (the loss is checked here)
  await initBackend(blasUnavailableReason() === null ? 'blas' : 'cpu', 1);
  const model = await loadModel(o.model);
  try {
    const shape = model.inputs[0].shape;
    const outShape = model.outputs[0].shape;
    const dims = shape.slice(1);
    // flat inputs [batch, n], or images [batch, H, W, C] (NHWC: the data's rows, reshaped)
    if ((dims.length !== 1 && dims.length !== 3) || !dims.every((d) => typeof d === 'number' && d > 0))
      throw new UsageError(
        `${o.model}: the model's input shape ${JSON.stringify(shape)} is not allowed; expected [batch, n] or [batch, H, W, C]`,
      );
    const inShape = dims as number[];
    if (outShape.length !== 2 || typeof outShape[1] !== 'number')
      throw new UsageError(`${o.model}: the model's output shape ${JSON.stringify(outShape)} is not allowed; expected [batch, classes]`);
    const inputDim = inShape.reduce((a, b) => a * b, 1);
    let ds: ReturnType<typeof loadData>;
    try {
      ds = loadData(makeDataConfig(o.data, '--data'), o.seed, inputDim, true);
    } catch (e) {
      if (e instanceof TrainConfigError && e.field === 'spec.inputDim')
        throw new UsageError(`${o.model}: the model's input dimension ${inputDim} is not allowed; expected ${e.allowed}`);
      throw e;
    }
    if (outShape[1] !== ds.nOut)
      throw new UsageError(
        `${o.model}: the model's ${outShape[1]} outputs are not allowed; expected ${ds.nOut} (the classes of --data ${o.data})`,
      );
    const desc = describe(model, { batch: o.batch });
    // the loss: categorical cross-entropy on the model's probabilities when it ends with softmax, else on logits
    const last = model.layers[model.layers.length - 1];
    const cfg = last.getConfig() as { activation?: string };
    const softmax = last.getClassName() === 'Softmax' || cfg.activation === 'softmax';
    const lossOf = (yt: tf.Tensor, yp: tf.Tensor): tf.Scalar =>
      softmax
        ? (tf.neg(tf.mean(tf.sum(tf.mul(yt, tf.log(tf.clipByValue(yp, 1e-7, 1))), -1))) as tf.Scalar)
        : (tf.losses.softmaxCrossEntropy(yt, yp) as tf.Scalar);
    const fields: Partial<SpecFields> | undefined = desc.spec ? specFields(desc.spec) : { batch: o.batch };
    const tags = { data: o.data, loss: 'xent', optimizer: o.optimizer };
    const prober = probe(model, {
      steps: o.steps,
      seed: o.seed,
      loss: lossOf,
      tags,
      fields,
      ...(o.record === 'weights' ? { include: (l: tf.layers.Layer) => l.trainableWeights.some((w) => w.shape.length >= 2) } : {}),
    });
    const opt = optimizerOf(o.optimizer, o.lr);
    let firstX: Float32Array | null = null;
    const every = Math.max(1, Math.floor(o.steps / 10));
    let lastLoss = Number.NaN;
    // the probe's default schedule: at its probed steps, the gradient-independence reconstruction at θ_t
    const schedule = new ProbeSchedule(makeProbeConfig(undefined, 'probe'), o.steps);
    const gia: SPRecord[] = [];
    const giaNotes = new Set<string>();
    try {
      for (let t = 0; t < o.steps; t++) {
        const b = ds.batch(t, o.batch);
        if (t === 0) firstX = b.x.slice();
        const x = tf.tensor(b.x, [b.n, ...inShape]);
        const y = tf.oneHot(tf.tensor1d(b.labels!, 'int32'), ds.nOut).toFloat();
        if (desc.spec?.order === 'linear-bn-act' && schedule.active(t)) {
          const g = giaRecords(model, desc, x, t, { probed: prober.layers(), fields: specFields(desc.spec), tags, seed: o.seed });
          gia.push(...g.records);
          for (const n of g.notes) giaNotes.add(n);
        }
        lastLoss = prober.step(() => lossOf(y, model.apply(x, { training: true }) as tf.Tensor), opt, { x, y });
        tf.dispose([x, y]);
        if (!o.quiet && ((t + 1) % every === 0 || t + 1 === o.steps))
          progress(`probe: step ${t + 1}/${o.steps}, loss ${Number.isFinite(lastLoss) ? lastLoss.toPrecision(4) : lastLoss}`);
        if (!Number.isFinite(lastLoss)) break;
      }
    } finally {
      opt.dispose();
    }
    const mom = firstX ? inputMoments(firstX, o.batch, ds.dim) : { inputVar: 1, inputCorr: 0 };
    const overlay = theoryOverlay(desc, { ...mom, probed: prober.layers(), ...(desc.spec ? { fields: specFields(desc.spec) } : {}), tags });
    const records = [...prober.records(), ...gia, ...overlay.records];
    const notes = [...desc.notes, ...prober.notes(), ...overlay.notes, ...giaNotes];
    if (gia.length)
      notes.push(
        'gia_growth: the gradient-independence reconstruction of each block ratio at the probed steps (a labelled approximation, not a prediction: docs/probe.md)',
      );
    prober.dispose();
    const manifest = {
      format: 'signalprop-probe-run',
      version: 1,
      model: resolve(o.model),
      config: { data: o.data, steps: o.steps, optimizer: o.optimizer, lr: o.lr, batch: o.batch, seed: o.seed, record: o.record },
      status: Number.isFinite(lastLoss) ? 'completed' : 'diverged',
      final: { loss: Number.isFinite(lastLoss) ? lastLoss : null },
      data: ds.describe(),
      input: mom,
      theory: desc.spec ? { spec: specToJSON(desc.spec), growth: overlay.growth, records: overlay.records.length } : null,
      map: desc.map,
      layers: prober.layers(),
      notes,
      backend: tf.getBackend(),
      node: process.version,
    };
    if (o.out) {
      writeFileAtomic(join(o.out, 'records.jsonl'), records.map((r) => `${JSON.stringify(r)}\n`).join(''));
      writeFileAtomic(join(o.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    }
    return { records, notes, manifest };
  } finally {
    model.dispose();
  }
}

export function register(program: Command): void {
  program
    .command('probe')
    .description('Train a saved tfjs model (model.json + weights) with per-layer probes, its theory overlaid where signalprop maps it.')
    .argument('<model.json>', 'a tfjs layers model as tf.io saves it (model.json and the weight files it names)')
    .option('--data <data>', `${PROBE_DATA.join(' | ')} (default mnist)`)
    .option('--steps <n>', 'training steps (default 20)')
    .option('--optimizer <kind>', `${PROBE_OPTIMIZERS.join(' | ')} (default sgd; momentum 0.9)`)
    .option('--lr <v>', 'learning rate (default 0.01)')
    .option('--batch <B>', 'batch size (default 64)')
    .option('--seed <s>', 'data seed, an integer >= 1 (default 1); the weights are the file’s')
    .option('--record <which>', 'all | weights: every layer (default), or only the layers with a weight matrix')
    .option('--out <runDir>', 'run directory: manifest.json and records.jsonl (without it nothing is written)')
    .option('--json', 'print the records and notes as JSON')
    .action(async (file: string, opts: Record<string, any>) => {
      const oneOf = <T extends string>(flag: string, v: string | undefined, allowed: readonly T[], d: T): T => {
        if (v === undefined) return d;
        if (!(allowed as readonly string[]).includes(v)) throw new InputError(flag, v, allowed.join(' | '));
        return v as T;
      };
      const data = oneOf('--data', opts.data, PROBE_DATA, 'mnist');
      if (!DATA_KINDS.includes(data)) throw new InputError('--data', data, DATA_KINDS.join(' | '));
      const o: ProbeRunOptions = {
        model: file,
        data,
        steps: numberFlag('--steps', opts.steps, { int: true, min: 1, max: 1_000_000 }) ?? 20,
        optimizer: oneOf('--optimizer', opts.optimizer, PROBE_OPTIMIZERS, 'sgd'),
        lr: numberFlag('--lr', opts.lr, { min: 0 }) ?? 0.01,
        batch: numberFlag('--batch', opts.batch, { int: true, min: 2, max: 65536 }) ?? 64,
        seed: numberFlag('--seed', opts.seed, { int: true, min: 1, max: 2147483647 }) ?? 1,
        record: oneOf('--record', opts.record, ['all', 'weights'] as const, 'all'),
        out: opts.out,
        quiet: Boolean(opts.json),
      };
      checkOutPath('--out', opts.out, 'dir');
      if (!existsSync(file)) throw new UsageError(`${file}: "${file}" is not allowed; expected a model.json that exists`);
      const r = await probeRun(o);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ records: r.records, notes: r.notes, manifest: r.manifest }, null, 2)}\n`);
        return;
      }
      const th = r.manifest.theory as { growth: number | null } | null;
      const lines = [
        `status: ${r.manifest.status} (${o.steps} steps, final loss ${(r.manifest.final as any).loss ?? '—'})`,
        `theory: ${th ? `described (growth per block ${th.growth?.toPrecision(5) ?? '—'})` : 'none (see the notes)'}`,
        `records: ${r.records.length}${o.out ? ` in ${join(o.out, 'records.jsonl')}` : ' (not written: pass --out <runDir>)'}`,
        ...r.notes.map((n) => `note: ${n}`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
