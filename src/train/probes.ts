// When to probe: every step for the first `dense` steps, then log-spaced (`perDecade` points per decade
// of steps) or every `every` steps, and always at the last step — the shape of cockpit's schedules.
import { didYouMean } from '../network/suggest.js';
import { TrainConfigError } from './errors.js';

export interface ProbeConfig {
  /** Probe every step for steps 0..dense−1. */
  dense: number;
  /** After the dense phase: this many log-spaced probe steps per decade (0: none). Ignored when `every` is set. */
  perDecade: number;
  /** After the dense phase: probe every `every` steps instead of log-spacing (null: log-spaced). */
  every: number | null;
  /** false: no probes at all (loss is still recorded at every step). */
  enabled: boolean;
}

export const DEFAULT_PROBES: ProbeConfig = { dense: 20, perDecade: 10, every: null, enabled: true };

export function makeProbeConfig(input: unknown, field = 'probe'): ProbeConfig {
  if (input == null) return { ...DEFAULT_PROBES };
  if (input === false) return { ...DEFAULT_PROBES, enabled: false };
  if (typeof input !== 'object' || Array.isArray(input))
    throw new TrainConfigError(field, input, 'an object {dense, perDecade, every, enabled}, or false for no probes');
  const raw = input as Record<string, unknown>;
  const keys = Object.keys(DEFAULT_PROBES);
  for (const k of Object.keys(raw))
    if (!keys.includes(k))
      throw new TrainConfigError(`${field}.${k}`, raw[k], `no such option${didYouMean(k, keys)}; probe options are ${keys.join(', ')}`);
  const int = (k: string, d: number, min: number) => {
    const v = raw[k] ?? d;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new TrainConfigError(`${field}.${k}`, v, `an integer >= ${min}`);
    return v;
  };
  const every = raw.every ?? null;
  if (every !== null && (typeof every !== 'number' || !Number.isInteger(every) || every < 1))
    throw new TrainConfigError(`${field}.every`, every, 'an integer >= 1, or null for log-spaced probes');
  const enabled = raw.enabled ?? true;
  if (typeof enabled !== 'boolean') throw new TrainConfigError(`${field}.enabled`, enabled, 'true or false');
  return {
    dense: int('dense', DEFAULT_PROBES.dense, 0),
    perDecade: int('perDecade', DEFAULT_PROBES.perDecade, 0),
    every: every as number | null,
    enabled,
  };
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
