// A Redis worker refuses a cell that cannot fit next to its --concurrency − 1 siblings (recorded as a failed
// cell, not an out-of-memory crash of the worker), with the same estimator as a local sweep.
import { afterEach, describe, expect, it } from 'vitest';
import { cellBytes, estimateTrain, sampleNetworkBytes } from '../../src/io/memory.js';
import { makeSpec, specToJSON } from '../../src/network/index.js';
import { cellMemoryProblem } from '../../src/sweep/redis.js';
import type { Cell } from '../../src/sweep/sweepFile.js';

const cell = (kind: string, spec: Record<string, unknown>): Cell =>
  ({ v: 1, id: 'c-test', kind, spec, options: {}, seed: 1, axes: {}, index: 0 }) as unknown as Cell;

describe('worker memory per cell', () => {
  const saved = process.env.SIGNALPROP_TOTALMEM;
  afterEach(() => {
    if (saved === undefined) delete process.env.SIGNALPROP_TOTALMEM;
    else process.env.SIGNALPROP_TOTALMEM = saved;
  });
  it('cellBytes is the local sweep estimate: the sampled net for sample cells, the run for train cells', () => {
    const spec = makeSpec({ depth: 8, width: 256, batch: 64 });
    expect(cellBytes('sample', spec)).toBe(sampleNetworkBytes(spec).reduce((s, [, v]) => s + v, 0));
    expect(cellBytes('train', spec)).toBe(estimateTrain(spec).bytes);
    expect(cellBytes('predict', spec)).toBe(0);
  });
  it('a cell that fits once but not --concurrency times is refused, naming both numbers', () => {
    const spec = makeSpec({ depth: 8, width: 4096, batch: 64 });
    const one = cellBytes('sample', spec);
    process.env.SIGNALPROP_TOTALMEM = String(Math.ceil(one * 1.5));
    const c = cell('sample', specToJSON(spec));
    expect(cellMemoryProblem(c, 1)).toBeNull();
    const why = cellMemoryProblem(c, 2);
    expect(why).toMatch(/needs ≈ .* per cell × --concurrency 2\); this worker's machine has/);
  });
  it('a spec it cannot read is left to the cell (which fails with its own message)', () => {
    process.env.SIGNALPROP_TOTALMEM = '1';
    expect(cellMemoryProblem(cell('sample', { depth: -1 }), 4)).toBeNull();
  });
});
