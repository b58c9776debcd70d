export * from './records.js';
export * from './agreement.js';
