// TrainConfig: everything a training run needs, validated with errors that name the field, the value
// and what is allowed. The resolved form is plain JSON and goes into the run's manifest.
import {
  checkSeed,
  type Layer,
  makeSpec,
  type NetworkSpec,
  SpecError,
  type SpecInput,
  specToJSON,
  unknownField,
} from '../network/index.js';
import { BACKENDS_ALLOWED, type BackendName, isBackendName } from './backend.js';
import { type DataConfig, dataDim, makeDataConfig } from './data/index.js';
import { TrainConfigError } from './errors.js';
import { TRAIN_LOSSES, type TrainLoss } from './loss.js';
import { type ClipConfig, makeClipConfig, makeOptimizerConfig, type OptimizerConfig } from './optim.js';
import { makeProbeConfig, type ProbeConfig } from './probes.js';
import { makeSchedule, type ScheduleConfig } from './schedule.js';

/** A training run as the user writes it (JSON or API); every field but spec, steps and seed has a default. */
export interface TrainConfig {
  spec: SpecInput;
  /** 'synthetic' | 'mnist' | 'csv:<path>' or an object (see DataConfig). Default synthetic. */
  data?: unknown;
  /** 'xent' (default) or 'mse'. */
  loss?: TrainLoss;
  /** A kind name or {kind, lr, …} (see OptimizerConfig). Default sgd, lr 0.1. */
  optimizer?: unknown;
  /** A kind name or {kind, warmupSteps, …}. Default constant. */
  schedule?: unknown;
  /** null, a max norm (global), or {kind: global | layer, maxNorm}. Default none. */
  clip?: unknown;
  steps: number;
  /** An integer >= 1 (seed 0 means "unseeded" in tfjs, so it is refused). */
  seed: number;
  /** {dense, perDecade, every, enabled} or false. */
  probe?: unknown;
  /** auto (default: native when the native addon is built, else wasm) | native | wasm | cpu | node | node-gpu; "blas" and "openblas" are aliases of native. */
  backend?: BackendName;
  /** Checkpoint every N steps (default: steps/10, at least 1); always at the end. */
  checkpointEvery?: number;
}

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
  probe: ProbeConfig;
  backend: BackendName;
  checkpointEvery: number;
}

const FIELDS = ['spec', 'data', 'loss', 'optimizer', 'schedule', 'clip', 'steps', 'seed', 'probe', 'backend', 'checkpointEvery'];

/** Validate a TrainConfig; returns the resolved config and the spec. Throws TrainConfigError. */
export function resolveTrainConfig(input: TrainConfig): { config: ResolvedTrainConfig; spec: NetworkSpec } {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new TrainConfigError('config', input, `an object with fields ${FIELDS.join(', ')}`);
  for (const k of Object.keys(input))
    if (!FIELDS.includes(k)) throw new TrainConfigError(k, (input as any)[k], unknownField(k, FIELDS, 'a training config'));
  const data = makeDataConfig(input.data);
  const steps = input.steps;
  if (typeof steps !== 'number' || !Number.isInteger(steps) || steps < 1 || steps > 100_000_000)
    throw new TrainConfigError('steps', steps, 'an integer from 1 to 100000000');
  if (typeof input.seed !== 'number') throw new TrainConfigError('seed', input.seed, 'an integer from 1 to 2147483647');
  try {
    checkSeed(input.seed, 'seed');
  } catch {
    throw new TrainConfigError('seed', input.seed, 'an integer from 1 to 2147483647 (0 would mean "unseeded" in tfjs)');
  }
  const loss = input.loss ?? 'xent';
  if (!TRAIN_LOSSES.includes(loss)) throw new TrainConfigError('loss', loss, TRAIN_LOSSES.join(' | '));
  const backend = input.backend ?? 'auto';
  // kept as given (an alias such as "blas" stays "blas"), so a config's manifest is what it always was
  if (!isBackendName(backend)) throw new TrainConfigError('backend', backend, BACKENDS_ALLOWED);
  const si = input.spec;
  if (si === null || typeof si !== 'object' || Array.isArray(si))
    throw new TrainConfigError('spec', si, 'an object (fields of NetworkSpec)');
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
  const schedule = makeSchedule(input.schedule);
  if (schedule.warmupSteps > steps)
    throw new TrainConfigError(
      'schedule.warmupSteps',
      schedule.warmupSteps,
      `at most steps (${steps}): a warmup longer than the run never reaches the base rate`,
    );
  if (schedule.kind === 'step' && schedule.stepSize! >= steps)
    throw new TrainConfigError('schedule.stepSize', schedule.stepSize, `fewer than steps (${steps}): the rate would never decay`);
  const clip = makeClipConfig(input.clip);
  const ck = input.checkpointEvery ?? Math.max(1, Math.floor(steps / 10));
  if (typeof ck !== 'number' || !Number.isInteger(ck) || ck < 1) throw new TrainConfigError('checkpointEvery', ck, 'an integer >= 1');
  const config: ResolvedTrainConfig = {
    spec: specToJSON(spec),
    data,
    loss,
    optimizer: makeOptimizerConfig(input.optimizer),
    schedule,
    clip: { kind: clip.kind, maxNorm: clip.kind === 'none' ? null : clip.maxNorm },
    steps,
    seed: input.seed,
    probe: makeProbeConfig(input.probe),
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
