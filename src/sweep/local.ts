// The local executor: every pending cell on a worker-thread pool (piscina) sized to the cores, kept warm
// between sweeps of one process; small cells go to the threads in batches.
import type { Piscina } from 'piscina';
import { moduleUrl } from '../parallel/moduleUrl.js';
import { defaultThreads, releasePool, warmPool } from '../parallel/pool.js';
import { type CellResult, type CellTask, failedResult } from './cell.js';
import type { CellBatchTask } from './cellWorker.js';
import type { Cell } from './sweepFile.js';

export const CELL_WORKER_URL = moduleUrl('./cellWorker.js', import.meta.url);

export interface ExecutorHooks {
  /** Called once per cell with its result, in completion order. */
  onResult(cell: Cell, result: CellResult): void;
  /** Number of cells currently running (for progress). */
  onRunning?(running: number): void;
}

export interface LocalOptions {
  threads?: number;
  modules: Record<string, string>;
  runRoot: string;
  /**
   * Stop when aborted: no new cell starts; the running ones get up to STOP_GRACE_MS to stop by themselves
   * (a train cell checkpoints after its step in progress and resumes next time; a cell that finishes in
   * that time is stored), then the threads end and what still runs is abandoned (it runs again next time).
   */
  signal?: AbortSignal;
  /**
   * A pool of CELL_WORKER_URL threads to run on, owned by the caller and left running (warm threads for the next
   * call: starting one costs seconds in a checkout); `threads` is then the pool's own size. Default: the
   * process's warm pool of `threads` threads (warmPool), left running for the next sweep.
   */
  pool?: Piscina;
}

/** How long an interrupted sweep waits for its running cells to checkpoint or finish. */
export const STOP_GRACE_MS = 20_000;

/**
 * A batch of cells should take about this long on its thread: cells far shorter than this (a tiny sampled net,
 * a theory cell) go to a thread several at a time, one message each way; a cell as long as this goes alone.
 */
export const BATCH_TARGET_MS = 250;
/** At most this many cells in one batch. */
export const MAX_BATCH = 64;

/**
 * How many cells to send to a thread next: ≈ BATCH_TARGET_MS of work at the mean cell time seen so far (one
 * cell until a result has come back), and at most a quarter of each thread's share of the cells not yet sent
 * (the batches shrink towards the end, so that no thread is left with a long batch while the others idle).
 */
export function batchSize(meanCellMs: number | null, remaining: number, threads: number): number {
  if (meanCellMs === null || remaining <= 1) return Math.min(1, remaining);
  const byTime = Math.floor(BATCH_TARGET_MS / Math.max(meanCellMs, 1e-3));
  const byShare = Math.ceil(remaining / (4 * threads));
  return Math.max(1, Math.min(byTime, byShare, MAX_BATCH, remaining));
}

/**
 * Run cells on a pool of worker threads; resolves when every cell has a result. Without opts.pool the cells
 * run on the process's warm pool of that size (src/parallel/pool.ts), whose threads (and what they loaded:
 * the kind modules, the addon) stay for the next sweep of this process.
 */
export async function runLocal(cells: Cell[], opts: LocalOptions, hooks: ExecutorHooks): Promise<void> {
  if (cells.length === 0) return;
  const threads = opts.pool ? opts.pool.options.maxThreads : Math.max(1, opts.threads ?? defaultThreads());
  const pool = opts.pool ?? warmPool(CELL_WORKER_URL, threads);
  let inFlight = 0; // cells sent and not yet back
  const running = () => hooks.onRunning?.(Math.min(threads, inFlight));
  const timer = setInterval(running, 250);
  // the pool stays open unless an interrupted cell outlived the grace period: then its threads end
  let graceEnded = false;
  let released: Promise<void> | null = null;
  const release = () => {
    released ??= releasePool(pool);
    return released;
  };
  // abort: raise the stop flag (queued cells return at once, train cells checkpoint), then end the threads
  // after the grace period; what rejects then is not reported
  const stop = new Int32Array(new SharedArrayBuffer(4));
  let grace: ReturnType<typeof setTimeout> | undefined;
  const onAbort = () => {
    Atomics.store(stop, 0, 1);
    grace = setTimeout(() => {
      graceEnded = true;
      void release();
    }, STOP_GRACE_MS);
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();
  const base = { modules: opts.modules, runRoot: opts.runRoot, stop };
  let msSum = 0;
  let msCount = 0;
  const report = (cell: Cell, result: CellResult) => {
    inFlight--;
    if (result.status === 'done') {
      msSum += result.ms;
      msCount++;
    }
    if (result.status === 'interrupted') return; // stopped by the flag: not stored, it runs (resumes) again
    hooks.onResult(cell, result);
    running();
  };
  const runOne = async (cell: Cell) => {
    let result: CellResult;
    try {
      result = (await pool.run({ ...base, cell } satisfies CellTask)) as CellResult;
    } catch (e) {
      if (opts.signal?.aborted) return; // abandoned, not failed
      // The thread itself died (e.g. out of memory): the cell failed, the pool goes on.
      result = failedResult(cell, e);
    }
    report(cell, result);
  };
  const runBatch = async (batch: Cell[]) => {
    if (batch.length === 1) return runOne(batch[0]);
    let results: CellResult[];
    try {
      results = (await pool.run({ ...base, cells: batch } satisfies CellBatchTask)) as CellResult[];
    } catch {
      if (opts.signal?.aborted) return;
      // The thread died somewhere in the batch: each cell again on its own, so that only the one that kills
      // a thread is failed (a batch is short by construction, so little is recomputed).
      await Promise.all(batch.map(runOne));
      return;
    }
    for (let i = 0; i < batch.length; i++) report(batch[i], results[i]);
  };
  // Self-scheduling: every thread has a batch and one more waits in the queue, so no thread waits for this
  // thread to send its next cells; each batch is sized from the cell times seen so far.
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < cells.length && !opts.signal?.aborted) {
      const k = batchSize(msCount ? msSum / msCount : null, cells.length - next, threads);
      const batch = cells.slice(next, next + k);
      next += k;
      inFlight += k;
      await runBatch(batch);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(cells.length, 2 * threads) }, lane));
  } finally {
    clearInterval(timer);
    if (grace) clearTimeout(grace);
    opts.signal?.removeEventListener('abort', onAbort);
    if (graceEnded) await release();
  }
}
