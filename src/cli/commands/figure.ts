// signalprop figure <name> --from <records…> --out <dir>: one figure (or all) as .vl.json and the asked formats.
import type { Command } from 'commander';
import { checkOutPath, numberFlag, progress, UsageError } from '../io.js';
import { asUsage } from './compare.js';

/** `--layers 2-10` or `2,3,5` or `2-4,8`: positive integers. */
export function parseLayers(raw: string | undefined): number[] | undefined {
  if (raw === undefined) return undefined;
  const out = new Set<number>();
  for (const part of String(raw).split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    const a = m ? Number(m[1]) : Number.NaN;
    const b = m?.[2] !== undefined ? Number(m[2]) : a;
    if (!(a >= 0 && b >= a && b - a <= 100000))
      throw new UsageError(`--layers: "${raw}" is not allowed; expected layer numbers or ranges, e.g. 2-10 or 2,3,5`);
    for (let l = a; l <= b; l++) out.add(l);
  }
  return [...out].sort((x, y) => x - y);
}

const CORR = ['corr', 'unit_corr'];

export function register(program: Command): void {
  program
    .command('figure')
    .description('Draw a figure from records alone: writes <name>.vl.json (data inline, as drawn) and <name>.svg/.png/.pdf')
    .argument(
      '<name>',
      'gradient-vs-depth | lambda-vs-batch | depth-batch-heatmap | activation-rate | early-training | optimizer-comparison | jacobian-spectrum | phase-diagram | symmetry-breaking | gradient-factors | updates | all',
    )
    .requiredOption('--from <inputs...>', 'record files (.json, .jsonl) or run directories')
    .option('--out <dir>', 'output directory', 'figures')
    .option('--format <list>', 'comma-separated: svg, png, pdf', 'svg,png')
    .option('--size <size>', 'column (3.25 in), full (6.75 in) or <width>x<height> in inches; implies --theme paper')
    .option('--theme <theme>', 'report (title and caption) | paper (8 pt text, thin lines, no title block)')
    .option('--font-size <pt>', 'tick-label size (pt at a paper size, px otherwise); titles scale with it')
    .option('--quantity <q>', 'plot this quantity instead of the figure default')
    .option('--spec-id <id>', 'only records of this spec')
    .option('--layers <list>', 'layers to average over (early-training, gradient-factors), e.g. 2-10')
    .option('--corr <q>', 'correlation drawn by early-training: corr (between samples) | unit_corr (between units)')
    .option('--title <text>', 'figure title')
    .option('--scale <s>', 'PNG pixels per SVG pixel (default 2; 300 per inch at a paper size)')
    .action(async (name: string, opts: Record<string, any>) => {
      const { FIGURE_NAMES, FIGURES, buildFigure, renderFigure } = await import('../../figures/index.js');
      const { parseFormats, parseSize, THEMES } = await import('../../figures/paper.js');
      const { loadRecords } = await import('../../compare/index.js');
      const allowed = [...FIGURE_NAMES, 'all'];
      if (!allowed.includes(name)) throw new UsageError(`figure: "${name}" is not allowed; expected one of ${allowed.join(', ')}`);
      const scale = numberFlag('--scale', opts.scale, { min: 0.1, max: 8 });
      const formats = await asUsage(() => parseFormats('--format', String(opts.format)));
      const size = opts.size === undefined ? undefined : await asUsage(() => parseSize('--size', String(opts.size)));
      const fontSize = numberFlag('--font-size', opts.fontSize, { min: 4, max: 40 });
      if (opts.theme !== undefined && !(THEMES as readonly string[]).includes(opts.theme))
        throw new UsageError(`--theme: "${opts.theme}" is not allowed; expected ${THEMES.join(' | ')}`);
      const layers = parseLayers(opts.layers);
      if (opts.corr !== undefined && !CORR.includes(opts.corr))
        throw new UsageError(`--corr: "${opts.corr}" is not allowed; expected ${CORR.join(' | ')}`);
      checkOutPath('--out', opts.out, 'dir');
      const records = await asUsage(() => loadRecords(opts.from));
      const figOpts = { quantity: opts.quantity, specId: opts.specId, title: opts.title, layers, corrQuantity: opts.corr };
      const names = name === 'all' ? FIGURE_NAMES : [name as (typeof FIGURE_NAMES)[number]];
      let drawn = 0;
      for (const n of names) {
        let vl: ReturnType<typeof buildFigure>;
        try {
          vl = buildFigure(n, records, figOpts);
        } catch (e) {
          if (name === 'all' && (e as Error).name === 'FigureError') {
            progress(`figure ${n}: skipped (${(e as Error).message})`);
            continue;
          }
          return asUsage(() => {
            throw e;
          });
        }
        let files: Awaited<ReturnType<typeof renderFigure>>;
        try {
          files = await renderFigure(vl, opts.out, n, { scale, formats, size, theme: opts.theme, fontSize });
        } catch (e) {
          // `all`: a figure that cannot be drawn at this size is skipped with the reason, the others still drawn
          if (name === 'all' && (e as Error).name === 'RenderError') {
            progress(`figure ${n}: skipped (${(e as Error).message})`);
            continue;
          }
          return asUsage(() => {
            throw e;
          });
        }
        progress(`figure ${n}: ${FIGURES[n].title}`);
        // what the figure left out of the records, and why (the same notes are in the figure)
        for (const note of files.notes) progress(`figure ${n}: note: ${note}`);
        const paths = [files.vl, files.svg, files.png, files.pdf].filter((p): p is string => p !== undefined);
        process.stdout.write(`${paths.join('\n')}\n`);
        drawn++;
      }
      if (drawn === 0) throw new UsageError(`figure all: no figure could be drawn from these records (see the reasons above)`);
    });
}
