// sample: real random networks at finite width, at initialization, in float64.

export { type FiniteSizeOptions, finiteSizeStudy, fitInverse } from './finiteSize.js';
export { SAMPLE_LAYERS, type SampleLayer, type SampleLayerTable } from './layers/index.js';
export {
  type BackendChoice,
  isBackendChoice,
  type Kernels,
  kernels,
  nativeKernels,
  nativeKernelsError,
  SAMPLE_BACKENDS,
  tsKernels,
} from './linalg.js';
export {
  checkLoss,
  defaultLoss,
  type ForwardBackwardOptions,
  forwardBackward,
  type LayerStats,
  RoundOffGradientError,
  readoutConstantReason,
  roundOffBound,
  sampleNet,
} from './network.js';
export {
  chooseLoss,
  clearTheoryMemo,
  growthEstimate,
  interiorLayers,
  meanLogGrowth,
  type SampleOptions,
  type SampleResult,
  sampleNetwork,
  sampleRecords,
  seedList,
  theoryGrowth,
} from './sampler.js';
export * from './spectrum.js';
