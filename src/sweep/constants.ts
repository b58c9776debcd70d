// Light constants of the sweep room (no heavy imports), for the CLI's option texts.
export const DEFAULT_QUEUE = 'signalprop-sweep';
/** Queue names: BullMQ keys use ":" as a separator, so it is not allowed. */
export const QUEUE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** Cell kind names. */
export const KIND_RE = /^[a-z][a-z0-9-]{0,39}$/;

/** Worker lock and stall settings (milliseconds). */
export interface StallOptions {
  /** How long a job's lock lives without renewal; a killed worker's cell is retried after about this long. */
  lockDuration?: number;
  /** How often workers look for jobs whose lock expired. */
  stalledInterval?: number;
  /** How many times one cell may be recovered from a dead worker before it is recorded as failed. */
  maxStalledCount?: number;
}

export const STALL_DEFAULTS: Required<StallOptions> = { lockDuration: 30_000, stalledInterval: 15_000, maxStalledCount: 3 };
