// Tables of a comparison: aligned text for the terminal, CSV and markdown for files.
import type { ComparePair, CompareSummary } from './compare.js';

/** Compact number formatting for tables (4 significant digits; '' for null). */
export function fmtNum(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined) return '';
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(digits - 1);
  return Number(x.toPrecision(digits)).toString();
}

export const SUMMARY_COLUMNS = [
  'quantity',
  'reference',
  'measured',
  'nPairs',
  'nAgree',
  'fracAgree',
  'tolerance',
  'geoMeanRatio',
  'medianAbsLogError',
  'maxAbsLogError',
  'maxAbsZSd',
  'maxAbsZCi',
  'verdict',
] as const;

function summaryCells(s: CompareSummary): string[] {
  return SUMMARY_COLUMNS.map((c) => {
    const v = s[c];
    return typeof v === 'number' ? fmtNum(v) : v === null ? '' : String(v);
  });
}

/** Rows of strings as an aligned plain-text table. */
export function textTable(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(w[i]))
      .join('  ')
      .trimEnd();
  return [line(header), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

export function formatSummaryTable(summary: CompareSummary[]): string {
  if (summary.length === 0) return 'no pairs: no quantity was found in two sources for the same spec, layer and step';
  return textTable([...SUMMARY_COLUMNS], summary.map(summaryCells));
}

/** A GitHub-flavoured markdown table of the summary. */
export function summaryToMarkdown(summary: CompareSummary[]): string {
  const head = `| ${SUMMARY_COLUMNS.join(' | ')} |`;
  const sep = `|${SUMMARY_COLUMNS.map(() => '---').join('|')}|`;
  return [head, sep, ...summary.map((s) => `| ${summaryCells(s).join(' | ')} |`)].join('\n');
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(header: string[], rows: unknown[][]): string {
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

export function summaryToCsv(summary: CompareSummary[]): string {
  return toCsv(
    [...SUMMARY_COLUMNS],
    summary.map((s) => SUMMARY_COLUMNS.map((c) => s[c])),
  );
}

const PAIR_COLUMNS = [
  'quantity',
  'reference',
  'measured',
  'specKey',
  'layer',
  'step',
  'tags',
  'ref',
  'refSd',
  'refHalf95',
  'refN',
  'meas',
  'measSd',
  'measHalf95',
  'measN',
  'ratio',
  'logError',
  'diff',
  'zSd',
  'zCi',
  'withinTolerance',
  'agree',
];

export function pairsToCsv(pairs: ComparePair[]): string {
  return toCsv(
    PAIR_COLUMNS,
    pairs.map((p) => [
      p.quantity,
      p.reference,
      p.measured,
      p.specKey,
      p.layer,
      p.step,
      Object.keys(p.tags).length ? p.tags : '',
      p.ref.value,
      p.ref.sd,
      p.ref.half,
      p.ref.n,
      p.meas.value,
      p.meas.sd,
      p.meas.half,
      p.meas.n,
      p.ratio,
      p.logError,
      p.diff,
      p.zSd,
      p.zCi,
      p.withinTolerance,
      p.agree,
    ]),
  );
}
