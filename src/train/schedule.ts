// Learning-rate schedules: constant, linear warmup, cosine, step. Warmup composes with every kind. One zod
// schema per kind; the config types derive from them.
import { z } from 'zod';
import { int, num, parseObject } from '../network/input.js';
import { didYouMean } from '../network/suggest.js';
import { TrainConfigError } from './errors.js';

export const SCHEDULES = ['constant', 'warmup', 'cosine', 'step'] as const;
export type ScheduleKind = (typeof SCHEDULES)[number];

const warmupSteps = int('an integer >= 0', (v) => v >= 0);

/**
 * Each schedule: its options and their defaults. warmupSteps: linear warmup over the first W steps, factor
 * (t + 1)/W at step t < W (Goyal et al. 2017). cosine: minFactor, the rate at the last step as a fraction of
 * the base rate. step: multiply by gamma every stepSize steps.
 */
export const SCHEDULE_SCHEMAS = {
  constant: z.object({ kind: z.literal('constant'), warmupSteps: warmupSteps.default(0) }),
  warmup: z.object({ kind: z.literal('warmup'), warmupSteps: int('an integer >= 1 (warmup needs its length)', (v) => v >= 1) }),
  cosine: z.object({
    kind: z.literal('cosine'),
    warmupSteps: warmupSteps.default(0),
    minFactor: num('a number in [0, 1]', (v) => v >= 0 && v <= 1).default(0),
  }),
  step: z.object({
    kind: z.literal('step'),
    warmupSteps: warmupSteps.default(0),
    stepSize: int('an integer >= 1 (steps between decays)', (v) => v >= 1),
    gamma: num('a number in (0, 1]', (v) => v > 0 && v <= 1).default(0.1),
  }),
} as const satisfies Record<ScheduleKind, z.ZodObject>;

/** A validated schedule: a union discriminated on kind. */
export type ScheduleConfig = { [K in ScheduleKind]: z.output<(typeof SCHEDULE_SCHEMAS)[K]> }[ScheduleKind];
/** What a user may write: a kind name or {kind, …options}. */
export type ScheduleInput = ScheduleKind | { [K in ScheduleKind]: z.input<(typeof SCHEDULE_SCHEMAS)[K]> }[ScheduleKind];

export function makeSchedule(input: unknown, field = 'schedule'): ScheduleConfig {
  const raw: unknown = typeof input === 'string' ? { kind: input } : input == null ? { kind: 'constant' } : input;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new TrainConfigError(field, input, `an object {kind: ${SCHEDULES.join(' | ')}, …} or a kind name`);
  const r = raw as Record<string, unknown>;
  const kind = (r.kind ?? 'constant') as ScheduleKind;
  if (!SCHEDULES.includes(kind)) throw new TrainConfigError(`${field}.kind`, r.kind, SCHEDULES.join(' | '));
  return parseObject(SCHEDULE_SCHEMAS[kind], { ...r, kind }, field, (f, v, a) => new TrainConfigError(f, v, a), {
    notObject: 'an object',
    unknown: (k, known) => `no such option for schedule "${kind}"${didYouMean(k, known)}; its options are ${known.join(', ')}`,
  }) as ScheduleConfig;
}

/** The factor multiplying the base learning rate at step t (0-based) of a run of `steps` steps. */
export function scheduleFactor(s: ScheduleConfig, t: number, steps: number): number {
  const W = s.warmupSteps;
  const warm = W > 0 && t < W ? (t + 1) / W : 1;
  let main = 1;
  if (s.kind === 'cosine') {
    const span = Math.max(1, steps - 1 - W);
    const u = Math.min(1, Math.max(0, (t - W) / span));
    const lo = s.minFactor;
    main = lo + (1 - lo) * 0.5 * (1 + Math.cos(Math.PI * u));
  } else if (s.kind === 'step') {
    main = s.gamma ** Math.floor(Math.max(0, t - W) / s.stepSize);
  }
  return warm * main;
}
