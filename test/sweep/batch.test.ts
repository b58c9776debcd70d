// Small cells go to the pool's threads in batches (src/sweep/local.ts): fewer tasks than cells, and every
// cell's result exactly what it is alone: the records of a cell run in this thread by runCell, and the same
// store bytes from one thread as from two.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makePool } from '../../src/parallel/pool.js';
import { type CellResult, cellKindModules, cellTags, expandSweep, parseSweep, runCell, runSweep } from '../../src/sweep/index.js';
import { batchSize, CELL_WORKER_URL, MAX_BATCH, runLocal } from '../../src/sweep/local.js';
import type { Cell } from '../../src/sweep/sweepFile.js';
import { fixtureValues } from './fixtures/testKind.js';
import { cleanupTempDirs, tempDir, useFixtureKind } from './helpers.js';

beforeAll(useFixtureKind);
afterAll(cleanupTempDirs);

describe('batched cells', () => {
  test('batch sizes: one cell until a time is known, about 250 ms of work, shrinking to one at the end', () => {
    expect(batchSize(null, 100, 2)).toBe(1);
    expect(batchSize(0.01, 100_000, 2)).toBe(MAX_BATCH);
    expect(batchSize(100, 1000, 2)).toBe(2); // 250 ms / 100 ms
    expect(batchSize(1000, 1000, 2)).toBe(1); // a cell longer than the target goes alone
    expect(batchSize(1, 40, 2)).toBe(5); // a quarter of each thread's share of 40
    expect(batchSize(1, 1, 2)).toBe(1);
    expect(batchSize(1, 0, 2)).toBe(0);
  });

  test('300 tiny cells on 2 threads: fewer tasks than cells, each cell its own values, one failure where planned', async () => {
    const sweep = await parseSweep({
      name: 'tiny',
      kind: 'fixture',
      base: { width: 4, batch: 4 },
      options: { failDepth: 3 },
      axes: { depth: [2, 3, 4] },
      seeds: 100,
    });
    const cells = await expandSweep(sweep);
    const pool = makePool(CELL_WORKER_URL, 2);
    const got = new Map<string, CellResult>();
    try {
      await runLocal(
        cells,
        { modules: cellKindModules(), runRoot: tempDir('batch-runs'), pool },
        { onResult: (cell, r) => got.set(cell.id, r) },
      );
      expect(pool.completed).toBeLessThan(cells.length / 4);
    } finally {
      await pool.destroy();
    }
    expect(got.size).toBe(cells.length);
    for (const c of cells) {
      const r = got.get(c.id)!;
      const depth = (c.spec as { depth: number }).depth;
      if (depth === 3) {
        expect([r.status, r.error]).toEqual(['failed', 'planned failure at depth 3']);
        continue;
      }
      expect(r.status).toBe('done');
      expect(r.records.map((x) => x.value)).toEqual(fixtureValues(c.seed, depth, 4));
    }
  }, 120_000);

  test('sampled cells in batches: the records of each cell run alone in this thread, the same store bytes at 1 and 2 threads', async () => {
    const sweep = await parseSweep({
      name: 'small',
      kind: 'sample',
      base: { width: 8, depth: 3, batch: 4 },
      options: { theory: false },
      seeds: 24,
    });
    const cells: Cell[] = await expandSweep(sweep);
    const dir = tempDir('batch-sample');
    const a = join(dir, 'two');
    const b = join(dir, 'one');
    const s2 = await runSweep(sweep, { out: a, threads: 2 });
    const s1 = await runSweep(sweep, { out: b, threads: 1 });
    expect([s2.done, s1.done]).toEqual([24, 24]);
    const bytes = (p: string) => readFileSync(join(p, 'records.jsonl'), 'utf8');
    expect(bytes(a)).toBe(bytes(b));
    // each cell's records as the cell kind gives them in this thread, without pool or batch
    const stored = bytes(a)
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l));
    for (const c of [cells[0], cells[11], cells[23]]) {
      const alone = await runCell({ cell: c, modules: cellKindModules(), runRoot: join(dir, 'alone') });
      expect(alone.status).toBe('done');
      const mine = stored.filter((r) => r.tags.cell === c.id);
      const want = alone.records.map((r) => ({ ...r, tags: { ...(r.tags ?? {}), ...cellTags(sweep.name, c) } }));
      expect(mine.length).toBeGreaterThan(0);
      expect(mine).toEqual(JSON.parse(JSON.stringify(want)));
    }
  }, 180_000);
});
