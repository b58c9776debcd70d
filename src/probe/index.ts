// signalprop's probe room: per-layer probes on a user's own TensorFlow.js model or training step.
export { probeVariables, type VariableProber, type WeightGroup } from './loop.js';
export { type ProbeContext, type ProbeLoss, type ProbeOptions, type ProbeTags, probeContext } from './options.js';
export { type ProbedLayer, type Prober, probe } from './probe.js';
export { asRows, sumSq } from './stats.js';
export {
  describe,
  type Description,
  type DescribeOptions,
  initVariance,
  type LayerInput,
  loadModel,
  ModelFileError,
  type ModelLayerMap,
  type Overlay,
  type OverlayBlock,
  type OverlayOptions,
  readModelArtifacts,
  saveModel,
  theoryOverlay,
  tfjsActivation,
  truncatedNormalVariance,
  blocksOfDescription,
  defaultLayerIndex,
  giaRecords,
  gradRatios,
  inputMoments,
} from './describe.js';
