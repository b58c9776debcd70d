// signalprop's public API: `import { ... } from 'signalprop'`. Each room re-exports its surface.
export * from './network/index.js';
export * from './records/index.js';
export * from './reproduce/index.js';
export * from './compare/index.js';
export * from './figures/index.js';
export * from './train/index.js';
export * from './sample/index.js';
export * from './theory/index.js';
export * from './sweep/index.js';
export * from './parallel/pool.js';
