// Cell kind "sample": real random networks of the cell's spec at initialization (src/sample's
// sampleNetwork), one thread per cell. A cell with seed s and seedsPerCell K samples the networks of
// seeds (s−1)·K+1 … s·K, so that the cells of seeds 1, 2, 3, … draw disjoint networks. BLAS runs on one
// thread per cell.
import {
  checkRng,
  DEFAULT_RNG,
  LEGACY_RNG,
  LOSSES,
  type LossKind,
  makeSpec,
  type NetworkSpec,
  RNG_ALLOWED,
  type RngName,
  type SpecInput,
} from '../../network/index.js';
import { moduleUrl } from '../../parallel/moduleUrl.js';
import type { CellOutput } from '../kinds.js';
import { loadModule } from '../load.js';
import { type Cell, SweepError } from '../sweepFile.js';

export const optionFields: Record<string, string> = {
  seedsPerCell: 'an integer from 1 to 10000: networks sampled per cell (seeds derived from the cell seed)',
  loss: `${LOSSES.join(' | ')}, or null for the sampler's default (readout; projection where a readout would be constant)`,
  inputCorrelation: 'a number in [0, 1): within-batch correlation of the inputs',
  rng: `${RNG_ALLOWED}: the generator of the draws (default '${DEFAULT_RNG}'; always written, so that it is part of the cell id)`,
  theory:
    "true | false: whether the cell's info carries the theory's predicted growth (false skips the theory, e.g. a conv Monte Carlo; the records are the same)",
};

export function resolveOptions(o: Record<string, unknown>): Record<string, unknown> {
  const seedsPerCell = o.seedsPerCell ?? 1;
  if (!Number.isInteger(seedsPerCell) || (seedsPerCell as number) < 1 || (seedsPerCell as number) > 10000) {
    throw new SweepError('seedsPerCell', seedsPerCell, optionFields.seedsPerCell);
  }
  const loss = o.loss ?? null;
  if (loss !== null && !(LOSSES as readonly unknown[]).includes(loss)) throw new SweepError('loss', loss, optionFields.loss);
  const inputCorrelation = o.inputCorrelation ?? 0;
  if (typeof inputCorrelation !== 'number' || !(inputCorrelation >= 0 && inputCorrelation < 1)) {
    throw new SweepError('inputCorrelation', inputCorrelation, optionFields.inputCorrelation);
  }
  const theory = o.theory ?? true;
  if (typeof theory !== 'boolean') throw new SweepError('theory', theory, optionFields.theory);
  let rng: RngName;
  try {
    rng = checkRng(o.rng ?? DEFAULT_RNG);
  } catch {
    throw new SweepError('rng', o.rng, optionFields.rng);
  }
  // theory: true is the default and not written, so that the ids of earlier sweeps' cells stay the same; rng
  // is always written: a cell of another generator draws other networks, so it is another cell
  return { seedsPerCell, loss, inputCorrelation, rng, ...(theory ? {} : { theory: false }) };
}

export function checkSpec(spec: NetworkSpec): void {
  if (spec.batch === null) throw new SweepError('batch', null, 'an integer >= 2: sampled networks need a finite batch');
}

const baseSeed = (seed: number, k: number) => (seed - 1) * k + 1;

export function checkCell(_spec: NetworkSpec, options: Record<string, unknown>, seed: number): void {
  const k = options.seedsPerCell as number;
  if (baseSeed(seed, k) + k - 1 > 2147483647)
    throw new SweepError('seeds', seed, `seeds with (seed − 1)·seedsPerCell + seedsPerCell <= 2147483647 (seedsPerCell = ${k})`);
}

export async function run(cell: Cell): Promise<CellOutput> {
  const { kernels, sampleNetwork } = await loadModule<typeof import('../../sample/index.js')>(
    moduleUrl('../../sample/index.js', import.meta.url).href,
  );
  // One BLAS thread per cell: the sweep fills the cores with cells, and OpenBLAS's own threads (a
  // process-wide setting, every core by default) would oversubscribe them.
  kernels('auto').setThreads(1);
  const o = cell.options as { seedsPerCell: number; loss: LossKind | null; inputCorrelation: number; rng?: RngName; theory?: boolean };
  const r = await sampleNetwork(makeSpec(cell.spec as SpecInput), {
    seeds: o.seedsPerCell,
    baseSeed: baseSeed(cell.seed, o.seedsPerCell),
    loss: o.loss ?? undefined,
    inputCorrelation: o.inputCorrelation,
    // a cell stored before the generator was named has no rng: it was drawn with MT19937
    rng: o.rng ?? LEGACY_RNG,
    threads: 1,
    ...(o.theory === false ? { predictedGrowth: null } : {}),
  });
  return {
    records: r.records,
    info: { measuredGrowth: r.measuredGrowth, measuredGrowthSE: r.measuredGrowthSE, predictedGrowth: r.predictedGrowth, seeds: r.seeds },
  };
}
