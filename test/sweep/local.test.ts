import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { expandSweep, parseSweep, readSweepRecords, runCell, runSweep } from '../../src/sweep/index.js';
import { fixtureGrowth, fixtureValues } from './fixtures/testKind.js';
import { cleanupTempDirs, readJsonl, tempDir, useFixtureKind } from './helpers.js';

beforeAll(useFixtureKind);
afterAll(cleanupTempDirs);

describe('local pool', () => {
  test('a failing cell is recorded and the others finish; a rerun skips finished cells and retries failed ones', async () => {
    const dir = tempDir('local');
    const failFile = join(dir, 'fail-while-exists');
    const markFile = join(dir, 'starts.log');
    writeFileSync(failFile, '');
    const sweep = await parseSweep({
      name: 'grid',
      kind: 'fixture',
      base: { width: 4 },
      options: { failDepth: 5, failFile, markFile },
      axes: { depth: [2, 3, 5], batch: [4, 8] },
      seeds: [1, 2],
    });
    const out = join(dir, 'out');
    const s1 = await runSweep(sweep, { out, threads: 2 });
    expect([s1.cells, s1.done, s1.failed, s1.skipped, s1.ran]).toEqual([12, 8, 4, 0, 12]);
    expect(s1.failures.every((f) => f.axes.depth === 5 && f.error === 'planned failure at depth 5')).toBe(true);
    const entries = readJsonl(join(out, 'cells.jsonl'));
    expect(entries.length).toBe(12);
    expect(new Set(entries.map((e) => e.id)).size).toBe(12);
    // Records: one per layer of every done cell, values as the kind computes them, axes in tags.
    const recs = readSweepRecords(out);
    expect(recs.length).toBe((2 + 3) * 2 * 2);
    expect(s1.records).toBe(recs.length);
    for (const r of recs) {
      expect(r.tags).toMatchObject({ sweep: 'grid', kind: 'fixture', depth: r.depth, batch: r.batch, cellSeed: r.seed });
      expect(r.value).toBe(fixtureValues(r.seed!, r.depth, r.batch)[r.layer! - 1]);
    }
    expect(readFileSync(markFile, 'utf8').trim().split('\n').length).toBe(12);

    // Rerun after the cause of failure is gone: only the 4 failed cells run again.
    rmSync(failFile);
    const s2 = await runSweep(sweep, { out, threads: 1 });
    expect([s2.done, s2.failed, s2.skipped, s2.ran]).toEqual([12, 0, 8, 4]);
    const starts = readFileSync(markFile, 'utf8').trim().split('\n');
    expect(starts.length).toBe(16);
    expect(readSweepRecords(out).length).toBe((2 + 3 + 5) * 2 * 2);
    // A third run has nothing to do.
    const s3 = await runSweep(sweep, { out, threads: 2 });
    expect([s3.done, s3.skipped, s3.ran]).toEqual([12, 12, 0]);
    expect(readFileSync(markFile, 'utf8').trim().split('\n').length).toBe(16);
    expect(existsSync(join(out, 'summary.json'))).toBe(true);
    expect(existsSync(join(out, '.lock'))).toBe(false);
  });

  test('a kind unknown to a worker fails its cells with a message, not the worker', async () => {
    const [cell] = await expandSweep(await parseSweep({ kind: 'fixture', base: { width: 4, depth: 2 } }));
    // A worker that lacks the kind: its module list does not name it.
    const r = await runCell({ cell, modules: { predict: 'file:///nowhere.ts' }, runRoot: tempDir('unknown') });
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/^cell kind "fixture" is unknown to worker .*--runner kind=module/);
    expect(r.records).toEqual([]);
  });
});

describe('figures read a sweep store directly', () => {
  test('the depth × batch heatmap of a sweep: one cell per (depth, batch), the mean over seeds', async () => {
    const dir = tempDir('heatmap');
    const sweep = await parseSweep({
      name: 'heat',
      kind: 'fixture',
      base: { width: 4 },
      options: { growth: true },
      axes: { depth: [2, 4, 8], batch: [4, 16] },
      seeds: [1, 2, 3],
    });
    const out = join(dir, 'out');
    expect((await runSweep(sweep, { out, threads: 1 })).done).toBe(18);
    const { depthBatchHeatmapFigure } = await import('../../src/figures/index.js');
    const { loadRecords } = await import('../../src/compare/index.js');
    for (const records of [readSweepRecords(out), loadRecords([out])]) {
      const fig = depthBatchHeatmapFigure(records) as any;
      const cells = (fig.data?.values ?? fig.datasets?.[Object.keys(fig.datasets)[0]] ?? findValues(fig)).filter(
        (r: any) => r.kind === 'cell',
      );
      expect(cells.length).toBe(6);
      for (const c of cells) {
        const mean = [1, 2, 3].reduce((a, s) => a + fixtureGrowth(fixtureValues(s, c.L, c.B)), 0) / 3;
        expect(c.v).toBeCloseTo(mean, 12);
      }
    }
  });
});

/** The first data.values array anywhere in a Vega-Lite spec. */
function findValues(spec: any): any[] {
  if (spec && typeof spec === 'object') {
    if (Array.isArray(spec.data?.values)) return spec.data.values;
    for (const v of Object.values(spec)) {
      const f = findValues(v);
      if (f.length) return f;
    }
  }
  return [];
}
