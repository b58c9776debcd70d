// The local executor: every pending cell on a worker-thread pool (piscina) sized to the cores.
import type { Piscina } from 'piscina';
import { defaultThreads, makePool } from '../parallel/pool.js';
import { type CellResult, type CellTask, failedResult } from './cell.js';
import type { Cell } from './sweepFile.js';
import { moduleUrl } from '../parallel/moduleUrl.js';

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
   * call: starting one costs seconds in a checkout); `threads` is then the pool's own size. Default: a pool made
   * for this call and ended with it.
   */
  pool?: Piscina;
}

/** How long an interrupted sweep waits for its running cells to checkpoint or finish. */
export const STOP_GRACE_MS = 20_000;

/** Run cells on a pool of worker threads; resolves when every cell has a result. */
export async function runLocal(cells: Cell[], opts: LocalOptions, hooks: ExecutorHooks): Promise<void> {
  if (cells.length === 0) return;
  const threads = opts.pool ? opts.pool.options.maxThreads : Math.max(1, Math.min(opts.threads ?? defaultThreads(), cells.length));
  const pool = opts.pool ?? makePool(CELL_WORKER_URL, threads);
  let inFlight = cells.length;
  const running = () => hooks.onRunning?.(Math.min(threads, inFlight - pool.queueSize));
  const timer = setInterval(running, 250);
  let destroyed: Promise<void> | null = null;
  const destroy = () => {
    destroyed ??= pool.destroy();
    return destroyed;
  };
  // the caller's pool stays open unless an interrupted cell outlived the grace period
  let graceEnded = false;
  // abort: raise the stop flag (queued cells return at once, train cells checkpoint), then end the threads
  // after the grace period; what rejects then is not reported
  const stop = new Int32Array(new SharedArrayBuffer(4));
  let grace: ReturnType<typeof setTimeout> | undefined;
  const onAbort = () => {
    Atomics.store(stop, 0, 1);
    grace = setTimeout(() => {
      graceEnded = true;
      void destroy();
    }, STOP_GRACE_MS);
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();
  try {
    await Promise.all(
      cells.map(async (cell) => {
        const task: CellTask = { cell, modules: opts.modules, runRoot: opts.runRoot, stop };
        let result: CellResult;
        try {
          result = (await pool.run(task)) as CellResult;
        } catch (e) {
          if (opts.signal?.aborted) return; // abandoned, not failed
          // The thread itself died (e.g. out of memory): the cell failed, the pool goes on.
          result = failedResult(cell, e);
        }
        inFlight--;
        if (result.status === 'interrupted') return; // stopped by the flag: not stored, it runs (resumes) again
        hooks.onResult(cell, result);
        running();
      }),
    );
  } finally {
    clearInterval(timer);
    if (grace) clearTimeout(grace);
    opts.signal?.removeEventListener('abort', onAbort);
    if (!opts.pool || graceEnded) await destroy();
  }
}
