// The worker-thread module of the sweep pools (piscina): a task is one cell, or a batch of cells run one after
// another in this thread (one message each way for many small cells; each cell exactly as on its own).
import { type CellResult, type CellTask, runCell } from './cell.js';
import type { Cell } from './sweepFile.js';

/** Cells for one thread, in order; the results come back together, in the same order. */
export interface CellBatchTask extends Omit<CellTask, 'cell'> {
  cells: Cell[];
}

export async function runCells(task: CellBatchTask): Promise<CellResult[]> {
  const out: CellResult[] = [];
  for (const cell of task.cells) out.push(await runCell({ cell, modules: task.modules, runRoot: task.runRoot, stop: task.stop }));
  return out;
}

export default function (task: CellTask | CellBatchTask): Promise<CellResult | CellResult[]> {
  return 'cells' in task ? runCells(task) : runCell(task);
}
