// The distributed executor on BullMQ (Redis). The submitting process enqueues one job per pending cell
// (job id "c-<cell id>", so enqueuing a cell twice is a no-op), follows the queue's events and collects
// each finished job's result into the sweep's store, then removes the job. Workers (`signalprop worker`)
// on any number of machines take jobs and run each cell on a worker thread, so that the main thread
// stays free to renew the job's lock. A worker killed mid-cell stops renewing its lock; BullMQ's stalled
// check (every stalledInterval, in the surviving or restarted workers) moves the job back to wait after
// lockDuration, and another worker runs it again. A cell whose result arrives twice is stored once
// (the store dedupes by cell id).
import { rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Job, Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { cellBytes, formatBytes, machineMemory } from '../io/memory.js';
import { InputError, makeSpec, type SpecInput } from '../network/index.js';
import { makePool } from '../parallel/pool.js';
import { type CellResult, type CellTask, failedResult } from './cell.js';
import { DEFAULT_QUEUE, STALL_DEFAULTS, type StallOptions } from './constants.js';
import { CELL_WORKER_URL, type ExecutorHooks } from './local.js';
import type { Cell } from './sweepFile.js';

/** A bad --redis URL or an unreachable server. */
export class RedisUrlError extends InputError {
  constructor(message: string) {
    super('--redis', undefined, '', message);
    this.name = 'UsageError';
  }
}

/** The URL with its password replaced by "***", for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/** Check a redis:// or rediss:// URL; returns the BullMQ/ioredis connection options for it. */
export function redisConnection(url: string): { url: string; maxRetriesPerRequest: null } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RedisUrlError(
      `--redis: "${redactUrl(url)}" is not allowed; expected a URL redis://[:password@]host[:port][/db] or rediss://... for TLS`,
    );
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new RedisUrlError(`--redis: "${redactUrl(url)}" is not allowed; expected the scheme redis:// or rediss:// (TLS)`);
  }
  if (!u.hostname) throw new RedisUrlError(`--redis: "${redactUrl(url)}" is not allowed; expected a host, e.g. redis://10.0.0.5:6379`);
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,2}$/.test(db))
    throw new RedisUrlError(`--redis: "${redactUrl(url)}" is not allowed; the path must be a database number such as /0`);
  return { url, maxRetriesPerRequest: null };
}

/** Connect once and PING, failing fast with a clear message (instead of ioredis's endless retries). */
export async function checkRedis(url: string, timeoutMs = 5000): Promise<void> {
  redisConnection(url);
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    throw new RedisUrlError(
      `--redis: cannot reach "${redactUrl(url)}" (${(e as Error).message}); is redis-server running there and reachable (bind address, firewall, password)?`,
    );
  } finally {
    client.disconnect();
  }
}

export const jobIdOf = (cellId: string): string => `c-${cellId}`;
const cellIdOf = (jobId: string): string => jobId.slice(2);

export interface SubmitOptions {
  url: string;
  queue?: string;
  /** Reconcile with the queue every pollMs (events do the fast path). */
  pollMs?: number;
  /** Stop following (the jobs stay queued; a later run collects them). runRedis then rejects with an AbortError. */
  signal?: AbortSignal;
  /** Called with each problem that does not stop the sweep (e.g. a lost event connection). */
  log?: (message: string) => void;
}

interface QueueJobData {
  cell: Cell;
}

/**
 * Enqueue cells on BullMQ and collect their results as workers finish them. Resolves when every cell
 * has a result (done or failed). Cells whose job already finished (e.g. while no submitter ran) are
 * collected at once; a job in state failed is removed and enqueued again.
 */
export async function runRedis(cells: Cell[], opts: SubmitOptions, hooks: ExecutorHooks): Promise<void> {
  if (cells.length === 0) return;
  await checkRedis(opts.url);
  const connection = redisConnection(opts.url);
  const name = opts.queue ?? DEFAULT_QUEUE;
  const log = opts.log ?? (() => {});
  const queue = new Queue<QueueJobData, CellResult>(name, { connection });
  const events = new QueueEvents(name, { connection });
  queue.on('error', (e) => log(`queue: ${e.message}`));
  events.on('error', (e) => log(`queue events: ${e.message}`));
  const byId = new Map(cells.map((c) => [c.id, c]));
  const pending = new Set(cells.map((c) => c.id));
  const active = new Set<string>();
  const collecting = new Set<string>();
  let wake: () => void = () => {};
  const report = () => hooks.onRunning?.(active.size);

  const finish = (cell: Cell, result: CellResult) => {
    if (!pending.delete(cell.id)) return;
    active.delete(cell.id);
    hooks.onResult(cell, result);
    report();
    if (pending.size === 0) wake();
  };

  const enqueue = async (list: Cell[]) => {
    for (let i = 0; i < list.length; i += 500) {
      await queue.addBulk(
        list.slice(i, i + 500).map((cell) => ({
          name: cell.kind,
          data: { cell },
          opts: { jobId: jobIdOf(cell.id), removeOnComplete: { age: 7 * 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 } },
        })),
      );
    }
  };

  // Look at one cell's job: collect it if finished, enqueue it again if it vanished.
  const reconcile = async (cellId: string, state?: string) => {
    if (!pending.has(cellId) || collecting.has(cellId)) return;
    collecting.add(cellId);
    try {
      const jobId = jobIdOf(cellId);
      state ??= await queue.getJobState(jobId);
      const cell = byId.get(cellId)!;
      if (state === 'completed' || state === 'failed') {
        const job = await Job.fromId<QueueJobData, CellResult>(queue, jobId);
        if (!job) return;
        const result =
          state === 'completed' && job.returnvalue && (job.returnvalue as CellResult).id === cellId
            ? (job.returnvalue as CellResult)
            : failedResult(cell, new Error(job.failedReason || 'the job failed without a result'), 0, job.processedBy ?? 'queue');
        finish(cell, result);
        await job.remove().catch(() => {});
      } else if (state === 'unknown') {
        await enqueue([cell]);
      } else if (state === 'active') {
        active.add(cellId);
      }
    } finally {
      collecting.delete(cellId);
    }
  };

  const reconcileAll = async () => {
    const ids = [...pending];
    for (let i = 0; i < ids.length; i += 100) await Promise.all(ids.slice(i, i + 100).map((id) => reconcile(id)));
    report();
  };

  const onEvent = (jobId: string, what: 'active' | 'finished' | 'waiting') => {
    if (!jobId.startsWith('c-')) return;
    const id = cellIdOf(jobId);
    if (!pending.has(id)) return;
    if (what === 'active') active.add(id);
    else if (what === 'waiting') active.delete(id);
    report();
    if (what === 'finished') reconcile(id).catch((e) => log(`collecting cell ${id}: ${(e as Error).message}`));
  };
  events.on('active', ({ jobId }) => onEvent(jobId, 'active'));
  events.on('completed', ({ jobId }) => onEvent(jobId, 'finished'));
  events.on('failed', ({ jobId }) => onEvent(jobId, 'finished'));
  events.on('waiting', ({ jobId }) => onEvent(jobId, 'waiting'));
  events.on('stalled', ({ jobId }) => onEvent(jobId, 'waiting'));

  try {
    await events.waitUntilReady();
    // Existing jobs of these cells: finished ones are collected, failed ones enqueued afresh.
    const states: string[] = [];
    for (let i = 0; i < cells.length; i += 1000)
      states.push(...(await Promise.all(cells.slice(i, i + 1000).map((c) => queue.getJobState(jobIdOf(c.id))))));
    const fresh: Cell[] = [];
    for (let i = 0; i < cells.length; i++) {
      const s = states[i];
      if (s === 'failed') {
        await queue.remove(jobIdOf(cells[i].id)).catch(() => {});
        fresh.push(cells[i]);
      } else if (s === 'unknown') fresh.push(cells[i]);
    }
    await enqueue(fresh);
    await Promise.all(cells.map((c, i) => (states[i] === 'completed' ? reconcile(c.id, 'completed') : undefined)));
    const pollMs = opts.pollMs ?? 2000;
    const onAbort = () => wake();
    opts.signal?.addEventListener('abort', onAbort);
    try {
      while (pending.size > 0 && !opts.signal?.aborted) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, pollMs);
        });
        clearTimeout(timer);
        if (pending.size > 0 && !opts.signal?.aborted) await reconcileAll();
      }
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    opts.signal?.throwIfAborted();
  } finally {
    await events.close().catch(() => {});
    await queue.close().catch(() => {});
  }
}

export interface WorkerOptions extends StallOptions {
  url: string;
  queue?: string;
  /** Cells run at once on this machine (worker threads). */
  concurrency?: number;
  modules: Record<string, string>;
  runRoot: string;
  /**
   * Delete each cell's run directory (train checkpoints) once its result is handed back, done or failed
   * (a failed cell retried later starts afresh). Without it a worker keeps them, so that a cell recovered
   * from a killed worker on this machine resumes from its checkpoint.
   */
  cleanRuns?: boolean;
  /** Stop after this many milliseconds without a cell (never by default). */
  idleExitMs?: number;
  log?: (message: string) => void;
}

export interface WorkerHandle {
  /** Stop taking cells, finish the running ones, release the threads. */
  close(): Promise<void>;
  /** Resolves when the worker has stopped (close() or idle exit). */
  closed: Promise<void>;
  /** Cells finished by this worker so far. */
  finished(): number;
}

/**
 * Why this machine cannot run the cell next to `concurrency − 1` others like it (sample and train cells,
 * estimated as a local sweep does), or null. The cell is then recorded as failed instead of taking the
 * worker down out of memory.
 */
export function cellMemoryProblem(cell: Cell, concurrency: number): string | null {
  let bytes = 0;
  try {
    bytes = cellBytes(cell.kind, makeSpec(cell.spec as SpecInput));
  } catch {
    return null; // a bad spec fails in the cell itself, with its own message
  }
  const need = bytes * concurrency;
  const have = machineMemory();
  if (need <= have) return null;
  return `needs ≈ ${formatBytes(need)} of memory (${formatBytes(bytes)} per cell × --concurrency ${concurrency}); this worker's machine has ${formatBytes(have)}; lower --concurrency or run the cell where it fits`;
}

/** Take cells from the queue until closed. Each cell runs on a worker thread of this process. */
export async function startWorker(opts: WorkerOptions): Promise<WorkerHandle> {
  await checkRedis(opts.url);
  const connection = redisConnection(opts.url);
  const name = opts.queue ?? DEFAULT_QUEUE;
  const concurrency = opts.concurrency ?? 1;
  const log = opts.log ?? (() => {});
  // the threads start now (before the worker takes a job) and stay while it runs: a cell never waits for one
  const pool = makePool(CELL_WORKER_URL, concurrency, 60_000, concurrency);
  let running = 0;
  let finished = 0;
  let lastActivity = Date.now();
  const worker = new Worker<QueueJobData, CellResult>(
    name,
    async (job) => {
      const cell = job.data?.cell;
      running++;
      lastActivity = Date.now();
      log(
        `cell ${cell?.id} (${cell?.kind}) started${job.attemptsStarted > 1 || job.stalledCounter > 0 ? ` again (recovered from a stalled worker ${job.stalledCounter}×)` : ''}`,
      );
      try {
        if (!cell || typeof cell !== 'object' || typeof cell.id !== 'string')
          return failedResult({ id: cellIdOf(job.id ?? 'c-?') }, new Error('job without a cell'));
        const tooBig = cellMemoryProblem(cell, concurrency);
        if (tooBig) {
          const r = failedResult(cell, new Error(tooBig));
          log(`cell ${cell.id} failed: ${tooBig}`);
          finished++;
          return r;
        }
        const task: CellTask = { cell, modules: opts.modules, runRoot: opts.runRoot };
        let r: CellResult;
        try {
          r = (await pool.run(task)) as CellResult;
        } catch (e) {
          r = failedResult(cell, e);
        }
        log(`cell ${cell.id} ${r.status}${r.error ? `: ${r.error}` : ''} (${(r.ms / 1000).toFixed(2)} s)`);
        if (opts.cleanRuns) rmSync(join(opts.runRoot, cell.id), { recursive: true, force: true });
        finished++;
        return r;
      } finally {
        running--;
        lastActivity = Date.now();
      }
    },
    {
      connection,
      concurrency,
      name: `${hostname()}:${process.pid}`,
      lockDuration: opts.lockDuration ?? STALL_DEFAULTS.lockDuration,
      stalledInterval: opts.stalledInterval ?? STALL_DEFAULTS.stalledInterval,
      maxStalledCount: opts.maxStalledCount ?? STALL_DEFAULTS.maxStalledCount,
      drainDelay: 1,
    },
  );
  worker.on('error', (e) => log(`error: ${e.message}`));
  await worker.waitUntilReady();
  let closing: Promise<void> | undefined;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const close = () => {
    closing ??= (async () => {
      clearInterval(idleTimer);
      await worker.close();
      await pool.destroy();
      resolveClosed();
    })();
    return closing;
  };
  const idleTimer = setInterval(() => {
    if (opts.idleExitMs !== undefined && running === 0 && Date.now() - lastActivity > opts.idleExitMs) {
      log(`idle for ${(opts.idleExitMs / 1000).toFixed(1)} s: stopping`);
      void close();
    }
  }, 200);
  return { close, closed, finished: () => finished };
}
