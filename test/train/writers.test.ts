// One writer per run directory: a second `train` on a directory another process is writing is refused
// (exit 2, naming the directory and the process); SIGTERM checkpoints the writer and marks it
// interrupted; a stale lock of a dead process is taken over; --resume on a directory without a run is
// refused and creates nothing.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireLock } from '../../src/io/lock.js';
import { type TrainConfig, trainRun } from '../../src/train/index.js';
import { runCli } from '../helpers/cli.js';
import { nonEmpty, spawnCli, waitFor } from '../helpers/spawnCli.js';

const root = mkdtempSync(join(tmpdir(), 'signalprop-writers-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const TINY: TrainConfig = {
  spec: { depth: 3, width: 16, batch: 8 },
  data: { kind: 'synthetic', nTest: 16 },
  steps: 4,
  seed: 2,
  probe: false,
};

describe('train: one writer per run directory', () => {
  it('a second writer is refused while the first runs; SIGTERM then checkpoints the first, with no duplicated records', async () => {
    const dir = join(root, 'busy');
    // far more steps than the test lets it run: it is still writing when the second writer starts
    const first = spawnCli([
      'train',
      '--depth',
      '3',
      '--width',
      '16',
      '--batch',
      '8',
      '--steps',
      '100000',
      '--checkpoint-every',
      '700',
      '--seed',
      '3',
      '--out',
      dir,
    ]);
    await waitFor(() => nonEmpty(join(dir, 'records.jsonl')) && existsSync(join(dir, '.lock')), 'the first records', first);
    for (const args of [
      ['--resume'],
      ['--depth', '3', '--width', '16', '--batch', '8', '--steps', '100000', '--checkpoint-every', '700', '--seed', '3'],
    ]) {
      const second = runCli(['train', ...args, '--out', dir]);
      expect(second.code, second.stderr).toBe(2);
      expect(second.stdout).toBe('');
      expect(second.stderr.trim().split('\n')).toEqual([
        `signalprop: --out: run directory ${dir} is in use by process ${first.child.pid}; wait for that run to end, or stop it (SIGINT checkpoints it) and resume`,
      ]);
    }
    first.child.kill('SIGTERM');
    const r = await first.done;
    expect(r.code, r.stderr).toBe(143);
    const m =
      /signalprop: SIGTERM: interrupted after step (\d+) of 100000; checkpointed in \S+; signalprop train --resume --out (\S+) continues it\n$/.exec(
        r.stderr,
      );
    expect(m, r.stderr).not.toBeNull();
    const k = Number(m![1]);
    expect(m![2]).toBe(dir);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect([manifest.status, manifest.stepsDone]).toEqual(['interrupted', k]);
    const ck = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8'));
    expect(ck.step).toBe(k);
    expect(statSync(join(dir, 'records.jsonl')).size).toBe(ck.recordsBytes);
    // one loss record per step 0..k-1, none twice
    const steps = readFileSync(join(dir, 'records.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((x) => x.quantity === 'loss')
      .map((x) => x.step);
    expect(steps).toEqual(Array.from({ length: k }, (_, i) => i));
    expect(existsSync(join(dir, '.lock'))).toBe(false);
  });

  it('--resume on a directory without a run: exit 2 naming it, nothing created (CLI and API)', async () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    const r = runCli(['train', '--resume', '--out', empty]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      `signalprop: --resume: "${empty}" holds no run to continue (it has no manifest.json); expected the --out of an earlier train run, or drop --resume to start a new one`,
    ]);
    expect(readdirSync(empty)).toEqual([]);
    const missing = join(root, 'missing');
    await expect(trainRun(TINY, { runDir: missing, resume: true })).rejects.toThrow(
      `resume: "${missing}" is not allowed; expected a run directory to continue (it does not exist)`,
    );
    await expect(trainRun(TINY, { runDir: empty, resume: true })).rejects.toThrow(/it has no manifest\.json/);
    expect(existsSync(missing)).toBe(false);
    expect(readdirSync(empty)).toEqual([]);
  });

  it('in-process: a live lock (this process, another host) is refused; a dead process’s lock is taken over', async () => {
    const dir = join(root, 'locks');
    mkdirSync(dir);
    const mine = acquireLock(join(dir, '.lock'), 'test', 'wait');
    await expect(trainRun(TINY, { runDir: dir })).rejects.toThrow(`run directory ${dir} is in use by process ${process.pid} (this one)`);
    mine.release();
    writeFileSync(join(dir, '.lock'), `elsewhere.example 1234`);
    await expect(trainRun(TINY, { runDir: dir })).rejects.toThrow(
      `run directory ${dir} is locked by elsewhere.example (pid 1234); if nothing runs there, delete ${join(dir, '.lock')}`,
    );
    expect(readdirSync(dir)).toEqual(['.lock']);
    // a pid that cannot be alive (above the kernel's pid_max) on this host: stale, taken over
    writeFileSync(join(dir, '.lock'), `${hostname()} 2147483646`);
    const r = await trainRun(TINY, { runDir: dir });
    expect(r.status).toBe('completed');
    expect(existsSync(join(dir, '.lock'))).toBe(false);
    // two calls at once in one process: the second is refused before anything is written
    const dir2 = join(root, 'twice');
    const a = trainRun(TINY, { runDir: dir2 });
    await expect(trainRun(TINY, { runDir: dir2 })).rejects.toThrow(`run directory ${dir2} is in use by process ${process.pid} (this one)`);
    expect((await a).status).toBe('completed');
  });
});
