// The studies' work as sweep cells (src/reproduce/cells.ts): the same cells as `signalprop sweep`, the same
// records as the old in-process path, a cell cache that is really read, and failures that stop a study.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { STUDIES } from '../../analysis/index.js';
import { makeSpec } from '../../src/network/index.js';
import { closePools } from '../../src/parallel/pool.js';
import {
  CellFailedError,
  jsonResult,
  localExecutor,
  runCells,
  sampleCell,
  sampledOf,
  trainCell,
  trainedOf,
} from '../../src/reproduce/index.js';
import { sampleNetwork } from '../../src/sample/index.js';
import { expandSweep, parseSweep, registerCellKind } from '../../src/sweep/index.js';
import { trainRun } from '../../src/train/index.js';

const dirs: string[] = [];
const temp = (label: string) => {
  const d = mkdtempSync(join(tmpdir(), `sp-repro-cells-${label}-`));
  dirs.push(d);
  return d;
};
afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  await closePools();
});

const FIXTURE = JSON.parse(readFileSync(fileURLToPath(new URL('./fixtures/oldPath.tiny.json', import.meta.url)), 'utf8'));
const sha = (x: unknown) => createHash('sha256').update(JSON.stringify(x)).digest('hex');

describe('studies through the sweep engine', () => {
  // The fixture holds the old path's digests (test/reproduce/fixtures/captureOldPath.sh: analysis/ before this
  // change, sampleNetwork and trainRun in-process at --threads 1). Exact equality: the cells run the same
  // seeded draws and the same float arithmetic, only on other threads; JSON form on both sides (NaN as null).
  // Sample-only (claim1), train with probes (claim5), train-only (claim7), both at once (claim8).
  for (const id of ['claim1', 'claim5', 'claim7', 'claim8']) {
    test(`${id} at --scale tiny on 2 threads: the old path's records and verdict rows, exactly`, async () => {
      const study = STUDIES.find((s) => s.id === id)!;
      const ex = localExecutor(2);
      try {
        const r = await study.run({ scale: 'tiny', threads: 2, cells: ex, progress: () => {} });
        const want = FIXTURE.studies[id];
        expect(r.records.length).toBe(want.records);
        expect(JSON.parse(JSON.stringify(r.rows))).toEqual(want.rows);
        expect(sha(r.records)).toBe(want.sha256);
      } finally {
        await ex.close();
      }
    });
  }
});

describe('sampleCell and trainCell', () => {
  test('a sample cell is the cell `signalprop sweep` expands for the same spec, options and seeds (same id)', async () => {
    const spec = makeSpec({ depth: 5, width: 16, batch: 8, activation: 'tanh' });
    const mine = await sampleCell(spec, { seeds: 3, baseSeed: 4 });
    const [theirs] = await expandSweep(
      await parseSweep({
        kind: 'sample',
        base: { depth: 5, width: 16, batch: 8, activation: 'tanh' },
        options: { seedsPerCell: 3 },
        seeds: [2],
      }),
    );
    expect(mine.id).toBe(theirs.id);
    expect(mine.seed).toBe(2);
    // the default theory option is not written (earlier sweeps' cell ids do not move); the generator always is:
    // a cell drawn with another generator is another cell
    expect(Object.keys(mine.options).sort()).toEqual(['inputCorrelation', 'loss', 'rng', 'seedsPerCell']);
    await expect(sampleCell(spec, { seeds: 3, baseSeed: 2 })).rejects.toThrow(/baseSeed 2/);
  });

  test("a sample cell's records are sampleNetwork's (seeds 4..6), with or without the theory; theory: false skips only the prediction", async () => {
    const spec = makeSpec({ depth: 5, width: 16, batch: 8, activation: 'tanh' });
    const direct = await sampleNetwork(spec, { seeds: 3, baseSeed: 4, threads: 1 });
    const ex = localExecutor(2);
    try {
      const [a, b] = await ex.run([
        await sampleCell(spec, { seeds: 3, baseSeed: 4 }),
        await sampleCell(spec, { seeds: 3, baseSeed: 4, theory: false }),
      ]);
      expect(a.records).toEqual(JSON.parse(JSON.stringify(direct.records)));
      expect(b.records).toEqual(a.records);
      expect(sampledOf(a).measuredGrowth).toBe(direct.measuredGrowth);
      expect(sampledOf(a).measuredGrowthSE).toBe(direct.measuredGrowthSE);
      expect(a.info?.predictedGrowth).toBe(direct.predictedGrowth);
      expect(b.info?.predictedGrowth).toBeNull();
    } finally {
      await ex.close();
    }
    await expect(parseSweep({ kind: 'sample', base: { depth: 5, width: 16, batch: 8 }, options: { theory: 'no' } })).rejects.toThrow(
      /theory.*"no".*true \| false/,
    );
  });

  test("a train cell's records (on a pool thread) are trainRun's in this thread, gia_growth included", async () => {
    const config = {
      spec: { depth: 3, width: 8, batch: 8 },
      data: { kind: 'synthetic' as const },
      loss: 'xent' as const,
      optimizer: { kind: 'sgd' as const, lr: 0.1 },
      steps: 4,
      seed: 3,
    };
    const direct = await trainRun(config, { threads: 1 });
    const results = await runCells({ scale: 'tiny', threads: 1, progress: () => {} }, [await trainCell(config)]);
    const t = trainedOf(results[0]);
    // the gradient-independence reconstruction loads the theory room lazily: in a pool thread too
    expect(direct.records.some((x) => x.quantity === 'gia_growth')).toBe(true);
    expect(t.records).toEqual(JSON.parse(JSON.stringify(direct.records)));
    expect(t.status).toBe(direct.status);
    expect(t.final.loss).toBe(direct.final.loss);
  });
});

describe('the executor', () => {
  test('JSON form: a record value that is not a finite number arrives as NaN (as it would from Redis)', () => {
    const rec = (value: number) => ({ quantity: 'loss', value }) as never;
    const r = jsonResult({
      id: 'x',
      status: 'done',
      records: [rec(Number.NaN), rec(Number.POSITIVE_INFINITY), rec(1.5)],
      ms: 1,
      worker: 'w',
    });
    expect(r.records.map((x) => x.value)).toEqual([Number.NaN, Number.NaN, 1.5]);
  });

  test('finished cells are kept by id and reused (not rerun); fresh reruns them; duplicates run once', async () => {
    const cache = temp('cache');
    const spec = makeSpec({ depth: 4, width: 8, batch: 4 });
    const cell = await sampleCell(spec, { seeds: 2, theory: false });
    const first = localExecutor(1, { cellCache: cache });
    const [a, a2] = await first.run([cell, cell]);
    await first.close();
    expect(a2).toEqual(a);
    const file = join(cache, `${cell.id}.json`);
    expect(existsSync(file)).toBe(true);
    const before = statSync(file).mtimeMs;
    // reuse: the stored result itself (its worker name and milliseconds), and the file untouched
    const [b] = await localExecutor(1, { cellCache: cache }).run([cell]);
    expect(b).toEqual(a);
    expect(statSync(file).mtimeMs).toBe(before);
    await new Promise((r) => setTimeout(r, 20));
    const [c] = await localExecutor(1, { cellCache: cache, fresh: true }).run([cell]);
    expect(c.records).toEqual(a.records);
    expect(statSync(file).mtimeMs).toBeGreaterThan(before);
  });

  test('a failed cell stops the study with its error (CellFailedError), naming the cell', async () => {
    registerCellKind('fixture', fileURLToPath(new URL('../sweep/fixtures/testKind.ts', import.meta.url)));
    const [cell] = await expandSweep(
      await parseSweep({ kind: 'fixture', base: { depth: 3, width: 4, batch: 2 }, options: { failDepth: 3 } }),
    );
    const ex = localExecutor(1);
    const err = await ex.run([cell]).catch((e) => e);
    await ex.close();
    expect(err).toBeInstanceOf(CellFailedError);
    expect(String(err.message)).toContain(cell.id);
  });

  test('a cell the sweep would refuse is refused here too (the sweep validates it)', async () => {
    await expect(trainCell({ spec: { depth: 3, width: 8, batch: 8 }, seed: 1, steps: 0 })).rejects.toThrow(/steps/);
  });
});
