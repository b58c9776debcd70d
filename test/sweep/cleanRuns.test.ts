// cleanRuns: a finished cell's run directory (checkpoints) goes once its records are in the store.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parseSweep, readSweepRecords, registerCellKind, runSweep } from '../../src/sweep/index.js';
import { cleanupTempDirs, tempDir } from './helpers.js';

beforeAll(() => registerCellKind('rundir', fileURLToPath(new URL('./fixtures/runDirKind.ts', import.meta.url))));
afterAll(cleanupTempDirs);

test('without cleanRuns every cell keeps its run directory; with it none does, and the records stay', async () => {
  const sweep = await parseSweep({ name: 'clean', kind: 'rundir', base: { depth: 2, width: 4, batch: 4 }, seeds: 3 });
  const keep = join(tempDir('keep'), 'out');
  await runSweep(sweep, { out: keep, threads: 1 });
  expect(readdirSync(join(keep, 'runs')).length).toBe(3);
  for (const d of readdirSync(join(keep, 'runs'))) expect(existsSync(join(keep, 'runs', d, 'checkpoint.bin'))).toBe(true);
  const clean = join(tempDir('clean'), 'out');
  const s = await runSweep(sweep, { out: clean, threads: 1, cleanRuns: true });
  expect(s.done).toBe(3);
  expect(existsSync(join(clean, 'runs')) ? readdirSync(join(clean, 'runs')) : []).toEqual([]);
  expect(readSweepRecords(clean).map((r) => r.value)).toEqual([1, 2, 3]);
}, 120_000);
