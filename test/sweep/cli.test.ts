// The sweep and worker commands through the real bin.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { readSweepRecords } from '../../src/sweep/index.js';
import { runCli } from '../helpers/cli.js';
import { cleanupTempDirs, FIXTURE, readJsonl, tempDir } from './helpers.js';

afterAll(cleanupTempDirs);

describe('signalprop sweep / worker', () => {
  test('a bad sweep file: one line naming the field, the value and what is allowed; exit 2; nothing written', () => {
    const dir = tempDir('cli-bad');
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ kind: 'predict', base: { width: 8 }, axes: { depth: [4, 0] } }));
    const r = runCli(['sweep', file, '--out', join(dir, 'out')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('signalprop: axes.depth[1] → depth: 0 is not allowed; expected an integer from 1 to 100000');
    expect(r.stdout).toBe('');
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  test('an unreachable Redis server is a usage error naming --redis, without the password (exit 2)', () => {
    // Port 1 on loopback: nothing listens there.
    const w = runCli(['worker', '--redis', 'redis://:secret@127.0.0.1:1']);
    expect(w.code).toBe(2);
    expect(w.stderr).toMatch(/^signalprop: --redis: cannot reach "redis:\/\/:\*\*\*@127\.0\.0\.1:1"/);
    expect(w.stderr).not.toContain('secret');
  });

  test('a sweep with a failing cell exits 1 after finishing the others; the rerun runs only that cell', () => {
    const dir = tempDir('cli-run');
    const file = join(dir, 'grid.json');
    const failFile = join(dir, 'fail');
    writeFileSync(failFile, '');
    writeFileSync(
      file,
      JSON.stringify({
        kind: 'fixture',
        base: { width: 4, batch: 4 },
        options: { failDepth: 3, failFile },
        axes: { depth: [2, 3, 4] },
        seeds: 2,
      }),
    );
    const out = join(dir, 'out');
    const r = runCli(['sweep', file, '--out', out, '--threads', '1', '--runner', `fixture=${FIXTURE}`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^sweep grid \(fixture, local\): 4\/6 cells done, 2 failed, 0 skipped/);
    expect(r.stdout).toMatch(/failed [0-9a-f]{16} seed=1 \{"depth":3\}: planned failure at depth 3/);
    expect(r.stderr).toContain('grid ['); // the progress bar, on stderr only
    expect(readSweepRecords(out).length).toBe((2 + 4) * 2);
    rmSync(failFile);
    const again = runCli(['sweep', file, '--out', out, '--json', '--no-progress', '--runner', `fixture=${FIXTURE}`]);
    expect(again.code).toBe(0);
    const s = JSON.parse(again.stdout);
    expect([s.cells, s.done, s.failed, s.skipped, s.ran]).toEqual([6, 6, 0, 4, 2]);
    expect(again.stderr).toBe('');
    expect(readJsonl(join(out, 'cells.jsonl')).length).toBe(8); // 6 cells, 2 of them failed once
    expect(readSweepRecords(out).length).toBe((2 + 3 + 4) * 2);
  });
});
