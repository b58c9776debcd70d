// Moved to src/train/data/ (one file per source); kept until the sweep's train runner imports data/index.ts.
export * from './data/index.js';
