// The studies' expensive work as sweep cells: the same cells (kinds sample and train) that `signalprop sweep`
// runs, on one executor interface — the local worker pool (--threads) or BullMQ workers on Redis (--redis),
// whose workers are plain `signalprop worker`s. A study builds its cells, runs them all at once, and assembles
// its verdict and figures from the cells' records (the sweep runners' records).
//
// Results reach the study in their JSON form whichever executor ran them (Redis carries JSON): a record value
// that is not a finite number arrives as NaN, from the pool as from Redis, so that the study sees the same
// numbers from either. Finished cells can be kept in a directory by cell id and reused (a paper-scale run
// that stopped continues where it was).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../io/files.js';
import type { Piscina } from 'piscina';
import type { NetworkSpec, SpecInput } from '../network/index.js';
import { specToJSON } from '../network/index.js';
import type { SPRecord } from '../records/records.js';
import type { CellResult } from '../sweep/cell.js';
import type { Cell } from '../sweep/sweepFile.js';
import type { StudyContext } from './study.js';

/** A cell that ended failed: the study cannot go on without its records. */
export class CellFailedError extends Error {
  constructor(
    readonly cell: Cell,
    readonly detail: string,
  ) {
    super(`cell ${cell.id} (${cell.kind}) failed: ${detail}`);
    this.name = 'CellFailedError';
  }
}

/** Where cells run: the local pool or Redis. */
export interface CellExecutor {
  readonly kind: 'local' | 'redis';
  /**
   * Run cells (duplicates by id run once); resolves with one result per cell, in the cells' order, each in
   * its JSON form. Rejects with CellFailedError when a cell fails.
   */
  run(cells: Cell[], onDone?: (done: number, total: number) => void): Promise<CellResult[]>;
  /** Remove what the executor made (its temporary run directories). */
  close(): Promise<void>;
}

export interface ExecutorOptions {
  /** Keep each finished cell's result here (<dir>/<cell id>.json) and reuse it on the next run. */
  cellCache?: string;
  /** With cellCache: write results there but do not reuse earlier ones (--fresh). */
  fresh?: boolean;
  /** Where local train cells write their run directories (default: a temporary directory, removed on close). */
  runRoot?: string;
}

export interface RedisExecutorOptions extends ExecutorOptions {
  url: string;
  queue?: string;
  pollMs?: number;
  log?: (message: string) => void;
}

/** A result in its JSON form; a record value that is not a number (NaN, ±∞ in JSON) is NaN. */
export function jsonResult(r: CellResult): CellResult {
  const j = JSON.parse(JSON.stringify(r)) as CellResult;
  for (const x of j.records) if (typeof x.value !== 'number') (x as { value: number }).value = Number.NaN;
  return j;
}

/** How long an idle thread of a local executor's pool waits for the next study's cells. */
const IDLE_MS = 120_000;

type RunUnique = (cells: Cell[], onResult: (cell: Cell, result: CellResult) => void) => Promise<void>;

function executor(kind: 'local' | 'redis', opts: ExecutorOptions, runUnique: RunUnique, close: () => Promise<void>): CellExecutor {
  const cachePath = (id: string) => join(opts.cellCache!, `${id}.json`);
  return {
    kind,
    async run(cells, onDone) {
      const byId = new Map<string, CellResult>();
      const todo: Cell[] = [];
      const seen = new Set<string>();
      for (const c of cells) {
        if (seen.has(c.id)) continue;
        seen.add(c.id);
        if (opts.cellCache && !opts.fresh && existsSync(cachePath(c.id)))
          byId.set(c.id, JSON.parse(readFileSync(cachePath(c.id), 'utf8')) as CellResult);
        else todo.push(c);
      }
      const total = seen.size;
      let failure: CellFailedError | null = null;
      await runUnique(todo, (cell, result) => {
        if (result.status !== 'done') {
          failure ??= new CellFailedError(cell, result.error ?? result.status);
          return;
        }
        const j = jsonResult(result);
        byId.set(cell.id, j);
        if (opts.cellCache) writeFileAtomic(cachePath(cell.id), JSON.stringify(j));
        onDone?.(byId.size, total);
      });
      if (failure) throw failure;
      // cached results went through JSON already; records' non-numbers back to NaN
      return cells.map((c) => jsonResult(byId.get(c.id)!));
    },
    close,
  };
}

/** Cells on a pool of `threads` worker threads (src/sweep/local.ts). */
export function localExecutor(threads: number, opts: ExecutorOptions = {}): CellExecutor {
  let tmp: string | null = null;
  // one pool for every run of this executor, its threads kept warm between a run and the next (a thread
  // costs seconds to start in a checkout, more than a tiny study's cells take); ended by close()
  let pool: Piscina | null = null;
  const runRoot = () => {
    if (opts.runRoot) return resolve(opts.runRoot);
    tmp ??= mkdtempSync(join(tmpdir(), 'sp-reproduce-runs-'));
    return tmp;
  };
  return executor(
    'local',
    opts,
    async (cells, onResult) => {
      if (cells.length === 0) return;
      const { CELL_WORKER_URL, runLocal } = await import('../sweep/local.js');
      const { cellKindModules } = await import('../sweep/kinds.js');
      const { makePool } = await import('../parallel/pool.js');
      const root = runRoot();
      pool ??= makePool(CELL_WORKER_URL, Math.max(1, threads), IDLE_MS);
      await runLocal(
        cells,
        { threads, modules: cellKindModules(), runRoot: root, pool },
        {
          onResult: (cell, result) => {
            onResult(cell, result);
            // records are kept; a train cell's run directory (checkpoints) is not needed any more
            rmSync(join(root, cell.id), { recursive: true, force: true });
          },
        },
      );
    },
    async () => {
      const p = pool;
      pool = null;
      await p?.destroy();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
      tmp = null;
    },
  );
}

/** Cells as BullMQ jobs on Redis, run by `signalprop worker`s anywhere (src/sweep/redis.ts). */
export function redisExecutor(opts: RedisExecutorOptions): CellExecutor {
  return executor(
    'redis',
    opts,
    async (cells, onResult) => {
      if (cells.length === 0) return;
      const { runRedis } = await import('../sweep/redis.js');
      await runRedis(cells, { url: opts.url, queue: opts.queue, pollMs: opts.pollMs, log: opts.log }, { onResult });
    },
    async () => {},
  );
}

/** One cell of a kind, validated and id'd exactly as `signalprop sweep` expands a one-cell sweep. */
async function oneCell(kind: string, base: SpecInput, options: Record<string, unknown>, seed: number): Promise<Cell> {
  const { expandSweep } = await import('../sweep/sweepFile.js');
  const cells = await expandSweep({ name: 'reproduce', kind, base, options, axes: [], seeds: [seed] });
  return cells[0];
}

const dropUndefined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

export interface SampleCellOptions {
  /** Networks K: seeds baseSeed … baseSeed + K − 1. */
  seeds: number;
  /** The first network's seed (default 1); must be 1 more than a multiple of K (a cell's seeds are (s−1)·K+1 … s·K). */
  baseSeed?: number;
  loss?: string;
  inputCorrelation?: number;
  /** false: the cell skips the theory's predicted growth (its info says null), e.g. a conv Monte Carlo the study does not use. */
  theory?: boolean;
}

/** A sample cell: sampleNetwork(spec, {seeds, baseSeed, loss, inputCorrelation}) on one thread. */
export async function sampleCell(spec: NetworkSpec | SpecInput, o: SampleCellOptions): Promise<Cell> {
  const base = o.baseSeed ?? 1;
  if ((base - 1) % o.seeds !== 0)
    throw new Error(`sampleCell: baseSeed ${base} is not (s − 1)·${o.seeds} + 1 for a cell seed s; a cell samples seeds (s−1)·K+1 … s·K`);
  const input = 'init' in spec && 'bn' in spec && typeof (spec as NetworkSpec).depth === 'number' ? specToJSON(spec as NetworkSpec) : spec;
  const options = dropUndefined({ seedsPerCell: o.seeds, loss: o.loss, inputCorrelation: o.inputCorrelation, theory: o.theory });
  return oneCell('sample', input as SpecInput, options, (base - 1) / o.seeds + 1);
}

/** A train cell: trainRun(config) on one thread; `config` as a TrainConfig (spec, seed, steps and the rest). */
export async function trainCell(config: { spec: SpecInput; seed: number; steps: number } & Record<string, unknown>): Promise<Cell> {
  const { spec, seed, ...rest } = config;
  return oneCell('train', spec, dropUndefined(rest), seed);
}

/** What a study reads from a sample cell's result (as sampleNetwork returns it). */
export interface SampledCell {
  records: SPRecord[];
  measuredGrowth: number;
  measuredGrowthSE: number;
  /** The loss the sampler used (its records' tag). */
  loss: string;
}

const num = (x: unknown) => (typeof x === 'number' ? x : Number.NaN);

export function sampledOf(r: CellResult): SampledCell {
  return {
    records: r.records,
    measuredGrowth: num(r.info?.measuredGrowth),
    measuredGrowthSE: num(r.info?.measuredGrowthSE),
    loss: String(r.records[0]?.tags?.loss ?? ''),
  };
}

/** What a study reads from a train cell's result (as trainRun returns it). */
export interface TrainedCell {
  records: SPRecord[];
  status: 'completed' | 'diverged' | 'interrupted';
  divergedAt: number | null;
  final: { loss: number; accuracy: number; testLoss?: number; testAccuracy?: number };
}

export function trainedOf(r: CellResult): TrainedCell {
  const info = (r.info ?? {}) as Record<string, unknown>;
  const f = (info.final ?? {}) as Record<string, unknown>;
  const final = { ...f, loss: num(f.loss), accuracy: num(f.accuracy) } as TrainedCell['final'];
  if (f.testLoss !== undefined) final.testLoss = num(f.testLoss);
  if (f.testAccuracy !== undefined) final.testAccuracy = num(f.testAccuracy);
  return {
    records: r.records,
    status: info.status as TrainedCell['status'],
    divergedAt: typeof info.divergedAt === 'number' ? info.divergedAt : null,
    final,
  };
}

/**
 * Run a study's cells on its executor (the local pool of ctx.threads threads when the context has none);
 * results in the cells' order.
 */
export async function runCells(ctx: StudyContext, cells: Cell[]): Promise<CellResult[]> {
  const ex = ctx.cells ?? localExecutor(ctx.threads);
  try {
    return await ex.run(cells, (d, t) => ctx.progress(`cells done ${d}/${t} (${ex.kind})`));
  } finally {
    if (!ctx.cells) await ex.close();
  }
}
