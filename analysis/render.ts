// How reproduce writes its figures and HTML report: the figures room's renderer and report page.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderFigure, toolVersions, writeReport } from '../src/figures/index.js';
import { type FigureRenderer, fmt, type StudyOutcome } from '../src/reproduce/index.js';

export function studyRenderer(): FigureRenderer {
  return {
    render: (fig, outDir, opts) => renderFigure(fig.vl as any, outDir, fig.name, opts?.formats ? { formats: opts.formats } : {}),
    html: async (outcomes: StudyOutcome[], _markdown: string, outPath: string, outDir: string) => {
      const figures = outcomes.flatMap((o) =>
        o.figures.map((f) => ({
          name: f.name,
          title: `${o.title}`,
          caption: f.caption,
          svg: readFileSync(join(outDir, `${f.name}.svg`), 'utf8'),
        })),
      );
      const tables = outcomes.flatMap((o) => [
        {
          title: `${o.title} — verdict: ${o.verdict}`,
          note: o.statement,
          header: ['item', 'predicted', 'measured', '± se', 'tolerance', 'verdict', 'why'],
          rows: o.rows.map((r) => [
            r.item,
            fmt(r.predicted),
            fmt(r.measured),
            r.se === undefined ? '–' : fmt(r.se),
            Number.isFinite(r.relTol) ? `${(100 * r.relTol).toFixed(1)}%` : '–',
            r.verdict,
            r.reason,
          ]),
        },
        ...o.tables.map((t) => ({
          title: `${o.title}: ${t.title}`,
          header: t.header,
          rows: t.rows.map((row) => row.map((c) => (typeof c === 'number' ? fmt(c) : c))),
        })),
      ]);
      writeReport(outPath, {
        title: 'signalprop reproduction report',
        intro:
          'Paik & Choi (2023) and Yang et al. (2019), put to the test: theory against measurement. Every number was produced by `signalprop reproduce`; see REPORT.md beside this file for the same content in Markdown.',
        figures,
        tables,
        records: outcomes.flatMap((o) => o.records),
        versions: toolVersions(),
      });
    },
  };
}
