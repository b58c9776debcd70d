// Cell kind "train": a real training run of the cell's spec (src/train's trainRun). The sweep's options
// are the fields of a TrainConfig other than spec and seed (data, loss, optimizer, schedule, clip, steps,
// probe, backend, checkpointEvery); each cell is validated as a whole by the trainer's own
// resolveTrainConfig before anything runs. A cell interrupted by Ctrl-C checkpoints after its step in
// progress and the next attempt resumes its run directory (to the records of an uninterrupted run); a run
// directory that cannot be resumed (damaged, or another config's) is started afresh.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_RNG, LEGACY_RNG, type NetworkSpec, RNG_ALLOWED, type RngName, type SpecInput } from '../../network/index.js';
import { moduleUrl } from '../../parallel/moduleUrl.js';
import type { CellContext, CellOutput } from '../kinds.js';
import { loadModule } from '../load.js';
import { type Cell, SweepError } from '../sweepFile.js';

type TrainApi = typeof import('../../train/index.js');
type DataApi = typeof import('../../train/data/index.js');
let T: TrainApi;
let D: DataApi;

/** Load the trainer (tfjs included) once per thread. */
export async function init(): Promise<void> {
  T ??= await loadModule<TrainApi>(moduleUrl('../../train/index.js', import.meta.url).href);
  D ??= await loadModule<DataApi>(moduleUrl('../../train/data/index.js', import.meta.url).href);
}

export const optionFields: Record<string, string> = {
  steps: 'an integer from 1 to 100000000 (required)',
  data: "'synthetic' | 'mnist' | 'csv:<path>' or a data object",
  loss: 'xent | mse',
  optimizer: 'an optimizer name or {kind, lr, ...}',
  schedule: 'a schedule name or {kind, warmupSteps, ...}',
  clip: 'null, a max norm, or {kind: global | layer, maxNorm}',
  probe: 'a probe schedule {dense, perDecade, every, enabled} or false',
  backend: 'auto | native | wasm | cpu | node | node-gpu (native is also accepted as blas or openblas)',
  checkpointEvery: 'an integer >= 1',
  rng: `${RNG_ALLOWED} (default '${DEFAULT_RNG}'; always written, so that it is part of the cell id)`,
};

/** The trainer's errors carry field, value and allowed; name the field as the sweep's. */
function asSweepError(e: unknown): never {
  const x = e as { name?: string; field?: string; value?: unknown; allowed?: string };
  if (x && x.name === 'TrainConfigError' && typeof x.field === 'string') throw new SweepError(x.field, x.value, x.allowed ?? '');
  throw e;
}

export function resolveOptions(o: Record<string, unknown>): Record<string, unknown> {
  if (o.steps === undefined) throw new SweepError('steps', undefined, optionFields.steps);
  try {
    // The options alone, against a tiny spec whose input dimension follows the data.
    T.resolveTrainConfig({ spec: { depth: 1, width: 2, batch: 2 }, ...(o as object), steps: o.steps as number, seed: 1 });
  } catch (e) {
    asSweepError(e);
  }
  // rng is always written: a cell of another generator draws another network, so it is another cell
  return { ...o, rng: o.rng ?? DEFAULT_RNG };
}

/** Without an explicit inputDim, the network's input dimension is the data's. */
export function prepareSpec(input: SpecInput, options: Record<string, unknown>): SpecInput {
  if (input.inputDim !== undefined) return input;
  const dd = D.dataDim(D.makeDataConfig(options.data));
  return dd === null ? input : { ...input, inputDim: dd };
}

export function checkCell(spec: NetworkSpec, options: Record<string, unknown>, seed: number): void {
  try {
    T.resolveTrainConfig({ ...(options as object), spec: spec as SpecInput, steps: options.steps as number, seed });
  } catch (e) {
    asSweepError(e);
  }
}

export async function run(cell: Cell, ctx: CellContext): Promise<CellOutput> {
  await init();
  // a cell stored before the generator was named has no rng: it was drawn with MT19937
  const rng = (cell.options.rng ?? LEGACY_RNG) as RngName;
  const config = { ...(cell.options as object), spec: cell.spec as SpecInput, steps: cell.options.steps as number, seed: cell.seed, rng };
  const opts = { runDir: ctx.runDir, threads: 1, ...(ctx.signal ? { signal: ctx.signal } : {}), log: () => {} };
  let r: Awaited<ReturnType<TrainApi['trainRun']>> | undefined;
  if (existsSync(join(ctx.runDir, 'manifest.json'))) {
    try {
      r = await T.trainRun(config, { ...opts, resume: true });
    } catch (e) {
      // not resumable (no intact checkpoint, another config): start afresh below
      if ((e as { name?: string }).name !== 'TrainConfigError') throw e;
    }
  }
  if (!r) {
    rmSync(ctx.runDir, { recursive: true, force: true });
    r = await T.trainRun(config, opts);
  }
  const info = { status: r.status, steps: r.steps, final: r.final, ...(r.divergedAt !== undefined ? { divergedAt: r.divergedAt } : {}) };
  if (r.status === 'interrupted') return { records: [], info, interrupted: true };
  return { records: r.records, info };
}
