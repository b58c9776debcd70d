// `signalprop/spec`, the subpath before src/spec was split into src/network and src/records: both, for code
// written against it.
export * from '../network/index.js';
export * from './records.js';
