export * from './activation.js';
export * from './random.js';
export * from './special.js';
export * from './spec.js';
export * from './loss.js';
export * from './suggest.js';
export * from './stats.js';
