// Learning-rate schedules: constant, linear warmup, cosine, step. Warmup composes with every kind.
import { didYouMean } from '../network/suggest.js';
import { TrainConfigError } from './errors.js';

export const SCHEDULES = ['constant', 'warmup', 'cosine', 'step'] as const;
export type ScheduleKind = (typeof SCHEDULES)[number];

export interface ScheduleConfig {
  kind: ScheduleKind;
  /** Linear warmup over the first W steps: factor (t + 1)/W at step t < W (Goyal et al. 2017). */
  warmupSteps: number;
  /** cosine: the rate at the last step, as a fraction of the base rate. */
  minFactor?: number;
  /** step: multiply by `gamma` every `stepSize` steps. */
  stepSize?: number;
  gamma?: number;
}

const KEYS: Record<ScheduleKind, string[]> = {
  constant: ['kind', 'warmupSteps'],
  warmup: ['kind', 'warmupSteps'],
  cosine: ['kind', 'warmupSteps', 'minFactor'],
  step: ['kind', 'warmupSteps', 'stepSize', 'gamma'],
};

export function makeSchedule(input: unknown, field = 'schedule'): ScheduleConfig {
  const raw: Record<string, unknown> = typeof input === 'string' ? { kind: input } : input == null ? { kind: 'constant' } : (input as any);
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new TrainConfigError(field, input, `an object {kind: ${SCHEDULES.join(' | ')}, …} or a kind name`);
  const kind = (raw.kind ?? 'constant') as ScheduleKind;
  if (!SCHEDULES.includes(kind)) throw new TrainConfigError(`${field}.kind`, raw.kind, SCHEDULES.join(' | '));
  for (const k of Object.keys(raw)) {
    if (!KEYS[kind].includes(k))
      throw new TrainConfigError(
        `${field}.${k}`,
        raw[k],
        `no such option for schedule "${kind}"${didYouMean(k, KEYS[kind])}; its options are ${KEYS[kind].join(', ')}`,
      );
  }
  const num = (k: string, dflt: number, ok: (v: number) => boolean, allowed: string): number => {
    const v = raw[k] === undefined ? dflt : raw[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new TrainConfigError(`${field}.${k}`, v, allowed);
    return v;
  };
  const warmupSteps = num(
    'warmupSteps',
    kind === 'warmup' ? Number.NaN : 0,
    (v) => Number.isInteger(v) && v >= (kind === 'warmup' ? 1 : 0),
    kind === 'warmup' ? 'an integer >= 1 (warmup needs its length)' : 'an integer >= 0',
  );
  if (kind === 'cosine') return { kind, warmupSteps, minFactor: num('minFactor', 0, (v) => v >= 0 && v <= 1, 'a number in [0, 1]') };
  if (kind === 'step') {
    return {
      kind,
      warmupSteps,
      stepSize: num('stepSize', Number.NaN, (v) => Number.isInteger(v) && v >= 1, 'an integer >= 1 (steps between decays)'),
      gamma: num('gamma', 0.1, (v) => v > 0 && v <= 1, 'a number in (0, 1]'),
    };
  }
  return { kind, warmupSteps };
}

/** The factor multiplying the base learning rate at step t (0-based) of a run of `steps` steps. */
export function scheduleFactor(s: ScheduleConfig, t: number, steps: number): number {
  const W = s.warmupSteps;
  const warm = W > 0 && t < W ? (t + 1) / W : 1;
  let main = 1;
  if (s.kind === 'cosine') {
    const span = Math.max(1, steps - 1 - W);
    const u = Math.min(1, Math.max(0, (t - W) / span));
    const lo = s.minFactor ?? 0;
    main = lo + (1 - lo) * 0.5 * (1 + Math.cos(Math.PI * u));
  } else if (s.kind === 'step') {
    main = (s.gamma ?? 0.1) ** Math.floor(Math.max(0, t - W) / (s.stepSize ?? 1));
  }
  return warm * main;
}
