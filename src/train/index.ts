// signalprop's training room: real training on TensorFlow.js with per-layer probes.
export { BACKENDS, type BackendInfo, type BackendName, initBackend } from './backend.js';
export { type ResolvedTrainConfig, resolveTrainConfig, TRAIN_CONFIG_SCHEMA, type TrainConfig } from './config.js';
export {
  type CsvData,
  DATA_KINDS,
  type DataConfig,
  type Dataset,
  dataDim,
  type HostBatch,
  loadData,
  type MnistData,
  makeDataConfig,
  permutation,
  type SyntheticData,
} from './data/index.js';
export { TrainConfigError } from './errors.js';
export { combineFactors, type Degeneracy, degeneracyOf, F32_UNIT_ROUNDOFF, type GradientFactors, type UnitSums } from './factors.js';
export { compileExpression, EXPR_FUNCTIONS, EXPR_SUBSET, tfActivation } from './activations.js';
export {
  batchNorm,
  batchNormEval,
  exactFactorsApply,
  FACTOR_BLOCK,
  layerNorm,
  linear,
  rmsNorm,
  TRAIN_LAYERS,
  type TrainLayer,
} from './layers/index.js';
export { accuracyOf, lossTensor, TRAIN_LOSSES, type TrainLoss } from './loss.js';
export { type Capture, emptyCapture, kernelFromRowMajor, Mlp, type ParamInfo } from './model.js';
export {
  CLIP_KINDS,
  type ClipConfig,
  type ClipInput,
  clipFactors,
  lalcFactor,
  lambTrust,
  larsTrust,
  makeClipConfig,
  makeOptimizerConfig,
  OPTIMIZER_SCHEMAS,
  OPTIMIZERS,
  Optimizer,
  type OptimizerConfig,
  type OptimizerInput,
  type OptimizerKind,
  optimizerOptions,
} from './optim.js';
export {
  type ColumnStats,
  columnStatsHost,
  DEFAULT_PROBES,
  makeProbeConfig,
  PROBE_SCHEMA,
  type ProbeConfig,
  type ProbeInput,
  ProbeSchedule,
  sampleCorrelationHost,
  unitCorrelationHost,
} from './probes.js';
export { type Manifest, type TrainOptions, type TrainResult, trainRun } from './run.js';
export { makeSchedule, SCHEDULE_SCHEMAS, SCHEDULES, type ScheduleConfig, type ScheduleInput, scheduleFactor } from './schedule.js';
export { batchTargets, gradientsOf, Trainer, unitCorrelation } from './trainer.js';
