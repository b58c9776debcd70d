// runSweep: expand, skip finished cells, run the rest locally or on Redis, store, summarize.
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../io/files.js';
import type { CellResult } from './cell.js';
import { cellKindModules } from './kinds.js';
import { runLocal } from './local.js';
import { progressBar, type SweepProgress, silentProgress } from './progress.js';
import { checkRedis, runRedis, type SubmitOptions } from './redis.js';
import { type Cell, expandSweep, type Sweep, sweepToJSON } from './sweepFile.js';
import { SweepStore } from './store.js';

export interface RunSweepOptions {
  /** The sweep's store directory. */
  out: string;
  /** Local pool size (default: every core). Ignored with redis. */
  threads?: number;
  /** Run on BullMQ workers instead of the local pool. */
  redis?: Omit<SubmitOptions, 'log'>;
  /** Show a progress bar on stderr (default false in the API, true in the CLI). */
  progress?: boolean;
  /** Messages that are not results (notes, warnings); default: stderr. */
  log?: (message: string) => void;
  /** Where cells may write run directories (default <out>/runs). */
  runRoot?: string;
  /**
   * Keep records only: remove a finished cell's run directory (a train cell's checkpoints and its own copy
   * of the records) once its records are committed to the store. Local pool only (workers: --run-dir).
   */
  cleanRuns?: boolean;
  /**
   * Local pool: stop when aborted (e.g. on SIGINT). Finished cells stay stored, the running ones run
   * again on the next run of the sweep; the summary says `interrupted: true`. (With redis: redis.signal.)
   */
  signal?: AbortSignal;
}

export interface SweepFailure {
  id: string;
  seed: number;
  axes: Record<string, unknown>;
  error: string;
}

export interface SweepSummary {
  name: string;
  kind: string;
  out: string;
  /** Cells in the sweep, and their state after this run. */
  cells: number;
  done: number;
  failed: number;
  /** Cells already done before this run (skipped), and cells run now. */
  skipped: number;
  ran: number;
  /** Results that arrived for a cell already stored (ignored). */
  duplicates: number;
  /** Records of this sweep's cells in the store. */
  records: number;
  /** Done cells in the store that are not cells of this sweep (an older version of it). */
  foreignCells: number;
  seconds: number;
  cellsPerMinute: number;
  executor: 'local' | 'redis';
  failures: SweepFailure[];
  /** Stopped by `signal` before every cell ran: the same sweep run again continues it. */
  interrupted?: true;
}

function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Run a validated sweep into its store; finished cells are skipped, failed ones run again. */
export async function runSweep(sweep: Sweep, opts: RunSweepOptions): Promise<SweepSummary> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const cells = await expandSweep(sweep);
  if (opts.redis) await checkRedis(opts.redis.url); // before anything is written
  const out = resolve(opts.out);
  const store = SweepStore.open(out);
  const t0 = performance.now();
  let duplicates = 0;
  let finished = 0;
  let failed = 0;
  let progress: SweepProgress = silentProgress;
  try {
    if (store.repaired.cellsBytes || store.repaired.recordsBytes) {
      log(
        `note: repaired ${out} after an interrupted run (dropped ${store.repaired.cellsBytes} + ${store.repaired.recordsBytes} bytes of uncommitted cells)`,
      );
    }
    writeJsonAtomic(join(out, 'sweep.json'), { ...sweepToJSON(sweep), cells: cells.length });
    const pending = cells.filter((c) => !store.isDone(c.id));
    const skipped = cells.length - pending.length;
    if (opts.progress) progress = progressBar(pending.length, skipped, sweep.name);
    let running = 0;
    const hooks = {
      onResult(cell: Cell, result: CellResult) {
        if (!store.put(sweep.name, cell, result)) {
          duplicates++;
          return;
        }
        finished++;
        if (result.status === 'failed') failed++;
        else if (opts.cleanRuns && !opts.redis) rmSync(join(runRoot, cell.id), { recursive: true, force: true });
        progress.update(finished, failed, running);
      },
      onRunning(n: number) {
        running = n;
        progress.update(finished, failed, running);
      },
    };
    const modules = cellKindModules();
    const runRoot = resolve(opts.runRoot ?? join(out, 'runs'));
    if (opts.redis) await runRedis(pending, { ...opts.redis, log }, hooks);
    else await runLocal(pending, { threads: opts.threads, modules, runRoot, signal: opts.signal }, hooks);
    progress.stop();

    const ids = new Set(cells.map((c) => c.id));
    const entries = cells.map((c) => store.entry(c.id));
    const failures: SweepFailure[] = [];
    cells.forEach((c, i) => {
      const e = entries[i];
      if (e?.status === 'failed') failures.push({ id: c.id, seed: c.seed, axes: c.axes, error: e.error ?? '' });
    });
    const seconds = (performance.now() - t0) / 1000;
    const summary: SweepSummary = {
      name: sweep.name,
      kind: sweep.kind,
      out,
      cells: cells.length,
      done: entries.filter((e) => e?.status === 'done').length,
      failed: failures.length,
      skipped,
      ran: finished,
      duplicates,
      records: entries.reduce((n, e) => n + (e?.status === 'done' ? e.records : 0), 0),
      foreignCells: store.allEntries().filter((e) => e.status === 'done' && !ids.has(e.id)).length,
      seconds,
      cellsPerMinute: seconds > 0 ? (finished / seconds) * 60 : 0,
      executor: opts.redis ? 'redis' : 'local',
      failures,
      ...(!opts.redis && opts.signal?.aborted && finished + duplicates < pending.length ? { interrupted: true as const } : {}),
    };
    // records in cell order, not completion order (unless interrupted: the next run sorts them)
    if (!summary.interrupted) store.sortByCell();
    writeJsonAtomic(join(out, 'summary.json'), summary);
    return summary;
  } finally {
    progress.stop();
    store.close();
  }
}
