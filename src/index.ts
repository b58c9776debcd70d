// signalprop's public API: `import { … } from 'signalprop'`. A curated list of what a researcher uses; each
// room's subpath (`signalprop/theory`, `signalprop/sample`, …) exports its whole surface for power users.
// Validate-and-default is one verb, parse…; it throws InputError (field, value, what is allowed) on bad input.
// Async only where there is I/O or threads (sampling, training, sweeps, figures, reproduce).

// the network description
export { InputError } from './network/errors.js';
export type { Layer } from './network/layers.js';
export { LAYER_KINDS, parseLayers } from './network/layers.js';
export { PRESET_NAMES } from './network/presets.js';
export type { NetworkSpec, SpecInput } from './network/spec.js';
export { makeSpec as parseSpec, specId, specToJSON } from './network/spec.js';

// theory (pure float64, browser-safe)
export type { Prediction } from './theory/predict.js';
export { predict } from './theory/predict.js';
export { bnGradientRate, largeBatchRate } from './theory/batchnorm.js';
export { bsb1Stability } from './theory/stability.js';
export { criticalLine, depthScales } from './theory/meanField.js';
export { jacobianSpectrumTheory } from './theory/spectrum.js';

// sampled random networks
export type { SampleOptions, SampleResult } from './sample/sampler.js';
export { sampleNetwork } from './sample/sampler.js';
export { sampleJacobianSpectrum } from './sample/spectrum.js';

// training with per-layer probes
export type { TrainConfig } from './train/config.js';
export { resolveTrainConfig as parseTrainConfig } from './train/config.js';
export type { ProbeConfig } from './train/probes.js';
export type { TrainOptions, TrainResult } from './train/run.js';
export { trainRun } from './train/run.js';

// probes and theory on a researcher's own tfjs model
export type { Prober, ProbeOptions } from './probe/index.js';
export { describe as describeModel, loadModel, probe, theoryOverlay } from './probe/index.js';

// records and their comparison
export type { Quantity, SPRecord } from './records/records.js';
export { QUANTITIES } from './records/records.js';
export { loadRecords } from './compare/load.js';
export { compareRecords } from './compare/compare.js';
export { summaryToMarkdown } from './compare/format.js';

// figures
export type { FigureName } from './figures/registry.js';
export { buildFigure, FIGURE_NAMES } from './figures/registry.js';
export { renderFigure } from './figures/render.js';

// sweeps
export { parseSweep } from './sweep/sweepFile.js';
export type { SweepSummary } from './sweep/run.js';
export { runSweep } from './sweep/run.js';

// the papers' claims
export type { Study, StudyOutcome } from './reproduce/index.js';
export { reproduce } from './reproduce/index.js';
