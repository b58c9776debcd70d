export * from './report.js';
export * from './runner.js';
export * from './study.js';
export * from './verdict.js';
