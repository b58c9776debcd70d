// Kill tests of train run directories through the real bin (extending run.test.ts's in-process resume
// test): SIGINT mid-run checkpoints and marks the run interrupted, and the command it prints resumes to
// the bytes of an uninterrupted run; a truncated checkpoint falls back to the previous one; with none
// intact, resume exits 2 naming the file and changes nothing.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { spawnCli, waitFor } from '../helpers/spawnCli.js';

const root = mkdtempSync(join(tmpdir(), 'signalprop-durable-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// momentum: optimizer state is part of the checkpoint; 1000 steps take seconds, so a signal lands mid-run
// Under CI's load (every test file in parallel on 2 cores) a 1000-step run has taken over 120 s (alone: 9 s), so
// the runs and hooks here get a generous limit; it bounds a hang, it asserts no speed.
const SLOW = 600_000;
const RUN = [
  'train',
  '--depth',
  '3',
  '--width',
  '16',
  '--batch',
  '8',
  '--steps',
  '1000',
  '--seed',
  '4',
  '--optimizer',
  'momentum',
  '--checkpoint-every',
  '20',
];
const read = (dir: string, f: string) => readFileSync(join(dir, f));
const json = (dir: string, f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
/** Every file of a directory and its bytes. */
const snapshot = (dir: string) => Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f)).toString('base64')]));

let whole: Buffer;
let wholeFinal: unknown;
/** A run interrupted by SIGINT after two or more checkpoints (a pristine copy, never resumed). */
let cutCopy: string;
let cutStep: number;

beforeAll(() => {
  const out = join(root, 'whole');
  const r = runCli([...RUN, '--out', out, '--json'], { timeoutMs: SLOW });
  expect(r.code, r.stderr).toBe(0);
  whole = read(out, 'records.jsonl');
  wholeFinal = JSON.parse(r.stdout).final;
}, SLOW);

describe('train: signals and damaged checkpoints', () => {
  it(
    'SIGINT mid-run: exit 130, a checkpoint at the last step, status interrupted, and the printed command resumes to identical records',
    async () => {
      const cut = join(root, 'cut');
      const run = spawnCli([...RUN, '--out', cut, '--json']);
      // two regular checkpoints (steps 20 and 40) exist before the signal: a previous one to fall back to
      await waitFor(
        () => readdirSync(root).includes('cut') && readdirSync(cut).includes('checkpoint-40.json'),
        'the checkpoint at step 40',
        run,
      );
      run.child.kill('SIGINT');
      const r = await run.done;
      expect(r.code, r.stderr).toBe(130);
      const last = r.stderr.trim().split('\n').pop()!;
      const m =
        /^signalprop: SIGINT: interrupted after step (\d+) of 1000; checkpointed in (\S+); (signalprop train --resume --out \S+) continues it$/.exec(
          last,
        );
      expect(m, r.stderr).not.toBeNull();
      expect(r.stderr).not.toMatch(/\n\s+at /);
      const k = Number(m![1]);
      expect(k).toBeGreaterThanOrEqual(40);
      expect(k).toBeLessThan(1000);
      const manifest = json(cut, 'manifest.json');
      expect([manifest.status, manifest.stepsDone]).toEqual(['interrupted', k]);
      // nothing lost: the checkpoint is at step k and accounts for every record written, a prefix of the whole run's
      const ck = json(cut, 'checkpoint.json');
      expect(ck.step).toBe(k);
      const partial = read(cut, 'records.jsonl');
      expect(ck.recordsBytes).toBe(partial.length);
      expect(whole.subarray(0, partial.length).equals(partial)).toBe(true);
      expect(partial.length).toBeLessThan(whole.length);
      expect(readdirSync(cut)).not.toContain('.lock');
      cutCopy = join(root, 'cut-copy');
      cpSync(cut, cutCopy, { recursive: true });
      cutStep = k;

      const args = m![3].split(' ').slice(1);
      const resumed = runCli([...args, '--json'], { timeoutMs: SLOW });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(read(cut, 'records.jsonl').equals(whole)).toBe(true);
      expect(JSON.parse(resumed.stdout).final).toEqual(wholeFinal);
      expect(json(cut, 'manifest.json').status).toBe('completed');
    },
    SLOW,
  );

  it(
    'a truncated latest checkpoint: resume says so and falls back to the previous one, to identical records',
    () => {
      expect(cutCopy, 'needs the interrupted run of the test above').toBeDefined();
      const dir = join(root, 'truncated');
      cpSync(cutCopy, dir, { recursive: true });
      const steps = readdirSync(dir)
        .map((f) => /^checkpoint-(\d+)\.bin$/.exec(f))
        .filter((x) => x !== null)
        .map((x) => Number(x![1]))
        .sort((a, b) => b - a);
      expect(steps.length).toBe(2);
      expect(steps[0]).toBe(cutStep);
      const bin = join(dir, `checkpoint-${cutStep}.bin`);
      truncateSync(bin, Math.floor(readFileSync(bin).length / 2));
      const r = runCli(['train', '--resume', '--out', dir, '--json'], { timeoutMs: SLOW });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`note: ${bin} has`);
      expect(r.stderr).toContain(`resuming from the earlier checkpoint at step ${steps[1]}`);
      expect(read(dir, 'records.jsonl').equals(whole)).toBe(true);
      expect(JSON.parse(r.stdout).final).toEqual(wholeFinal);
    },
    SLOW,
  );

  it(
    'every checkpoint damaged (same length, other bytes): exit 2 naming the file, one line, the directory untouched',
    () => {
      expect(cutCopy, 'needs the interrupted run of the first test').toBeDefined();
      const dir = join(root, 'damaged');
      cpSync(cutCopy, dir, { recursive: true });
      for (const f of readdirSync(dir).filter((x) => x.endsWith('.bin'))) {
        const b = readFileSync(join(dir, f));
        b[b.length >> 1] ^= 0xff;
        writeFileSync(join(dir, f), b);
      }
      const before = snapshot(dir);
      const r = runCli(['train', '--resume', '--out', dir], { timeoutMs: SLOW });
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines.length, r.stderr).toBe(1);
      expect(lines[0]).toContain(`signalprop: resume: ${JSON.stringify(dir)} is not allowed`);
      expect(lines[0]).toContain(`${join(dir, `checkpoint-${cutStep}.bin`)} does not match the sha256`);
      expect(lines[0]).toContain('no earlier checkpoint is intact');
      expect(snapshot(dir)).toEqual(before);
    },
    SLOW,
  );
});
