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
  status: 'done' | 'failed';
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
    if (cell.v !== CELL_VERSION) throw new Error(`cell format v${cell.v} is not supported by this worker (v${CELL_VERSION}); update signalprop on the worker`);
    if (!(cell.kind in task.modules)) {
      throw new Error(`cell kind "${cell.kind}" is unknown to worker ${worker}; known: ${Object.keys(task.modules).join(', ')} (register custom kinds with --runner kind=module)`);
    }
    const mod = await loadCellKind(cell.kind, task.modules);
    const runDir = join(task.runRoot, cell.id);
    mkdirSync(task.runRoot, { recursive: true });
    const ctx: CellContext = { runDir, worker };
    const out = await mod.run(cell, ctx);
    const records = checkRecords(out?.records);
    return { id: cell.id, status: 'done', records, info: out.info, ms: performance.now() - t0, worker };
  } catch (e) {
    return failedResult(cell, e, performance.now() - t0, worker);
  }
}
