// Cell kind "predict": the mean-field theory of the cell's spec (src/theory's predict).
import { makeSpec, type NetworkSpec, type SPRecord, type SpecInput } from '../../spec/index.js';
import type { CellOutput } from '../kinds.js';
import { loadModule } from '../load.js';
import type { Cell } from '../spec.js';

interface TheoryApi {
  predict(spec: NetworkSpec): { records: SPRecord[]; predictedGrowth: number; depthScale: number };
}

export const optionFields: Record<string, string> = {};

export async function run(cell: Cell): Promise<CellOutput> {
  const { predict } = await loadModule<TheoryApi>(new URL('../../theory/index.ts', import.meta.url).href);
  const out = predict(makeSpec(cell.spec as SpecInput));
  return { records: out.records, info: { predictedGrowth: out.predictedGrowth, depthScale: out.depthScale } };
}
