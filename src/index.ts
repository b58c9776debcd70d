// signalprop's public API: `import { ... } from 'signalprop'`. Each room re-exports its surface.
export * from './spec/index.js';
export * from './reproduce/index.js';
