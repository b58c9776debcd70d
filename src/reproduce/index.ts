export {
  type CellExecutor,
  CellFailedError,
  type ExecutorOptions,
  jsonResult,
  localExecutor,
  type RedisExecutorOptions,
  redisExecutor,
  runCells,
  type SampleCellOptions,
  type SampledCell,
  sampleCell,
  sampledOf,
  type TrainedCell,
  trainCell,
  trainedOf,
} from './cells.js';
export * from './report.js';
export * from './runner.js';
export * from './study.js';
export * from './verdict.js';
