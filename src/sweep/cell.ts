// Running one cell: load its kind, run it, and turn any error into a failed result (never a throw),
// so that one bad cell neither kills a worker nor stops a sweep.
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import type { SPRecord } from '../records/index.js';
import { type CellContext, loadCellKind } from './kinds.js';
import { CELL_VERSION, type Cell } from './sweepFile.js';

/** What a worker reports for a cell. Records are the kind's own; the store adds the sweep's tags. */
export interface CellResult {
  id: string;
  /** interrupted: stopped by the sweep's stop flag before it finished (not stored; it runs again). */
  status: 'done' | 'failed' | 'interrupted';
  records: SPRecord[];
  info?: Record<string, unknown>;
  error?: string;
  ms: number;
  worker: string;
}

/** A task for a worker thread: the cell, the kind modules known to the sender, where runs may write. */
export interface CellTask {
  cell: Cell;
  modules: Record<string, string>;
  runRoot: string;
  /**
   * The sweep's stop flag (local sweeps): an Int32Array over a SharedArrayBuffer, set to 1 by the main thread
   * on Ctrl-C. A cell not yet started does not start; a running one sees it as ctx.signal.
   */
  stop?: Int32Array;
}

/** How often a cell's thread looks at the stop flag. */
const STOP_POLL_MS = 50;

/** An AbortSignal that fires when the flag is set (polled; the thread may be busy in between). */
function watchStop(stop: Int32Array | undefined): { signal?: AbortSignal; done(): void } {
  if (!stop) return { done() {} };
  const ac = new AbortController();
  const timer = setInterval(() => {
    if (Atomics.load(stop, 0) !== 0) ac.abort();
  }, STOP_POLL_MS);
  timer.unref?.();
  return { signal: ac.signal, done: () => clearInterval(timer) };
}

export function workerName(): string {
  return `${hostname()}:${process.pid}:${threadId}`;
}

export function failedResult(cell: Pick<Cell, 'id'>, error: unknown, ms = 0, worker = workerName()): CellResult {
  const msg = error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
  return { id: cell.id, status: 'failed', records: [], error: msg, ms, worker };
}

function checkRecords(records: unknown): SPRecord[] {
  if (!Array.isArray(records)) throw new Error(`cell kind returned ${typeof records} for records; expected an array of SPRecord`);
  for (const r of records) {
    if (!r || typeof r !== 'object' || typeof (r as SPRecord).quantity !== 'string' || typeof (r as SPRecord).value !== 'number') {
      throw new Error(`cell kind returned a record without a string quantity and a numeric value: ${JSON.stringify(r).slice(0, 200)}`);
    }
  }
  return records as SPRecord[];
}

/** Run one cell. Never throws: errors become {status: 'failed', error}. */
export async function runCell(task: CellTask): Promise<CellResult> {
  const t0 = performance.now();
  const { cell } = task;
  const worker = workerName();
  try {
    if (cell.v !== CELL_VERSION)
      throw new Error(`cell format v${cell.v} is not supported by this worker (v${CELL_VERSION}); update signalprop on the worker`);
    if (!(cell.kind in task.modules)) {
      throw new Error(
        `cell kind "${cell.kind}" is unknown to worker ${worker}; known: ${Object.keys(task.modules).join(', ')} (register custom kinds with --runner kind=module)`,
      );
    }
    if (task.stop && Atomics.load(task.stop, 0) !== 0) return { id: cell.id, status: 'interrupted', records: [], ms: 0, worker };
    const mod = await loadCellKind(cell.kind, task.modules);
    const runDir = join(task.runRoot, cell.id);
    mkdirSync(task.runRoot, { recursive: true });
    const watch = watchStop(task.stop);
    try {
      const ctx: CellContext = { runDir, worker, ...(watch.signal ? { signal: watch.signal } : {}) };
      const out = await mod.run(cell, ctx);
      if (out?.interrupted) return { id: cell.id, status: 'interrupted', records: [], info: out.info, ms: performance.now() - t0, worker };
      const records = checkRecords(out?.records);
      return { id: cell.id, status: 'done', records, info: out.info, ms: performance.now() - t0, worker };
    } finally {
      watch.done();
    }
  } catch (e) {
    return failedResult(cell, e, performance.now() - t0, worker);
  }
}
