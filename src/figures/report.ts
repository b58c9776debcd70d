// One self-contained HTML page: figures as inline SVG, tables, the specs used, versions. No external references.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { version as vegaVersion } from 'vega';
import { version as vegaLiteVersion } from 'vega-lite';
import { type CompareOptions, compareRecords, fmtNum, SUMMARY_COLUMNS } from '../compare/index.js';
import type { SPRecord } from '../records/index.js';
import { FigureError, type FigureOptions, figureNotes, groupBy } from './common.js';
import { buildFigure, FIGURE_NAMES, FIGURES, type FigureName } from './registry.js';
import { renderSvg, writeAtomic } from './render.js';

export interface ReportFigure {
  name: string;
  title: string;
  svg: string;
  caption?: string;
  /** What the figure left out of the records and why (also in its caption). */
  notes?: string[];
}

export interface ReportTable {
  title: string;
  header: string[];
  rows: (string | number | boolean | null)[][];
  note?: string;
}

export interface ReportInput {
  title?: string;
  intro?: string;
  figures: ReportFigure[];
  tables?: ReportTable[];
  /** Records whose specs are listed (one row per specId). */
  records?: SPRecord[];
  versions?: Record<string, string>;
  /** Figures that could not be built, with the reason. */
  skipped?: { name: string; reason: string }[];
}

const esc = (s: unknown) =>
  String(s ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

/** Versions of signalprop and its rendering stack, for the report's footer. */
export function toolVersions(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const pkgVersion = (p: string) => {
    try {
      return JSON.parse(readFileSync(require.resolve(`${p}/package.json`), 'utf8')).version as string;
    } catch {
      return 'unknown';
    }
  };
  const own = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return {
    signalprop: own.version,
    'vega-lite': vegaLiteVersion,
    vega: vegaVersion,
    '@resvg/resvg-js': pkgVersion('@resvg/resvg-js'),
    node: process.version,
  };
}

/**
 * Make an SVG safe to inline next to others in one HTML page: drop the namespace URIs (HTML5 inline SVG needs none)
 * and prefix every id and its references, so clip paths and gradients of two figures never collide.
 */
export function inlineSvg(svg: string, prefix: string): string {
  let s = svg.replace(/^<\?xml[^>]*>\s*/, '').replace(/\s+xmlns(:\w+)?="[^"]*"/g, '');
  const ids = [...s.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
  for (const id of new Set(ids)) {
    const q = id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    s = s
      .replace(new RegExp(`id="${q}"`, 'g'), `id="${prefix}-${id}"`)
      .replace(new RegExp(`url\\(#${q}\\)`, 'g'), `url(#${prefix}-${id})`)
      .replace(new RegExp(`href="#${q}"`, 'g'), `href="#${prefix}-${id}"`);
  }
  return s;
}

function tableHtml(t: ReportTable): string {
  const head = `<tr>${t.header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const body = t.rows.map((r) => `<tr>${r.map((c) => `<td>${esc(typeof c === 'number' ? fmtNum(c) : c)}</td>`).join('')}</tr>`).join('\n');
  return `<h3>${esc(t.title)}</h3>${t.note ? `<p class="note">${esc(t.note)}</p>` : ''}<table>${head}\n${body}</table>`;
}

const SPEC_COLUMNS = [
  'specId',
  'order',
  'activation',
  'depth',
  'width',
  'batch',
  'init',
  'sigmaW2',
  'sigmaB2',
  'gamma',
  'beta',
  'eps',
  'residual',
];

/** One row per spec in the records, with its record counts per source. */
export function specsTable(records: SPRecord[]): ReportTable {
  const rows: ReportTable['rows'] = [];
  for (const [, g] of groupBy(records, (r) => String(r.specId))) {
    const r0 = g[0] as any;
    const counts = ['theory', 'sampled', 'trained'].map((s) => g.filter((r) => r.source === s).length);
    rows.push([...SPEC_COLUMNS.map((c) => (r0[c] === null ? (c === 'batch' ? '∞' : 'none') : (r0[c] ?? ''))), ...counts]);
  }
  return { title: 'Specs used', header: [...SPEC_COLUMNS, 'theory records', 'sampled records', 'trained records'], rows };
}

const STYLE = `body{font-family:"DejaVu Sans",system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#1a1a1a}
figure{margin:2em 0;border-top:1px solid #ddd;padding-top:1em}figure svg{max-width:100%;height:auto}
figcaption{color:#555;font-size:0.9em}table{border-collapse:collapse;font-size:0.85em;margin:0.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
.note{color:#555;font-size:0.9em}.skipped{color:#8a4b00}`;

/** The report as one HTML string (no scripts, no external URLs). */
export function reportHtml(input: ReportInput): string {
  const title = input.title ?? 'signalprop report';
  const versions = input.versions ?? toolVersions();
  const figs = input.figures
    .map(
      (f, i) =>
        `<figure id="fig-${esc(f.name)}"><h2>${i + 1}. ${esc(f.title)}</h2>\n${inlineSvg(f.svg, `f${i + 1}`)}\n${f.caption ? `<figcaption>${esc(f.caption)}</figcaption>` : ''}</figure>`,
    )
    .join('\n');
  const toc = input.figures.map((f, i) => `<li><a href="#fig-${esc(f.name)}">${i + 1}. ${esc(f.title)}</a></li>`).join('');
  const tables = (input.tables ?? []).map(tableHtml).join('\n');
  const specs = input.records?.length ? tableHtml(specsTable(input.records)) : '';
  const skipped = input.skipped?.length
    ? `<h3>Figures not drawn</h3><ul class="skipped">${input.skipped.map((s) => `<li>${esc(s.name)}: ${esc(s.reason)}</li>`).join('')}</ul>`
    : '';
  const vers = Object.entries(versions)
    .map(([k, v]) => `${esc(k)} ${esc(v)}`)
    .join(' · ');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${STYLE}</style></head>
<body><h1>${esc(title)}</h1>${input.intro ? `<p>${esc(input.intro)}</p>` : ''}
<ul>${toc}</ul>
${figs}
${skipped}
${tables}
${specs}
<p class="note">Generated by ${vers}. Figures regenerate from the records alone.</p>
</body></html>
`;
}

/** Write the report atomically. */
export function writeReport(path: string, input: ReportInput): void {
  writeAtomic(path, reportHtml(input));
}

export interface BuildReportOptions {
  title?: string;
  intro?: string;
  /** Figures to try (default: all); those whose records are missing are listed as not drawn. */
  figures?: FigureName[];
  figureOptions?: Partial<Record<FigureName, FigureOptions>>;
  compare?: CompareOptions;
}

/** Build every figure the records support, the comparison summary and the specs table, as a ReportInput. */
export async function buildReport(records: SPRecord[], opts: BuildReportOptions = {}): Promise<ReportInput> {
  const figures: ReportFigure[] = [];
  const skipped: { name: string; reason: string }[] = [];
  for (const name of opts.figures ?? FIGURE_NAMES) {
    let vl: ReturnType<typeof buildFigure>;
    try {
      vl = buildFigure(name, records, opts.figureOptions?.[name] ?? {});
    } catch (e) {
      if (e instanceof FigureError) {
        skipped.push({ name, reason: e.message });
        continue;
      }
      throw e;
    }
    const sub = (vl as any).title?.subtitle;
    figures.push({
      name,
      title: FIGURES[name].title,
      svg: await renderSvg(vl),
      caption: Array.isArray(sub) ? sub.join(' ') : sub,
      notes: figureNotes(vl),
    });
  }
  const cmp = compareRecords(records, opts.compare);
  const tables: ReportTable[] = [];
  if (cmp.summary.length) {
    tables.push({
      title: 'Theory against measurement',
      note: `Pairs joined on ${Array.isArray(cmp.options.joinOn) ? cmp.options.joinOn.join(', ') : 'specId'}, quantity, layer and step. A pair agrees when its gap is within the tolerance plus ${cmp.options.spreadLevel}× the combined 95% seed interval (the one agreement rule of compare, reproduce and the tests); a quantity agrees when ≥ ${cmp.options.minAgreeFraction * 100}% of its pairs do.`,
      header: [...SUMMARY_COLUMNS],
      rows: cmp.summary.map((s) => SUMMARY_COLUMNS.map((c) => s[c])),
    });
  }
  return { title: opts.title ?? 'signalprop report', intro: opts.intro, figures, tables, records, skipped };
}
