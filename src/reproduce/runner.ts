// Runs reproduction studies: reuses finished results (unless fresh), writes figures, REPORT.md and report.html.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/files.js';
import { DEFAULT_RNG, recordedRng } from '../network/index.js';
import { type CellExecutor, localExecutor } from './cells.js';
import { reportMarkdown } from './report.js';
import type { Scale, Study, StudyFigure, StudyOutcome } from './study.js';
import { overall } from './verdict.js';

export interface FigureRenderer {
  /** Write <outDir>/<name>.vl.json and the asked formats (default .svg and .png); return their paths. */
  render: (
    fig: StudyFigure,
    outDir: string,
    opts?: { formats?: ('svg' | 'png' | 'pdf')[] },
  ) => Promise<{ vl: string; svg?: string; png?: string; pdf?: string }>;
  /** Write a self-contained HTML report. */
  html?: (outcomes: StudyOutcome[], markdown: string, outPath: string, outDir: string) => Promise<void>;
}

export interface ReproduceOptions {
  studies: Study[];
  scale: Scale;
  /** Ids to run; all when empty. */
  only?: string[];
  fresh?: boolean;
  /** Where figures, REPORT.md and report.html go. */
  outDir: string;
  /** Where finished study results are kept for reuse. */
  cacheDir: string;
  threads: number;
  /**
   * Where the studies' cells run (localExecutor, redisExecutor; src/reproduce/cells.ts). Default: a local pool of
   * `threads` threads, closed at the end. The caller closes one it passes.
   */
  executor?: CellExecutor;
  version: string;
  renderer?: FigureRenderer;
  /** Figure files to write (default svg and png; REPORT.md links the PNGs, report.html inlines the SVGs). */
  formats?: ('svg' | 'png' | 'pdf')[];
  progress?: (message: string) => void;
}

export function cachePath(cacheDir: string, id: string, scale: Scale): string {
  return join(cacheDir, `${id}.${scale}.json`);
}

export async function reproduce(opts: ReproduceOptions): Promise<StudyOutcome[]> {
  const log = opts.progress ?? (() => {});
  const selected = opts.only?.length ? opts.studies.filter((s) => opts.only!.includes(s.id)) : opts.studies;
  const outcomes: StudyOutcome[] = [];
  const cells = opts.executor ?? localExecutor(opts.threads);
  try {
    await runStudies();
  } finally {
    if (!opts.executor) await cells.close();
  }
  async function runStudies() {
    let i = 0;
    for (const study of opts.studies) {
      const cp = cachePath(opts.cacheDir, study.id, opts.scale);
      const wanted = selected.includes(study);
      if (!wanted) {
        // keep earlier results of other claims in the report when they exist (and were drawn as these are)
        if (existsSync(cp)) {
          const kept = JSON.parse(readFileSync(cp, 'utf8')) as StudyOutcome;
          if (recordedRng(kept) === DEFAULT_RNG) outcomes.push(kept);
        }
        continue;
      }
      i++;
      if (!opts.fresh && existsSync(cp)) {
        const cached = JSON.parse(readFileSync(cp, 'utf8')) as StudyOutcome;
        if (recordedRng(cached) === DEFAULT_RNG) {
          log(`[${i}/${selected.length}] ${study.id}: reusing results from ${cached.finishedAt} (--fresh to redo)`);
          outcomes.push(cached);
          continue;
        }
        log(`[${i}/${selected.length}] ${study.id}: cached results were drawn with ${recordedRng(cached)}, not ${DEFAULT_RNG}: redoing`);
      }
      log(`[${i}/${selected.length}] ${study.id}: ${study.title}`);
      const t0 = performance.now();
      const res = await study.run({ scale: opts.scale, threads: opts.threads, cells, progress: (m) => log(`  ${study.id}: ${m}`) });
      const outcome: StudyOutcome = {
        ...res,
        id: study.id,
        title: study.title,
        statement: study.statement,
        scale: opts.scale,
        verdict: overall(res.rows),
        seconds: (performance.now() - t0) / 1000,
        finishedAt: new Date().toISOString(),
        rng: DEFAULT_RNG,
      };
      writeFileAtomic(cp, JSON.stringify(outcome));
      log(`[${i}/${selected.length}] ${study.id}: ${outcome.verdict} (${outcome.seconds.toFixed(1)} s)`);
      outcomes.push(outcome);
    }
  }
  // figures, then the report over every outcome we have
  if (opts.renderer) {
    for (const o of outcomes) for (const f of o.figures) await opts.renderer.render(f, opts.outDir, { formats: opts.formats });
  }
  const md = reportMarkdown(outcomes, {
    version: opts.version,
    scale: opts.scale,
    rng: DEFAULT_RNG,
    date: new Date().toISOString().slice(0, 10),
    figureFile: (n) => `${n}.png`,
  });
  writeFileAtomic(join(opts.outDir, 'REPORT.md'), md);
  if (opts.renderer?.html) await opts.renderer.html(outcomes, md, join(opts.outDir, 'report.html'), opts.outDir);
  return outcomes;
}
