// Distributed sweeps against a real redis-server (SIGNALPROP_TEST_REDIS, started by .ci/run).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cellKindModules, parseSweep, readSweepRecords, registerCellKind, runSweep, startWorker } from '../../src/sweep/index.js';
import { cleanupTempDirs, FIXTURE, readJsonl, sortedRecords, tempDir, useFixtureKind } from './helpers.js';

const REDIS = process.env.SIGNALPROP_TEST_REDIS;
if (!REDIS) console.warn('sweep Redis tests skipped: SIGNALPROP_TEST_REDIS is unset (.ci/run starts a loopback redis-server and sets it)');
const BIN = fileURLToPath(new URL('../../bin/signalprop.js', import.meta.url));

beforeAll(() => {
  useFixtureKind();
  registerCellKind('rundir', fileURLToPath(new URL('./fixtures/runDirKind.ts', import.meta.url)));
});
const queues: string[] = [];
afterAll(async () => {
  for (const name of queues) {
    const q = new Queue(name, { connection: { url: REDIS!, maxRetriesPerRequest: null } });
    await q.obliterate({ force: true }).catch(() => {});
    await q.close();
  }
  cleanupTempDirs();
});

function queueName(label: string): string {
  const q = `sp-test-${label}-${process.pid}-${Date.now()}`;
  queues.push(q);
  return q;
}

/** A real `signalprop worker` child process; stderr is collected. */
function spawnWorker(queue: string, extra: string[] = []): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(
    process.execPath,
    [
      BIN,
      'worker',
      '--redis',
      REDIS!,
      '--queue',
      queue,
      '--concurrency',
      '1',
      '--lock-duration',
      '1000',
      '--stalled-interval',
      '500',
      '--runner',
      `fixture=${FIXTURE}`,
      ...extra,
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0' },
    },
  );
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, stderr: () => err, exited };
}

async function until(what: string, cond: () => boolean, timeoutMs = 90_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const lines = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n').filter(Boolean) : []);

describe.skipIf(!REDIS)('sweeps on Redis (BullMQ)', () => {
  test('the same sampling sweep through the local pool and through Redis gives the same records', async () => {
    const dir = tempDir('same');
    const sweep = await parseSweep({
      name: 'same',
      kind: 'sample',
      base: { width: 8 },
      options: { seedsPerCell: 2 },
      axes: { depth: [3, 4], batch: [4, 8] },
      seeds: 2,
    });
    const local = await runSweep(sweep, { out: join(dir, 'local'), threads: 1 });
    const queue = queueName('same');
    const worker = await startWorker({ url: REDIS!, queue, concurrency: 1, modules: cellKindModules(), runRoot: join(dir, 'runs') });
    try {
      const viaRedis = await runSweep(sweep, { out: join(dir, 'redis'), redis: { url: REDIS!, queue, pollMs: 200 } });
      expect([local.done, viaRedis.done, viaRedis.failed, viaRedis.executor]).toEqual([8, 8, 0, 'redis']);
    } finally {
      await worker.close();
    }
    const a = readSweepRecords(join(dir, 'local'));
    const b = readSweepRecords(join(dir, 'redis'));
    expect(a.length).toBeGreaterThan(0);
    expect(sortedRecords(b)).toEqual(sortedRecords(a));
    // Every record belongs to one of the 8 cells; the queue is empty afterwards (jobs collected and removed).
    expect(new Set(b.map((r) => r.tags?.cell)).size).toBe(8);
    const q = new Queue(queue, { connection: { url: REDIS!, maxRetriesPerRequest: null } });
    const counts = await q.getJobCounts('wait', 'active', 'completed', 'failed', 'delayed');
    await q.close();
    expect(Object.values(counts).reduce((x, y) => x + y, 0)).toBe(0);
  });

  test('a worker killed with SIGKILL mid-cell, then restarted: the sweep completes with every cell exactly once', async () => {
    const dir = tempDir('kill');
    const markFile = join(dir, 'starts.log');
    const endFile = join(dir, 'ends.log');
    const queue = queueName('kill');
    const sweep = await parseSweep({
      name: 'kill',
      kind: 'fixture',
      base: { width: 4, batch: 4 },
      options: { sleepMs: 1000, markFile, endFile },
      axes: { depth: [2, 3, 4] },
    });
    const out = join(dir, 'out');
    const submitted = runSweep(sweep, { out, redis: { url: REDIS!, queue, pollMs: 250 } });
    const a = spawnWorker(queue);
    await until('worker A to start a cell', () => lines(markFile).length >= 1);
    const [killedCell, pidA] = lines(markFile)[0].split(' ');
    expect(Number(pidA)).toBe(a.child.pid);
    a.child.kill('SIGKILL');
    await a.exited;
    expect(lines(endFile).length).toBe(0); // it died mid-cell
    const b = spawnWorker(queue);
    let summary: Awaited<typeof submitted>;
    try {
      summary = await submitted;
    } finally {
      b.child.kill('SIGTERM');
      await b.exited;
    }
    expect([summary.cells, summary.done, summary.failed]).toEqual([3, 3, 0]);
    // The killed cell started twice (A, then B after the stalled check) and finished once, in B.
    const starts = lines(markFile).map((l) => l.split(' '));
    expect(starts.filter(([id]) => id === killedCell).map(([, pid]) => Number(pid))).toEqual([a.child.pid, b.child.pid]);
    expect(b.stderr()).toMatch(/started again \(recovered from a stalled worker 1×\)/);
    const ends = lines(endFile).map((l) => l.split(' ')[0]);
    expect(ends.sort()).toEqual(
      readJsonl(join(out, 'cells.jsonl'))
        .map((e) => e.id)
        .sort(),
    );
    // Every cell exactly once in the store, with all its records.
    const entries = readJsonl(join(out, 'cells.jsonl'));
    expect(entries.length).toBe(3);
    expect(new Set(entries.map((e) => e.id)).size).toBe(3);
    expect(entries.every((e) => e.status === 'done')).toBe(true);
    expect(readSweepRecords(out).length).toBe(2 + 3 + 4);
  });

  test('a cell finished twice (a frozen worker wakes up after its cell was rerun elsewhere) is stored once', async () => {
    const dir = tempDir('twice');
    const markFile = join(dir, 'starts.log');
    const endFile = join(dir, 'ends.log');
    const queue = queueName('twice');
    const sweep = await parseSweep({
      name: 'twice',
      kind: 'fixture',
      base: { width: 4, batch: 4, depth: 3 },
      options: { sleepMs: 1000, markFile, endFile },
    });
    const out = join(dir, 'out');
    const submitted = runSweep(sweep, { out, redis: { url: REDIS!, queue, pollMs: 250 } });
    // A (a worker process) takes the only cell and is frozen mid-cell: its lock expires, and B (a worker
    // in this process, started then) reruns the cell; then A wakes up and finishes it too.
    const a = spawnWorker(queue);
    await until('worker A to start the cell', () => lines(markFile).length >= 1);
    a.child.kill('SIGSTOP');
    const b = await startWorker({
      url: REDIS!,
      queue,
      concurrency: 1,
      lockDuration: 1000,
      stalledInterval: 500,
      modules: cellKindModules(),
      runRoot: join(dir, 'runs'),
    });
    try {
      await until('worker B to finish the cell', () => lines(endFile).length >= 1);
      expect(lines(endFile)[0]).toBe(`${lines(markFile)[0].split(' ')[0]} ${process.pid}`);
      a.child.kill('SIGCONT');
      await until('worker A to finish the cell too', () => lines(endFile).some((l) => l.endsWith(` ${a.child.pid}`)));
      const summary = await submitted;
      expect([summary.done, summary.failed]).toEqual([1, 0]);
    } finally {
      a.child.kill('SIGKILL');
      await Promise.all([a.exited, b.close()]);
    }
    expect(lines(endFile).length).toBe(2);
    const entries = readJsonl(join(out, 'cells.jsonl'));
    expect(entries.length).toBe(1);
    expect(readSweepRecords(out).length).toBe(3);
  });

  test('a submitter that stops following, then runs again, collects the cells finished meanwhile without rerunning them', async () => {
    const dir = tempDir('resume');
    const markFile = join(dir, 'starts.log');
    const queue = queueName('resume');
    const sweep = await parseSweep({
      name: 'resume',
      kind: 'fixture',
      base: { width: 4, batch: 4 },
      options: { markFile },
      axes: { depth: [2, 3, 4] },
      seeds: 2,
    });
    const out = join(dir, 'out');
    const q = new Queue(queue, { connection: { url: REDIS!, maxRetriesPerRequest: null } });
    try {
      // 1. Enqueue, then stop following (no worker yet).
      const stop = new AbortController();
      const first = runSweep(sweep, { out, redis: { url: REDIS!, queue, pollMs: 100, signal: stop.signal } });
      for (let t = 0; (await q.getJobCounts('wait')).wait < 6; t++) {
        if (t > 600) throw new Error('jobs were not enqueued');
        await new Promise((r) => setTimeout(r, 50));
      }
      stop.abort();
      await expect(first).rejects.toThrow(/abort/i);
      // 2. A worker runs every cell while no submitter follows.
      const worker = await startWorker({ url: REDIS!, queue, concurrency: 1, modules: cellKindModules(), runRoot: join(dir, 'runs') });
      try {
        for (let t = 0; (await q.getJobCounts('completed')).completed < 6; t++) {
          if (t > 1200) throw new Error('cells were not run');
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        await worker.close();
      }
      // 3. The submitter runs again with no worker alive: it must collect all six from the queue.
      const s = await runSweep(sweep, { out, redis: { url: REDIS!, queue, pollMs: 100 } });
      expect([s.done, s.failed, s.ran, s.skipped]).toEqual([6, 0, 6, 0]);
      expect(lines(markFile).length).toBe(6); // each cell ran once
      expect(readSweepRecords(out).length).toBe((2 + 3 + 4) * 2);
      const left = await q.getJobCounts('wait', 'active', 'completed', 'failed');
      expect(Object.values(left).reduce((a, b) => a + b, 0)).toBe(0);
    } finally {
      await q.close();
    }
  });

  test("a worker with cleanRuns removes each cell's run directory once its result is sent; without it they stay", async () => {
    const dir = tempDir('cleanruns');
    const sweep = await parseSweep({ name: 'cleanruns', kind: 'rundir', base: { depth: 2, width: 4, batch: 4 }, seeds: 3 });
    for (const clean of [false, true]) {
      const queue = queueName(`cleanruns-${clean}`);
      const runRoot = join(dir, `runs-${clean}`);
      const worker = await startWorker({ url: REDIS!, queue, concurrency: 1, modules: cellKindModules(), runRoot, cleanRuns: clean });
      try {
        const s = await runSweep(sweep, { out: join(dir, `out-${clean}`), redis: { url: REDIS!, queue, pollMs: 200 } });
        expect([s.done, s.failed]).toEqual([3, 0]);
      } finally {
        await worker.close();
      }
      // the rundir kind writes runDir/checkpoint.bin in every cell
      expect(readdirSync(runRoot).length).toBe(clean ? 0 : 3);
    }
  });
});
