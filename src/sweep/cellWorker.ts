// The worker-thread module of the sweep pools (piscina): one task = one cell.
import { type CellResult, type CellTask, runCell } from './cell.js';

export default function (task: CellTask): Promise<CellResult> {
  return runCell(task);
}
