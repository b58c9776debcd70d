// signalprop compare <inputs…>: the gap between theory, sampled and trained records, per quantity.
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { nearestName } from '../../network/index.js';
import { checkOutPath, numberFlag, progress, UsageError, writeFileAtomic } from '../io.js';

export const JOIN_FIELDS = [
  'specId',
  'depth',
  'width',
  'batch',
  'order',
  'activation',
  'init',
  'sigmaW2',
  'sigmaB2',
  'gamma',
  'beta',
  'eps',
  'residual',
];

/** --tolerance 0.05, or per quantity: growth=0.02,corr=0.1,*=0.05 */
export function parseTolerance(raw: string | undefined): number | Record<string, number> | undefined {
  if (raw === undefined) return undefined;
  if (!raw.includes('=')) return numberFlag('--tolerance', raw, { min: 0 });
  const out: Record<string, number> = {};
  for (const part of raw.split(',')) {
    const [q, v] = part.split('=');
    if (!q || v === undefined)
      throw new UsageError(
        `--tolerance: "${part}" is not allowed; expected a number, or quantity=number pairs separated by commas (* for the default)`,
      );
    out[q.trim()] = numberFlag(`--tolerance ${q.trim()}`, v, { min: 0 })!;
  }
  return out;
}

export function parseJoin(raw: string | undefined): 'specId' | string[] | undefined {
  if (raw === undefined || raw === 'specId') return raw as 'specId' | undefined;
  const fields = raw.split(',').map((s) => s.trim());
  for (const f of fields) {
    if (!JOIN_FIELDS.includes(f))
      throw new UsageError(`--join: "${f}" is not allowed; expected specId or comma-separated spec fields from ${JOIN_FIELDS.join(', ')}`);
  }
  return fields;
}

/** Record-loading and comparison problems are the user's input: one line, exit 2. */
export async function asUsage<T>(f: () => Promise<T> | T): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof Error && ['RecordsError', 'FigureError', 'RenderError'].includes(e.name)) throw new UsageError(e.message);
    throw e;
  }
}

export function register(program: Command): void {
  program
    .command('compare')
    .description(
      'Join theory, sampled and trained records on spec, quantity, layer and step; print the gap per quantity and write it as JSON and CSV',
    )
    .argument('<inputs...>', 'record files (.json array or .jsonl) or run directories (records.jsonl + manifest.json)')
    .option('--out <dir>', 'write compare.json (summary and pairs), compare-summary.csv and compare-pairs.csv here')
    .option('--tolerance <t>', 'relative tolerance: a pair agrees when |ln ratio| ≤ ln(1+t); or quantity=t,…,*=t (default 0.05)')
    .option(
      '--spread <k>',
      'a pair agrees when its gap is within the tolerance plus k × the combined 95% seed interval (default 1; the one agreement rule, src/records/agreement.ts)',
    )
    .option('--min-agree <f>', 'a quantity agrees when at least this fraction of its pairs agree (default 0.95)')
    .option('--join <fields>', 'specId (default) or comma-separated spec fields to join on, e.g. depth,batch,activation')
    .option('--by <tags>', 'comma-separated tag names that split groups, e.g. optimizer')
    .option('--quantities <list>', 'only these quantities (comma-separated)')
    .option('--json', 'print the summary as JSON on stdout instead of the table')
    .action(async (inputs: string[], opts: Record<string, any>) => {
      const { compareRecords, formatSummaryTable, loadRecords, pairsToCsv, summaryToCsv } = await import('../../compare/index.js');
      const options = {
        tolerance: parseTolerance(opts.tolerance),
        spreadLevel: numberFlag('--spread', opts.spread, { min: 0 }),
        minAgreeFraction: numberFlag('--min-agree', opts.minAgree, { min: 0, max: 1 }),
        joinOn: parseJoin(opts.join),
        by: opts.by
          ? String(opts.by)
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean)
          : undefined,
        quantities: opts.quantities
          ? String(opts.quantities)
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean)
          : undefined,
      };
      // the same file twice would count every pair twice
      const seenPaths = new Map<string, string>();
      for (const p of inputs) {
        let real = p;
        try {
          real = realpathSync(p);
        } catch {
          // a missing path is reported by loadRecords
        }
        const first = seenPaths.get(real);
        if (first !== undefined)
          throw new UsageError(`inputs: "${p}" is not allowed; expected each input once (it is the same file as "${first}")`);
        seenPaths.set(real, p);
      }
      checkOutPath('--out', opts.out, 'dir');
      const records = await asUsage(() => loadRecords(inputs));
      if (options.quantities) {
        const present = new Set(records.map((r) => String(r.quantity)));
        const missing = options.quantities.filter((q) => !present.has(q));
        if (missing.length) {
          const known = [...present].sort();
          throw new UsageError(
            `--quantities: "${missing[0]}" is not allowed; expected a quantity the records have${nearestName(missing[0], known) ? ` (did you mean "${nearestName(missing[0], known)}"?)` : ''}: ${known.join(', ')}`,
          );
        }
      }
      progress(`compare: ${records.length} records from ${inputs.length} input${inputs.length === 1 ? '' : 's'}`);
      const result = await asUsage(() => compareRecords(records, options));
      for (const nj of result.notJoined) {
        progress(
          `compare: not joined: ${nj.count} ${nj.reference}–${nj.measured} group${nj.count === 1 ? '' : 's'} of ${nj.quantity} (${nj.reason}: unlike settings are not compared)`,
        );
      }
      if (opts.out) {
        writeFileAtomic(join(opts.out, 'compare.json'), `${JSON.stringify(result, null, 1)}\n`);
        writeFileAtomic(join(opts.out, 'compare-summary.csv'), summaryToCsv(result.summary));
        writeFileAtomic(join(opts.out, 'compare-pairs.csv'), pairsToCsv(result.pairs));
        progress(`compare: wrote ${join(opts.out, 'compare.json')}, compare-summary.csv, compare-pairs.csv`);
      }
      process.stdout.write(opts.json ? `${JSON.stringify(result.summary, null, 1)}\n` : `${formatSummaryTable(result.summary)}\n`);
    });
}
