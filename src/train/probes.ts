// When to probe: every step for the first `dense` steps, then log-spaced (`perDecade` points per decade
// of steps) or every `every` steps, and always at the last step — the shape of cockpit's schedules.
import { z } from 'zod';
import { bool, int, parseObject } from '../network/input.js';
import { didYouMean } from '../network/suggest.js';
import { TrainConfigError } from './errors.js';

/**
 * When to probe. dense: every step for steps 0..dense−1. perDecade: after the dense phase, this many
 * log-spaced probe steps per decade (0: none; ignored when `every` is set). every: after the dense phase,
 * every `every` steps instead of log-spacing (null: log-spaced). enabled: false for no probes at all (loss
 * is still recorded at every step).
 */
export const PROBE_SCHEMA = z.object({
  dense: int('an integer >= 0', (v) => v >= 0).default(20),
  perDecade: int('an integer >= 0', (v) => v >= 0).default(10),
  every: z
    .union([z.null(), int('an integer >= 1, or null for log-spaced probes', (v) => v >= 1)], {
      error: 'an integer >= 1, or null for log-spaced probes',
    })
    .default(null),
  enabled: bool().default(true),
});

export type ProbeConfig = z.output<typeof PROBE_SCHEMA>;
/** What a user may write: the options (each defaulted), or false for no probes. */
export type ProbeInput = false | z.input<typeof PROBE_SCHEMA>;

export const DEFAULT_PROBES: ProbeConfig = PROBE_SCHEMA.parse({});

export function makeProbeConfig(input: unknown, field = 'probe'): ProbeConfig {
  if (input == null) return { ...DEFAULT_PROBES };
  if (input === false) return { ...DEFAULT_PROBES, enabled: false };
  return parseObject(PROBE_SCHEMA, input, field, (f, v, a) => new TrainConfigError(f, v, a), {
    notObject: 'an object {dense, perDecade, every, enabled}, or false for no probes',
    unknown: (k, known) => `no such option${didYouMean(k, known)}; probe options are ${known.join(', ')}`,
  });
}

/** A probe schedule over a run of `steps` steps (0-based step indices). */
export class ProbeSchedule {
  private readonly logSteps: Set<number>;
  constructor(
    readonly cfg: ProbeConfig,
    readonly steps: number,
  ) {
    this.logSteps = new Set();
    if (cfg.every === null && cfg.perDecade > 0) {
      const start = Math.max(1, cfg.dense);
      for (let i = 0; ; i++) {
        const s = Math.round(start * 10 ** (i / cfg.perDecade));
        if (s >= steps) break;
        this.logSteps.add(s);
      }
    }
  }
  /** Whether step t (0-based) is probed. */
  active(t: number): boolean {
    const c = this.cfg;
    if (!c.enabled) return false;
    if (t < c.dense) return true;
    if (t === this.steps - 1) return true;
    if (c.every !== null) return (t - c.dense) % c.every === 0;
    return this.logSteps.has(t);
  }
  /** All probed steps, ascending. */
  list(): number[] {
    const out: number[] = [];
    for (let t = 0; t < this.steps; t++) if (this.active(t)) out.push(t);
    return out;
  }
}
