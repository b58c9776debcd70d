// Sweeps: grids of cells (sample | train | predict | custom kinds) on every core, or on many machines
// through BullMQ workers, into one records store per sweep.
export { type CellResult, type CellTask, runCell } from './cell.js';
export { type CellContext, type CellKindModule, type CellOutput, cellKindModules, loadCellKind, registerCellKind } from './kinds.js';
export { runLocal } from './local.js';
export { DEFAULT_QUEUE, KIND_RE, QUEUE_RE, STALL_DEFAULTS, type StallOptions } from './constants.js';
export { checkRedis, redactUrl, runRedis, type SubmitOptions, startWorker, type WorkerHandle, type WorkerOptions } from './redis.js';
export { type RunSweepOptions, runSweep, type SweepFailure, type SweepSummary } from './run.js';
export {
  type Axis,
  type Cell,
  CELL_VERSION,
  cellId,
  expandSweep,
  parseSweep,
  SPEC_ROOTS,
  type Sweep,
  SweepError,
  type SweepInput,
  sweepToJSON,
} from './sweepFile.js';
export { type CellEntry, cellTags, readSweepRecords, SweepStore } from './store.js';
