// signalprop/theory: pure float64 signal-propagation theory (no tensors, no Node APIs).
export * from './quadrature.js';
export * from './closedForms.js';
export * from './moments.js';
export * from './sphere.js';
export * from './meanField.js';
export * from './batchnorm.js';
export * from './correlation.js';
export * from './predict.js';
export * from './interior.js';
export * from './stability.js';
export * from './gramDynamics.js';
export * from './spectrum.js';
export {
  THEORY_LAYERS,
  SPECTRUM_SUPPORT,
  type TheoryLayer,
  type Law,
  normProjection,
  radialWeight,
  normProjectionNote,
} from './layers/index.js';
export { predictTable } from './predictTable.js';
