// Cell kind "predict": the mean-field theory of the cell's spec (src/theory's predict).
import { makeSpec, type SpecInput } from '../../network/index.js';
import type { CellOutput } from '../kinds.js';
import { loadModule } from '../load.js';
import type { Cell } from '../sweepFile.js';
import { moduleUrl } from '../../parallel/moduleUrl.js';

type TheoryApi = typeof import('../../theory/index.js');

export const optionFields: Record<string, string> = {};

export async function run(cell: Cell): Promise<CellOutput> {
  const { predict } = await loadModule<TheoryApi>(moduleUrl('../../theory/index.js', import.meta.url).href);
  const out = predict(makeSpec(cell.spec as SpecInput));
  return {
    records: out.records,
    info: { predictedGrowth: out.predictedGrowth, depthScale: out.depthScale, logGrowthTotal: out.logGrowthTotal },
  };
}
