// TrainConfig: everything a training run needs, validated with errors that name the field, the value
// and what is allowed (one zod schema, TRAIN_CONFIG_SCHEMA, whose keys are the one field list). The resolved
// form is plain JSON and goes into the run's manifest.
import { z } from 'zod';
import {
  DEFAULT_RNG,
  type Layer,
  makeSpec,
  type NetworkSpec,
  RNG_ALLOWED,
  RNGS,
  type RngName,
  SpecError,
  type SpecInput,
  specToJSON,
  unknownField,
} from '../network/index.js';
import { fieldsOf, int, oneOf, parseObject } from '../network/input.js';
import { BACKENDS_ALLOWED, type BackendName, isBackendName } from './backend.js';
import { type DataConfig, dataDim, makeDataConfig } from './data/index.js';
import { TrainConfigError } from './errors.js';
import { TRAIN_LOSSES, type TrainLoss } from './loss.js';
import {
  type ClipConfig,
  type ClipInput,
  makeClipConfig,
  makeOptimizerConfig,
  type OptimizerConfig,
  type OptimizerInput,
} from './optim.js';
import { makeProbeConfig, type ProbeConfig, type ProbeInput } from './probes.js';
import { makeSchedule, type ScheduleConfig, type ScheduleInput } from './schedule.js';

const SEED_ALLOWED = 'an integer from 1 to 2147483647 (0 would mean "unseeded" in tfjs)';

/**
 * A training run as the user writes it (JSON or API): the one list of its fields. spec, steps and seed are
 * required; every other field has a default. The nested parts are validated by their own schemas (data
 * sources, optimizer kinds, schedules, clipping, probes), which name the field inside them.
 */
export const TRAIN_CONFIG_SCHEMA = z.object({
  /** The network (fields of NetworkSpec); validated by parseSpec, inputDim defaulting to the data's. */
  spec: z.custom<SpecInput>((v) => v !== null && typeof v === 'object' && !Array.isArray(v), {
    error: 'an object (fields of NetworkSpec)',
  }),
  /** 'synthetic' | 'mnist' | 'csv:<path>' or an object (see DataConfig). Default synthetic. */
  data: z.unknown().optional(),
  /** 'xent' (default) or 'mse'. */
  loss: oneOf(TRAIN_LOSSES).default('xent'),
  /** A kind name or {kind, lr, …} (OPTIMIZER_SCHEMAS). Default sgd, lr 0.1. */
  optimizer: z.custom<OptimizerInput>().optional(),
  /** A kind name or {kind, warmupSteps, …} (SCHEDULE_SCHEMAS). Default constant. */
  schedule: z.custom<ScheduleInput>().optional(),
  /** null, a max norm (global), or {kind: global | layer, maxNorm}. Default none. */
  clip: z.custom<ClipInput>().optional(),
  steps: int('an integer from 1 to 100000000', (v) => v >= 1 && v <= 100_000_000),
  /** An integer >= 1 (seed 0 means "unseeded" in tfjs, so it is refused). */
  seed: int(SEED_ALLOWED, (v) => v >= 1 && v <= 2147483647),
  /**
   * The generator of every draw (weights, readout, synthetic inputs and teacher, data split and shuffles):
   * 'philox4x32-10' (default) or 'mt19937' (runs written before the switch; docs/random.md).
   */
  rng: oneOf(RNGS, RNG_ALLOWED).default(DEFAULT_RNG),
  /** {dense, perDecade, every, enabled} or false. */
  probe: z.custom<ProbeInput>().optional(),
  /** auto (default: native when the native addon is built, else wasm) | native | wasm | cpu | node | node-gpu; "blas" and "openblas" are aliases of native. */
  backend: z.custom<BackendName>((v) => isBackendName(v), { error: BACKENDS_ALLOWED }).default('auto'),
  /** Checkpoint every N steps (default: steps/10, at least 1); always at the end. */
  checkpointEvery: int('an integer >= 1', (v) => v >= 1).optional(),
});

/** A training run as the user writes it. */
export type TrainConfig = z.input<typeof TRAIN_CONFIG_SCHEMA>;

/** The validated, fully defaulted config (JSON-able; written to manifest.json). */
export interface ResolvedTrainConfig {
  spec: Record<string, unknown>;
  data: DataConfig;
  loss: TrainLoss;
  optimizer: OptimizerConfig;
  schedule: ScheduleConfig;
  clip: { kind: ClipConfig['kind']; maxNorm: number | null };
  steps: number;
  seed: number;
  /** The generator of the run's draws (a manifest without it was written before the switch: 'mt19937'). */
  rng: RngName;
  probe: ProbeConfig;
  backend: BackendName;
  checkpointEvery: number;
}

const FIELDS = fieldsOf(TRAIN_CONFIG_SCHEMA);

/** Validate a TrainConfig; returns the resolved config and the spec. Throws TrainConfigError. */
export function resolveTrainConfig(input: TrainConfig): { config: ResolvedTrainConfig; spec: NetworkSpec } {
  const top = parseObject(TRAIN_CONFIG_SCHEMA, input, '', (f, v, a) => new TrainConfigError(f, v, a), {
    notObject: `an object with fields ${FIELDS.join(', ')}`,
    self: 'config',
    unknown: (k, known) => unknownField(k, known, 'a training config'),
  });
  const data = makeDataConfig(top.data);
  const { steps, loss, backend } = top;
  const si = top.spec;
  const dd = dataDim(data);
  let spec: NetworkSpec;
  try {
    spec = makeSpec(si.inputDim === undefined && dd !== null ? { ...si, inputDim: dd } : si);
  } catch (e) {
    if (e instanceof SpecError) throw new TrainConfigError(`spec.${e.field}`.replace(/^spec\.spec$/, 'spec'), e.value, e.allowed);
    throw e;
  }
  const fnAct = spec.layers
    ? apiActivation(spec.layers, 'spec.layers')
    : typeof spec.activation !== 'string'
      ? { field: 'spec.activation', name: spec.activation.name }
      : null;
  if (fnAct) throw new TrainConfigError(fnAct.field, fnAct.name, 'an activation string (training needs a tf form of φ)');
  if (spec.batch === null) throw new TrainConfigError('spec.batch', null, 'an integer >= 2 (training needs a finite batch)');
  if (dd !== null && spec.inputDim !== dd)
    throw new TrainConfigError('spec.inputDim', spec.inputDim, `the data's input dimension (${dd} for ${data.kind})`);
  const schedule = makeSchedule(top.schedule);
  if (schedule.warmupSteps > steps)
    throw new TrainConfigError(
      'schedule.warmupSteps',
      schedule.warmupSteps,
      `at most steps (${steps}): a warmup longer than the run never reaches the base rate`,
    );
  if (schedule.kind === 'step' && schedule.stepSize! >= steps)
    throw new TrainConfigError('schedule.stepSize', schedule.stepSize, `fewer than steps (${steps}): the rate would never decay`);
  const clip = makeClipConfig(top.clip);
  const ck = top.checkpointEvery ?? Math.max(1, Math.floor(steps / 10));
  const config: ResolvedTrainConfig = {
    spec: specToJSON(spec),
    data,
    loss,
    optimizer: makeOptimizerConfig(top.optimizer),
    schedule,
    clip: { kind: clip.kind, maxNorm: clip.kind === 'none' ? null : clip.maxNorm },
    steps,
    seed: top.seed,
    rng: top.rng,
    probe: makeProbeConfig(top.probe),
    backend,
    checkpointEvery: ck,
  };
  return { config, spec };
}

/** The first act layer of a list (residuals' inner lists included) given as an API function pair, which has no tf form. */
function apiActivation(layers: readonly Layer[], where: string): { field: string; name: string } | null {
  for (const [i, l] of layers.entries()) {
    if (l.kind === 'act' && typeof l.activation !== 'string') return { field: `${where}[${i}].activation`, name: l.activation.name };
    if (l.kind === 'residual') {
      const r = apiActivation(l.layers, `${where}[${i}].layers`);
      if (r) return r;
    }
  }
  return null;
}
