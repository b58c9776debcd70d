// The probe's options, its schedule and the records it writes (source "trained", the QUANTITIES names).
import type * as tf from '@tensorflow/tfjs';
import { InputError, makeSpec, type SpecFields, specFields } from '../network/index.js';
import { type Quantity, record, type SPRecord } from '../records/index.js';
import { makeProbeConfig, type ProbeInput, ProbeSchedule } from '../train/index.js';

/** How the probe computes its own gradients: signalprop's losses on the model's outputs, or a function. */
export type ProbeLoss = 'cross-entropy' | 'mse' | ((yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar);

export type ProbeTags = Record<string, string | number | boolean | null>;

export interface ProbeOptions {
  /** Planned number of steps (drives the log-spaced schedule, as the trainer's ProbeSchedule; the last step is probed). */
  steps: number;
  /** When to probe: {dense, perDecade, every, enabled} or false, as the trainer's `probe` (src/train/probes.ts). */
  probe?: ProbeInput;
  /** Recorded in the records' seed field (null: none). */
  seed?: number | null;
  /**
   * The loss of the probe's own forward/backward (the fit callback's probe batch, `step`'s batch):
   * 'cross-entropy' = (1/B) Σ_i (logsumexp(y_i) − y_i·t_i) on the outputs as logits (signalprop's xent),
   * 'mse' = (1/(2B)) Σ_i ‖y_i − t_i‖² (signalprop's mse), or a function (a non-scalar result is averaged).
   * Default: the model's compiled loss (mean over the batch, as model.fit computes it).
   */
  loss?: ProbeLoss;
  /** Added to every record's tags (tags.name and tags.kind are the layer's). */
  tags?: ProbeTags;
  /** Spec fields stamped on every record (depth, width, batch, …) where known; the rest are placeholders (docs/probe.md). */
  fields?: Partial<SpecFields>;
  /**
   * Whether a probed step may take its statistics from the step's own forward/backward (default true): where
   * the step's pass is the probe's pass on the probe batch (same input, same loss gradient at the output,
   * each layer run once in training mode; checked at every probed step), its tensors are read instead of a
   * second forward/backward. false: the probe always runs its own pass on the probe batch.
   */
  reuseStep?: boolean;
  /** Which of the model's layers to record (default: every layer but the InputLayer); `index` counts model.layers from 0. */
  include?: (layer: tf.layers.Layer, index: number) => boolean;
}

/** What the probers share: the schedule, the record maker, the notes. */
export interface ProbeContext {
  schedule: ProbeSchedule;
  steps: number;
  rec(q: Quantity, layer: number | null, value: number, step: number, tags?: ProbeTags): SPRecord;
  note(s: string): void;
  notes(): string[];
  /** Sets the batch field where the user did not (the first probed batch's size). */
  setBatch(b: number): void;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/**
 * Validated options as a context. `shape` gives the placeholders of the spec fields the user did not set:
 * depth = the number of weight layers, width = the widest of them, batch = the first probed batch's size.
 */
export function probeContext(options: ProbeOptions, shape: { depth: number; width: number; name: string }): ProbeContext {
  if (options === null || typeof options !== 'object')
    throw new InputError('options', options, 'an object {steps, probe?, seed?, loss?, tags?, fields?, include?, reuseStep?}');
  const { steps } = options;
  if (!isInt(steps) || steps < 1) throw new InputError('steps', steps, 'an integer >= 1 (the planned number of steps)');
  const seed = options.seed ?? null;
  if (seed !== null && !isInt(seed)) throw new InputError('seed', seed, 'an integer, or null');
  const loss = options.loss;
  if (loss !== undefined && loss !== 'cross-entropy' && loss !== 'mse' && typeof loss !== 'function')
    throw new InputError('loss', loss, "'cross-entropy', 'mse' or a function (yTrue, yPred) => tf.Scalar");
  if (options.reuseStep !== undefined && typeof options.reuseStep !== 'boolean')
    throw new InputError('reuseStep', options.reuseStep, 'true or false');
  const userTags = options.tags ?? {};
  if (userTags === null || typeof userTags !== 'object' || Array.isArray(userTags))
    throw new InputError('tags', userTags, 'an object of string, number, boolean or null values');
  for (const [k, v] of Object.entries(userTags))
    if (v !== null && !['string', 'number', 'boolean'].includes(typeof v))
      throw new InputError(`tags.${k}`, v, 'a string, number, boolean or null');
  const cfg = makeProbeConfig(options.probe, 'probe');
  const schedule = new ProbeSchedule(cfg, steps);
  const base = specFields(makeSpec({ depth: Math.max(1, shape.depth), width: Math.max(1, shape.width) }));
  const userFields = options.fields ?? {};
  const fields: SpecFields = {
    ...base,
    specId: `model:${shape.name}`,
    order: 'custom',
    activation: 'custom',
    batch: null,
    ...userFields,
  };
  const batchGiven = 'batch' in userFields;
  const notes: string[] = [];
  const seen = new Set<string>();
  return {
    schedule,
    steps,
    rec(q, layer, value, step, tags) {
      const tg: ProbeTags = { ...userTags, ...(tags ?? {}) };
      // JSON has no NaN/Infinity: a non-finite value is written as null and named in tags.nonFinite (as the trainer's)
      if (!Number.isFinite(value)) tg.nonFinite = String(value);
      return record(fields, 'trained', q, layer, value, { step, seed, tags: tg });
    },
    note(s) {
      if (seen.has(s)) return;
      seen.add(s);
      notes.push(s);
    },
    notes: () => notes.slice(),
    setBatch(b) {
      if (!batchGiven && fields.batch === null) fields.batch = b;
    },
  };
}
