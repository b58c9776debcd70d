// Ctrl-C on a local sweep through the real bin: the finished cells stay stored, the summary says
// interrupted, the lock is released, exit 130 with the command that resumes it; that command runs only
// the remaining cells, to the records of an uninterrupted sweep.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseSweep, readSweepRecords, runSweep } from '../../src/sweep/index.js';
import { runCli } from '../helpers/cli.js';
import { spawnCli, waitFor } from '../helpers/spawnCli.js';
import { fixtureValues } from './fixtures/testKind.js';
import { cleanupTempDirs, FIXTURE, readJsonl, sortedRecords, tempDir, useFixtureKind } from './helpers.js';

beforeAll(useFixtureKind);
afterAll(cleanupTempDirs);

const lines = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : []);

describe('local sweep: SIGINT', () => {
  test('keeps finished cells, marks the sweep interrupted, prints the command that resumes it', async () => {
    const dir = tempDir('sigint');
    const endFile = join(dir, 'ends.log');
    const def = {
      name: 'intr',
      kind: 'fixture',
      base: { width: 4 },
      options: { sleepMs: 1000, endFile },
      axes: { depth: [2, 3, 4, 5] },
      seeds: [1, 2],
    };
    const file = join(dir, 'intr.json');
    writeFileSync(file, JSON.stringify(def));
    const out = join(dir, 'out');
    const run = spawnCli(['sweep', file, '--out', out, '--threads', '2', '--runner', `fixture=${FIXTURE}`, '--no-progress']);
    await waitFor(() => lines(endFile).length >= 2, 'two finished cells', run);
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const m =
      /signalprop: SIGINT: sweep interrupted with (\d+) of 8 cells done, stored in (\S+); the cells that were running run again \(train cells from the checkpoint they wrote\) when you resume with: (signalprop .*)\n$/.exec(
        r.stderr,
      );
    expect(m, r.stderr).not.toBeNull();
    const done = Number(m![1]);
    expect(done).toBeGreaterThanOrEqual(2);
    expect(done).toBeLessThan(8);
    expect(m![2]).toBe(out);
    // committed: exactly the done cells, once each; no lock left; the summary says interrupted
    const entries = readJsonl(join(out, 'cells.jsonl'));
    expect(entries.length).toBe(done);
    expect(entries.every((e) => e.status === 'done')).toBe(true);
    expect(existsSync(join(out, '.lock'))).toBe(false);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect([summary.interrupted, summary.done, summary.failed]).toEqual([true, done, 0]);

    const again = runCli(m![3].split(' ').slice(1).concat('--json'));
    expect(again.code, again.stderr).toBe(0);
    const s = JSON.parse(again.stdout);
    expect([s.done, s.skipped, s.ran, s.failed, s.interrupted]).toEqual([8, done, 8 - done, 0, undefined]);
    const all = readJsonl(join(out, 'cells.jsonl'));
    expect(new Set(all.map((e) => e.id)).size).toBe(8);
    expect(all.length).toBe(8);
    const recs = readSweepRecords(out);
    expect(recs.length).toBe((2 + 3 + 4 + 5) * 2);
    for (const x of recs) expect(x.value).toBe(fixtureValues(x.seed!, x.depth, x.batch)[x.layer! - 1]);
    // the same records as the sweep run without an interruption (in completion order: compared sorted)
    const ref = join(dir, 'ref');
    expect((await runSweep(await parseSweep(def), { out: ref, threads: 2 })).done).toBe(8);
    expect(sortedRecords(recs)).toEqual(sortedRecords(readSweepRecords(ref)));
  });
});

describe('local sweep: SIGINT during a train cell', () => {
  test('the running train cell checkpoints, and the resumed sweep continues it to the records of an uninterrupted one', async () => {
    const dir = tempDir('sigint-train');
    const def = {
      name: 'intrtrain',
      kind: 'train',
      base: { depth: 2, width: 16, batch: 16, order: 'linear-bn-act' },
      // 2000 steps: long enough that 1.5 s after the start it is still running on an idle machine (400 was not)
      options: { steps: 2000, data: 'synthetic', checkpointEvery: 100000 },
      seeds: [3],
    };
    const file = join(dir, 'intrtrain.json');
    writeFileSync(file, JSON.stringify(def));
    const out = join(dir, 'out');
    const run = spawnCli(['sweep', file, '--out', out, '--threads', '1', '--no-progress']);
    // the cell's run directory gets its manifest when training starts; a few steps later, Ctrl-C
    const manifest = () => {
      const runs = join(out, 'runs');
      if (!existsSync(runs)) return null;
      const ids = readdirSync(runs);
      const m = ids.length ? join(runs, ids[0], 'manifest.json') : '';
      return m && existsSync(m) ? (JSON.parse(readFileSync(m, 'utf8')) as { status: string; stepsDone?: number }) : null;
    };
    await waitFor(() => manifest() !== null, 'the train cell to start', run);
    await new Promise((r) => setTimeout(r, 1500));
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain('train cells from the checkpoint they wrote');
    // checkpointEvery is larger than steps: the only checkpoint is the one Ctrl-C wrote
    const m = manifest()!;
    expect(m.status).toBe('interrupted');
    expect(m.stepsDone).toBeGreaterThan(0);
    expect(m.stepsDone).toBeLessThan(2000);
    expect(readJsonl(join(out, 'cells.jsonl')).length).toBe(0);
    const again = runCli(['sweep', file, '--out', out, '--threads', '1', '--no-progress', '--json'], { timeoutMs: 300_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(manifest()!.status).toBe('completed');
    const ref = join(dir, 'ref');
    expect((await runSweep(await parseSweep(def), { out: ref, threads: 1 })).done).toBe(1);
    const a = readSweepRecords(out);
    expect(a.length).toBeGreaterThan(0);
    expect(sortedRecords(a)).toEqual(sortedRecords(readSweepRecords(ref)));
  }, 300_000);
});
