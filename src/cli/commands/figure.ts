// signalprop figure <name> --from <records…> --out <dir>: one figure (or all) as .vl.json, .svg and .png.
import type { Command } from 'commander';
import { checkOutPath, numberFlag, progress, UsageError } from '../io.js';
import { asUsage } from './compare.js';

export function register(program: Command): void {
  program
    .command('figure')
    .description('Draw a figure from records alone: writes <name>.vl.json (data inline), <name>.svg and <name>.png')
    .argument(
      '<name>',
      'gradient-vs-depth | lambda-vs-batch | depth-batch-heatmap | activation-rate | early-training | optimizer-comparison | jacobian-spectrum | phase-diagram | all',
    )
    .requiredOption('--from <inputs...>', 'record files (.json, .jsonl) or run directories')
    .option('--out <dir>', 'output directory', 'figures')
    .option('--quantity <q>', 'plot this quantity instead of the figure default')
    .option('--spec-id <id>', 'only records of this spec')
    .option('--title <text>', 'figure title')
    .option('--scale <s>', 'PNG pixels per SVG pixel (default 2)')
    .action(async (name: string, opts: Record<string, any>) => {
      const { FIGURE_NAMES, FIGURES, buildFigure, renderFigure } = await import('../../figures/index.js');
      const { loadRecords } = await import('../../compare/index.js');
      const allowed = [...FIGURE_NAMES, 'all'];
      if (!allowed.includes(name)) throw new UsageError(`figure: "${name}" is not allowed; expected one of ${allowed.join(', ')}`);
      const scale = numberFlag('--scale', opts.scale, { min: 0.1, max: 8 });
      checkOutPath('--out', opts.out, 'dir');
      const records = await asUsage(() => loadRecords(opts.from));
      const figOpts = { quantity: opts.quantity, specId: opts.specId, title: opts.title };
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
        const files = await asUsage(() => renderFigure(vl, opts.out, n, { scale }));
        progress(`figure ${n}: ${FIGURES[n].title}`);
        process.stdout.write(`${files.vl}\n${files.svg}\n${files.png}\n`);
        drawn++;
      }
      if (drawn === 0) throw new UsageError(`figure all: no figure could be drawn from these records (see the reasons above)`);
    });
}
