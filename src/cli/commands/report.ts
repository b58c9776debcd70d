// signalprop report --from <records…> --out report.html: one self-contained HTML page that opens offline.
import type { Command } from 'commander';
import { checkOutPath, progress, UsageError } from '../io.js';
import { asUsage, parseJoin, parseTolerance } from './compare.js';

export function register(program: Command): void {
  program
    .command('report')
    .description(
      'Write one self-contained HTML report (figures as inline SVG, the comparison table, the specs used, versions); no network needed to open it',
    )
    .requiredOption('--from <inputs...>', 'record files (.json, .jsonl) or run directories')
    .option('--out <file>', 'HTML file to write', 'report.html')
    .option('--title <text>', 'report title')
    .option('--figures <list>', 'comma-separated figure names (default: every figure the records support)')
    .option('--tolerance <t>', 'comparison tolerance, as in `signalprop compare`')
    .option('--join <fields>', 'comparison join, as in `signalprop compare`')
    .action(async (opts: Record<string, any>) => {
      const { FIGURE_NAMES, buildReport, writeReport } = await import('../../figures/index.js');
      const { loadRecords } = await import('../../compare/index.js');
      let figures: (typeof FIGURE_NAMES)[number][] | undefined;
      if (opts.figures) {
        figures = String(opts.figures)
          .split(',')
          .map((s) => s.trim()) as typeof figures;
        for (const f of figures!)
          if (!(FIGURE_NAMES as string[]).includes(f))
            throw new UsageError(`--figures: "${f}" is not allowed; expected names from ${FIGURE_NAMES.join(', ')}`);
      }
      checkOutPath('--out', opts.out, 'file');
      // every flag checked before the records load (and before any progress line)
      const compare = { tolerance: parseTolerance(opts.tolerance), joinOn: parseJoin(opts.join) };
      const records = await asUsage(() => loadRecords(opts.from));
      progress(`report: ${records.length} records`);
      const input = await asUsage(() => buildReport(records, { title: opts.title, figures, compare }));
      for (const s of input.skipped ?? []) progress(`report: ${s.name} not drawn (${s.reason})`);
      for (const f of input.figures) for (const n of f.notes ?? []) progress(`report: ${f.name}: note: ${n}`);
      if (input.figures.length === 0 && (input.tables ?? []).length === 0)
        throw new UsageError('report: these records support no figure and no comparison (see the reasons above)');
      writeReport(opts.out, input);
      progress(`report: ${input.figures.length} figure${input.figures.length === 1 ? '' : 's'}`);
      process.stdout.write(`${opts.out}\n`);
    });
}
