// `signalprop reproduce --redis`: the studies' cells as BullMQ jobs, run by two plain `signalprop worker`
// processes, against a private redis-server started here (skipped where there is none). The records must be
// the local run's, which are the old in-process path's (fixtures/oldPath.tiny.json).
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { STUDIES } from '../../analysis/index.js';
import { redisExecutor } from '../../src/reproduce/index.js';
import { runCli } from '../helpers/cli.js';

const SERVER = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
if (!SERVER) console.warn('reproduce Redis tests skipped: no redis-server on this machine');
const BIN = fileURLToPath(new URL('../../bin/signalprop.js', import.meta.url));
const FIXTURE = JSON.parse(readFileSync(fileURLToPath(new URL('./fixtures/oldPath.tiny.json', import.meta.url)), 'utf8'));
const sha = (x: unknown) => createHash('sha256').update(JSON.stringify(x)).digest('hex');

const port = 21000 + (process.pid % 20000);
const url = `redis://127.0.0.1:${port}`;
const queue = `sp-repro-test-${process.pid}`;
const children: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'sp-repro-redis-'));

function ping(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      resolve(String(d).includes('PONG'));
      s.destroy();
    });
    s.on('error', () => resolve(false));
  });
}

beforeAll(async () => {
  if (!SERVER) return;
  const server = spawn(SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  children.push(server);
  for (let i = 0; i < 100 && !(await ping()); i++) await new Promise((r) => setTimeout(r, 50));
  // two plain workers, one cell at a time each
  for (let w = 0; w < 2; w++) {
    children.push(
      spawn(process.execPath, [BIN, 'worker', '--redis', url, '--queue', queue, '--concurrency', '1', '--run-dir', join(dir, `runs${w}`)], {
        stdio: 'ignore',
        env: { ...process.env, FORCE_COLOR: '0' },
      }),
    );
  }
});

afterAll(async () => {
  // workers first, then the server (each by its own pid)
  for (const c of children.slice(1).concat(children.slice(0, 1))) {
    if (c.exitCode !== null) continue;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
    if (c.exitCode === null) c.kill('SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!SERVER)('reproduce on Redis workers', () => {
  for (const id of ['claim1', 'claim7']) {
    test(`${id} at --scale tiny on two workers: the local run's (old path's) records and verdict rows, exactly`, async () => {
      const study = STUDIES.find((s) => s.id === id)!;
      const ex = redisExecutor({ url, queue });
      const r = await study.run({ scale: 'tiny', threads: 1, cells: ex, progress: () => {} });
      await ex.close();
      const want = FIXTURE.studies[id];
      expect(r.records.length).toBe(want.records);
      expect(JSON.parse(JSON.stringify(r.rows))).toEqual(want.rows);
      expect(sha(r.records)).toBe(want.sha256);
    });
  }

  test('the CLI: reproduce --redis --queue runs a study on the workers, keeps its cells, writes the report', () => {
    const out = join(dir, 'figures');
    const cache = join(dir, 'cache');
    const r = runCli(
      ['reproduce', '--scale', 'tiny', '--only', 'claim4', '--redis', url, '--queue', queue, '--out', out, '--cache', cache],
      {
        timeoutMs: 110_000,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`queue ${queue}`);
    expect(r.stdout).toMatch(/^claim4\t(agrees|disagrees|inconclusive)\t/m);
    expect(readFileSync(join(out, 'REPORT.md'), 'utf8')).toContain(STUDIES.find((s) => s.id === 'claim4')!.title);
    // one cached result per variant (five sample cells)
    expect(readdirSync(join(cache, 'cells')).filter((f) => f.endsWith('.json'))).toHaveLength(5);
  });
});

describe('reproduce --redis and --queue: bad input is one line, exit 2', () => {
  test('a URL that is not redis://, --queue without --redis, --threads with --redis, a server that is not there', () => {
    const bad = runCli(['reproduce', '--scale', 'tiny', '--redis', 'http://x', '--out', join(dir, 'o'), '--cache', join(dir, 'c')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('--redis: "http://x/" is not allowed; expected the scheme redis://');
    const q = runCli(['reproduce', '--scale', 'tiny', '--queue', 'q1']);
    expect(q.code).toBe(2);
    expect(q.stderr).toContain('--queue: "q1" is not allowed without --redis');
    const t = runCli(['reproduce', '--scale', 'tiny', '--redis', 'redis://127.0.0.1:1', '--threads', '2']);
    expect(t.code).toBe(2);
    expect(t.stderr).toContain('--threads: not used with --redis');
    const gone = runCli([
      'reproduce',
      '--scale',
      'tiny',
      '--redis',
      'redis://127.0.0.1:1',
      '--out',
      join(dir, 'o'),
      '--cache',
      join(dir, 'c'),
    ]);
    expect(gone.code).toBe(2);
    expect(gone.stderr.trim().split('\n')).toHaveLength(1);
    expect(gone.stderr).toContain('--redis: cannot reach "redis://127.0.0.1:1"');
  });
});
