// Compare: joins of theory / sampled / trained records, the gap of each pair, and tables of it.
export {
  type ComparePair,
  type CompareOptions,
  type CompareResult,
  type CompareSummary,
  compareRecords,
  isLogQuantity,
  pairErrors,
  type SideStat,
  sideStat,
  type CompareVerdict,
} from './compare.js';
export { fmtNum, formatSummaryTable, pairsToCsv, SUMMARY_COLUMNS, summaryToCsv, summaryToMarkdown } from './format.js';
export { loadRecords, RecordsError, validateRecord } from './load.js';
