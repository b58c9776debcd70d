// A sweep's records.jsonl is in cell order whatever order the cells finished in, so two runs of one
// sweep compare byte for byte.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { expandSweep, parseSweep, readSweepRecords, runSweep, SweepStore } from '../../src/sweep/index.js';
import { cleanupTempDirs, readJsonl, tempDir, useFixtureKind } from './helpers.js';

beforeAll(useFixtureKind);
afterAll(cleanupTempDirs);

test('records.jsonl and cells.jsonl are in cell order though the cells finished out of order', async () => {
  const dir = tempDir('order');
  const endFile = join(dir, 'ends.log');
  // the first cell waits until another has ended (a fixed sleep was not enough: under load the second thread
  // could start after the first had run every cell), so on two threads the cells finish out of order
  const raw = {
    name: 'order',
    kind: 'fixture',
    base: { width: 4, batch: 4 },
    options: { endFile, waitDepth: 2 },
    axes: { depth: [2, 3, 4, 5] },
  };
  const sweep = await parseSweep(raw);
  const cells = await expandSweep(sweep);
  const a = join(dir, 'a');
  const s = await runSweep(sweep, { out: a, threads: 2 });
  expect([s.done, s.failed]).toEqual([4, 0]);
  // completion order really differed from cell order (else this test could not fail)
  const ended = readFileSync(endFile, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' ')[0]);
  const byIndex = cells.map((c) => c.id);
  expect(ended).not.toEqual(byIndex);
  expect(new Set(ended)).toEqual(new Set(byIndex));
  // stored in cell order: the cell tag of each record, deduplicated, is the expansion order
  const order = [...new Set(readSweepRecords(a).map((r) => String(r.tags?.cell)))];
  expect(order).toEqual(byIndex);
  expect(readJsonl(join(a, 'cells.jsonl')).map((e) => e.index)).toEqual([0, 1, 2, 3]);
  // one thread finishes in cell order: the same bytes
  const b = join(dir, 'b');
  await runSweep(await parseSweep({ ...raw, options: {} }), { out: b, threads: 1 });
  const strip = (p: string) => readFileSync(join(p, 'records.jsonl'), 'utf8');
  expect(strip(a).length).toBeGreaterThan(0);
  // the endFile option is part of the cell ids, so compare the records without their cell ids
  const noIds = (t: string) => t.replace(/"cell":"[0-9a-f]+"/g, '"cell":"-"');
  expect(noIds(strip(b))).toBe(noIds(strip(a)));
  // the sorted store opens again, and a rerun has nothing to do
  const again = await runSweep(sweep, { out: a, threads: 2 });
  expect([again.skipped, again.ran]).toEqual([4, 0]);
  const st = SweepStore.open(a);
  expect(st.readRecords().length).toBe(readSweepRecords(a).length);
  st.close();
}, 120_000);
