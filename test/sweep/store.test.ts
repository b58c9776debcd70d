import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fc, test as fcTest } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { CellResult } from '../../src/sweep/cell.js';
import { type Cell, expandSweep, parseSweep, readSweepRecords, SweepStore } from '../../src/sweep/index.js';
import { cleanupTempDirs, readJsonl, tempDir, useFixtureKind } from './helpers.js';
import { fixtureValues, run } from './fixtures/testKind.js';

beforeAll(useFixtureKind);
afterAll(cleanupTempDirs);

let cells: Cell[];
let results: CellResult[];
beforeAll(async () => {
  cells = await expandSweep(
    await parseSweep({ name: 's', kind: 'fixture', base: { width: 4, batch: 4 }, axes: { depth: [1, 2, 3, 4] }, seeds: [1, 2] }),
  );
  results = await Promise.all(cells.map(async (c) => ({ id: c.id, status: 'done' as const, ...(await run(c)), ms: 1, worker: 'test' })));
});

describe('sweep store', () => {
  test('a cell finished twice is stored once; entries survive reopening', () => {
    const dir = tempDir('store');
    const s = SweepStore.open(dir);
    expect(s.put('s', cells[0], results[0])).toBe(true);
    const size = statSync(s.recordsPath).size;
    expect(s.put('s', cells[0], results[0])).toBe(false);
    expect(statSync(s.recordsPath).size).toBe(size);
    s.put('s', cells[1], { id: cells[1].id, status: 'failed', records: [], error: 'boom', ms: 1, worker: 'test' });
    s.close();
    const t = SweepStore.open(dir);
    expect(t.isDone(cells[0].id)).toBe(true);
    expect(t.entry(cells[1].id)?.error).toBe('boom');
    expect(t.put('s', cells[0], results[0])).toBe(false);
    // A failed cell may succeed later; then it is done.
    expect(t.put('s', cells[1], results[1])).toBe(true);
    t.close();
    const recs = readSweepRecords(dir);
    expect(recs.length).toBe((cells[0].spec.depth as number) + (cells[1].spec.depth as number));
    // Plain SPRecord JSONL with the cell's axes in tags; values are the kind's own.
    for (const r of recs) {
      const c = cells.find((x) => x.id === r.tags?.cell)!;
      expect(r.tags).toMatchObject({ sweep: 's', kind: 'fixture', depth: c.axes.depth, cellSeed: c.seed, fixture: true });
      expect(r.depth).toBe(c.axes.depth);
      expect(r.value).toBe(fixtureValues(c.seed, r.depth, r.batch)[r.layer! - 1]);
    }
  });

  test('one writer at a time; a stale lock of a dead process is taken over', () => {
    const dir = tempDir('lock');
    const s = SweepStore.open(dir);
    expect(() => SweepStore.open(dir)).toThrow(/in use by process/);
    s.close();
    writeFileSync(join(dir, '.lock'), `${hostname()} 2147483646`);
    SweepStore.open(dir).close();
  });

  // Crash at any byte: the store holds records (R_k) then cell lines (C_k), appended R1 C1 R2 C2 ...
  fcTest.prop([fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 1 }), fc.double({ min: 0, max: 1, noNaN: true })], {
    numRuns: 40,
  })('a crash at any point leaves only whole lines of committed cells after reopening', (k, which, frac) => {
    const dir = tempDir('crash');
    const s = SweepStore.open(dir);
    for (let i = 0; i < k; i++) s.put('s', cells[i], results[i]);
    s.close();
    const recSize = statSync(join(dir, 'records.jsonl')).size;
    const cellSize = statSync(join(dir, 'cells.jsonl')).size;
    // Write the next cell completely elsewhere to get its bytes, then append a prefix of them.
    const other = tempDir('crash-next');
    const n = SweepStore.open(other);
    n.put('s', cells[k], results[k]);
    n.close();
    const nextRec = readFileSync(join(other, 'records.jsonl'));
    const nextCell = readFileSync(join(other, 'cells.jsonl'));
    if (which === 0) {
      appendFileSync(join(dir, 'records.jsonl'), nextRec.subarray(0, Math.floor(frac * nextRec.length)));
    } else {
      appendFileSync(join(dir, 'records.jsonl'), nextRec);
      appendFileSync(join(dir, 'cells.jsonl'), nextCell.subarray(0, Math.floor(frac * (nextCell.length - 1))));
    }
    const t = SweepStore.open(dir);
    t.close();
    expect(statSync(join(dir, 'records.jsonl')).size).toBe(recSize);
    expect(statSync(join(dir, 'cells.jsonl')).size).toBe(cellSize);
    const ids = readJsonl(join(dir, 'cells.jsonl')).map((e) => e.id);
    expect(ids).toEqual(cells.slice(0, k).map((c) => c.id));
    const recs = readSweepRecords(dir);
    expect(recs.length).toBe(cells.slice(0, k).reduce((a, c) => a + (c.spec.depth as number), 0));
  });
});

describe('progress ETA', () => {
  test('remaining cells × mean wall time per finished cell', async () => {
    const { eta } = await import('../../src/sweep/progress.js');
    expect(eta(10_000, 0, 6)).toBe('?');
    expect(eta(10_000, 2, 6)).toBe('20s'); // 5 s per cell × 4 left
    expect(eta(60_000, 1, 3)).toBe('2m00s');
    expect(eta(3_600_000, 1, 3)).toBe('2h00m');
    expect(eta(1, 3, 3)).toBe('0s');
  });
});
