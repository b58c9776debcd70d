// Crashes on inputs the tool accepts (issue 15, items 6, 10, 12, 13, 15): through the real bin, as a user runs it.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/io/files.js';
import { capThreads, estimateSample, estimateTrain, formatBytes, memoryProblem } from '../../src/io/memory.js';
import { outPathProblem } from '../../src/io/outPath.js';
import { makeSpec } from '../../src/network/index.js';
import { runCli } from '../helpers/cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sp-crash-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TINY = ['--depth', '4', '--width', '8', '--batch', '8'];
/** One line on stderr, naming the flag, no stack trace. */
function oneLine(stderr: string, flag: string): void {
  const lines = stderr.trim().split('\n');
  expect(lines.length, stderr).toBe(1);
  expect(lines[0]).toContain(flag);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('item 10: threads start from any directory and from an installed copy', () => {
  it('sample --threads 2 from a directory without node_modules', () => {
    const cwd = join(dir, 'elsewhere');
    mkdirSync(cwd, { recursive: true });
    const r = runCli(['sample', ...TINY, '--seeds', '2', '--threads', '2', '--json'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('ERR_MODULE_NOT_FOUND');
    expect(JSON.parse(r.stdout).seeds).toEqual([1, 2]);
  }, 60_000);

  it('an installed copy (prefix/lib/node_modules/signalprop, bin symlinked in prefix/bin) runs sample and sweep on threads from /tmp', () => {
    // what `npm install -g` lays out: the package in <prefix>/lib/node_modules/signalprop with its own
    // node_modules (here a symlink to this checkout's), and <prefix>/bin/signalprop a symlink to its bin
    const prefix = join(dir, 'prefix');
    const pkg = join(prefix, 'lib', 'node_modules', 'signalprop');
    mkdirSync(pkg, { recursive: true });
    for (const d of ['bin', 'src', 'analysis', 'package.json']) cpSync(join(ROOT, d), join(pkg, d), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
    mkdirSync(join(prefix, 'bin'));
    symlinkSync(join(pkg, 'bin', 'signalprop.js'), join(prefix, 'bin', 'signalprop'));
    const cwd = mkdtempSync(join(tmpdir(), 'sp-cwd-'));
    try {
      const run = (args: string[]) =>
        spawnSync(process.execPath, [join(prefix, 'bin', 'signalprop'), ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
      const s = run(['sample', ...TINY, '--seeds', '2', '--threads', '2', '--json']);
      expect(s.status, s.stderr).toBe(0);
      writeFileSync(
        join(cwd, 'sw.json'),
        JSON.stringify({ name: 'g', kind: 'sample', base: { depth: 4, width: 8, batch: 8 }, axes: { depth: [4, 5] } }),
      );
      const w = run(['sweep', 'sw.json', '--threads', '2', '--no-progress', '--json']);
      expect(w.status, w.stderr).toBe(0);
      expect(JSON.parse(w.stdout).done).toBe(2);
      expect(existsSync(join(cwd, 'sweep-g', 'records.jsonl'))).toBe(true);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('item 13: output paths are checked before the work', () => {
  it.each([
    ['predict', ['predict', ...TINY, '--out', '.'], 'is a directory'],
    ['sample', ['sample', ...TINY, '--seeds', '100000', '--out', '.'], 'is a directory'],
    ['spectrum', ['spectrum', '--out', 'adir'], 'is a directory'],
    ['report', ['report', '--from', 'x.jsonl', '--out', 'adir'], 'is a directory'],
    ['under a file', ['predict', ...TINY, '--out', 'afile/x.json'], 'is a file, not a directory'],
    ['deep under a file', ['predict', ...TINY, '--out', 'afile/a/b/x.json'], 'is a file, not a directory'],
    ['compare dir is a file', ['compare', 'x.jsonl', '--out', 'afile'], 'is a file; expected a directory'],
    ['figure dir under a file', ['figure', 'all', '--from', 'x.jsonl', '--out', 'afile/figs'], 'is a file, not a directory'],
    ['sweep store is a file', ['sweep', 'sw.json', '--out', 'afile'], 'is a file; expected a directory'],
    ['train run dir is a file', ['train', ...TINY, '--steps', '1', '--out', 'afile'], 'is a file; expected a directory'],
    ['reproduce cache under a file', ['reproduce', '--scale', 'tiny', '--cache', 'afile/c'], 'is a file, not a directory'],
    ['/proc', ['predict', ...TINY, '--out', '/proc/self/x.json'], 'is under /proc'],
    ['/dev', ['sample', ...TINY, '--out', '/dev/null'], 'is under /dev'],
    ['/sys', ['compare', 'x.jsonl', '--out', '/sys/x'], 'is under /sys'],
  ])(
    '%s: exit 2 at once, one line, nothing left behind',
    (_name, args, why) => {
      const cwd = mkdtempSync(join(dir, 'out-'));
      mkdirSync(join(cwd, 'adir'));
      writeFileSync(join(cwd, 'afile'), '{}');
      writeFileSync(join(cwd, 'x.jsonl'), `${JSON.stringify({ source: 'theory', quantity: 'q', layer: 1, value: 1 })}\n`);
      writeFileSync(
        join(cwd, 'sw.json'),
        JSON.stringify({ name: 's', kind: 'predict', base: { depth: 4, width: 8 }, axes: { depth: [4, 5] } }),
      );
      const before = readdirSync(cwd).sort();
      const t0 = Date.now();
      const r = runCli(args, { cwd, timeoutMs: 30_000 });
      expect(r.code, r.stderr).toBe(2);
      oneLine(r.stderr, args.includes('--cache') ? '--cache' : '--out');
      expect(r.stderr).toContain(why);
      expect(Date.now() - t0).toBeLessThan(20_000); // before the work (sample of 100000 seeds would take minutes)
      expect(readdirSync(cwd).sort()).toEqual(before);
      expect(readdirSync(join(cwd, 'adir'))).toEqual([]);
    },
    40_000,
  );

  it('outPathProblem: fine paths pass; an unwritable directory is named', () => {
    expect(outPathProblem(join(dir, 'new', 'deeper', 'x.json'), 'file')).toBeNull();
    expect(outPathProblem(join(dir, 'new-dir'), 'dir')).toBeNull();
    expect(outPathProblem(dir, 'dir')).toBeNull();
    expect(outPathProblem('', 'file')).toMatch(/empty/);
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    if (process.getuid?.() !== 0) {
      chmodSync(ro, 0o500);
      try {
        expect(outPathProblem(join(ro, 'x.json'), 'file')).toMatch(/not writable \(EACCES/);
      } finally {
        chmodSync(ro, 0o700);
      }
      return;
    }
    // root writes past the mode bits; an immutable directory (chattr +i) it cannot write into, and
    // access(W_OK) says so (EPERM)
    const set = spawnSync('chattr', ['+i', ro], { encoding: 'utf8' });
    if (set.status !== 0) {
      console.warn(`unwritable-directory case skipped: chattr +i failed as root (${(set.stderr || set.error?.message || '').trim()})`);
      return;
    }
    try {
      expect(outPathProblem(join(ro, 'x.json'), 'file')).toMatch(/not writable \(EPERM/);
      const r = runCli(['predict', '--depth', '3', '--out', join(ro, 'p.json')]);
      expect(r.code, r.stderr).toBe(2);
      oneLine(r.stderr, 'not writable');
      expect(readdirSync(ro)).toEqual([]);
    } finally {
      spawnSync('chattr', ['-i', ro]);
    }
  }, 60_000);

  it('writeFileAtomic leaves no temp file when the rename fails', () => {
    const d = mkdtempSync(join(dir, 'atomic-'));
    mkdirSync(join(d, 'target'));
    writeFileSync(join(d, 'target', 'keep'), 'x');
    expect(() => writeFileAtomic(join(d, 'target'), 'data')).toThrow();
    expect(readdirSync(d)).toEqual(['target']);
  });
});

describe('item 12: sizes that cannot fit are refused before they start', () => {
  const small = { ...process.env, SIGNALPROP_TOTALMEM: String(24e9) };
  const run = (args: string[], env: NodeJS.ProcessEnv = small) => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'signalprop.js'), ...args], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
      env,
    });
    return { code: r.status, stderr: r.stderr, stdout: r.stdout };
  };
  it.each([
    [
      'sample width 60000',
      ['sample', '--width', '60000', '--depth', '4', '--batch', '8', '--threads', '1'],
      /sample: needs ≈ \d+ GB of memory \(weights \d+ GB/,
    ],
    [
      'sample depth 100000 × width 256',
      ['sample', '--depth', '100000', '--width', '256', '--batch', '8', '--threads', '1'],
      /needs ≈ 5\d GB .*weights 5\d GB/,
    ],
    ['sample batch 100000', ['sample', '--batch', '100000', '--width', '64', '--depth', '8', '--threads', '1'], /Gram matrices/],
    ['spectrum width 60000', ['spectrum', '--width', '60000'], /spectrum: needs ≈/],
    ['train width 60000', ['train', '--width', '60000', '--depth', '4', '--steps', '1'], /train: needs ≈/],
    [
      'predict Gram dynamics at batch 100000',
      ['predict', '--batch', '100000', '--width', '8', '--depth', '4', '--dynamics', 'always'],
      /predict: needs ≈ \d+ GB of memory \(Gram dynamics/,
    ],
    // auto runs the dynamics where BSB1 is not attracting: GELU at B = 100000 (λ_L > 1, bsb1Stability)
    [
      'predict --dynamics auto where BSB1 is not attracting, batch 100000',
      ['predict', '--batch', '100000', '--width', '8', '--depth', '4', '--activation', 'gelu'],
      /predict: needs ≈ \d+ GB of memory \(Gram dynamics/,
    ],
  ])(
    '%s: exit 2 naming what it needs and what the machine has',
    (_n, args, re) => {
      const r = run(args);
      expect(r.code, r.stderr).toBe(2);
      oneLine(r.stderr, 'needs ≈');
      expect(r.stderr).toMatch(re);
      expect(r.stderr).toContain('this machine has 24 GB');
    },
    60_000,
  );

  it('reproduce at a scale whose largest piece of work cannot fit on one thread is refused before any study runs', () => {
    // claim 6 at paper scale trains at B = 4096 (depth 32, width 512): ≈ 2.3 GB per thread (estimateTrain)
    const r = run(['reproduce', '--scale', 'paper', '--only', 'claim6', '--out', join(dir, 'rp-out'), '--cache', join(dir, 'rp-cache')], {
      ...process.env,
      SIGNALPROP_TOTALMEM: String(1e9),
    });
    expect(r.code, r.stderr).toBe(2);
    oneLine(r.stderr, 'reproduce: needs ≈');
    expect(r.stderr).toMatch(
      /needs ≈ 2\.\d GB of memory for claim6's training at B 4096 .*this machine has 1\.0 GB; use a smaller --scale/,
    );
    expect(existsSync(join(dir, 'rp-out'))).toBe(false);
  }, 60_000);

  it('a sweep whose largest cell cannot fit is refused before any cell runs', () => {
    const f = join(dir, 'bigsweep.json');
    writeFileSync(f, JSON.stringify({ name: 'bigsweep', kind: 'sample', base: { depth: 4, batch: 8 }, axes: { width: [8, 60000] } }));
    const r = run(['sweep', f, '--threads', '1', '--out', join(dir, 'bigsweep-store')]);
    expect(r.code, r.stderr).toBe(2);
    oneLine(r.stderr, 'sweep: needs ≈');
    expect(existsSync(join(dir, 'bigsweep-store'))).toBe(false);
  }, 60_000);

  it('--threads above the cores is capped with a warning', () => {
    const r = run(['sample', ...TINY, '--seeds', '2', '--threads', '64', '--json'], { ...process.env, SIGNALPROP_CORES: '1' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('--threads: 64 is more than the 1 core of this machine (os.availableParallelism()); using 1');
  }, 60_000);

  it('the estimators: weights of depth 100000 × width 256 are ≈ 52 GB; small nets fit', () => {
    const deep = makeSpec({ depth: 100000, width: 256, batch: 8 });
    expect(estimateSample(deep, 1, 1).parts[0][1] / 1e9).toBeCloseTo(52.4, 0);
    expect(estimateSample(deep, 8, 4).bytes).toBeGreaterThan(4 * 52e9);
    expect(memoryProblem('sample', estimateSample(makeSpec({ depth: 32, width: 512, batch: 64 }), 8, 2), 'x')).toBeNull();
    expect(estimateTrain(makeSpec({ depth: 8, width: 128, batch: 128 })).bytes).toBeLessThan(1e9);
    expect(formatBytes(29.4e9)).toBe('29 GB');
    expect(capThreads('--threads', 1).warning).toBeNull();
  });
});

describe('item 6: values that overflow are named, not printed as "-"', () => {
  it('sample of a no-BN net with σ_w² = 1e308: exit 3, one line saying what overflowed and why', () => {
    const r = runCli(['sample', '--order', 'linear-act', ...TINY, '--sigma-w2', '1e308', '--seeds', '2', '--threads', '1']);
    expect(r.code, r.stderr).toBe(3);
    const line = r.stderr.split('\n').find((l) => l.includes('overflowed'));
    expect(line).toMatch(
      /sample: the measured growth is not finite and \d+ of \d+ values are NaN or ±Infinity.*: the values overflowed float64; without BatchNorm/,
    );
    expect(r.stdout).toMatch(/measured growth of ‖∂L\/∂h‖² per layer: nan/);
  }, 60_000);

  it('--json still prints (the growth as null) with exit 3; a finite run says nothing and exits 0', () => {
    const r = runCli(['sample', '--order', 'linear-act', ...TINY, '--sigma-w2', '1e300', '--seeds', '1', '--threads', '1', '--json']);
    expect(r.code, r.stderr).toBe(3);
    expect(JSON.parse(r.stdout).measuredGrowth).toBeNull();
    const ok = runCli(['sample', '--order', 'linear-act', ...TINY, '--seeds', '1', '--threads', '1', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).not.toContain('overflowed');
  }, 60_000);
});

describe('item 15: train --json and sample --json both carry the records array', () => {
  it('train --json: records is the array written to records.jsonl', () => {
    const out = join(dir, 'run15');
    const r = runCli(['train', ...TINY, '--steps', '3', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(Array.isArray(s.records)).toBe(true);
    const lines = readFileSync(join(out, 'records.jsonl'), 'utf8').trim().split('\n');
    expect(s.records.length).toBe(lines.length);
    expect(s.records[0].source).toBe('trained');
    const sample = JSON.parse(runCli(['sample', ...TINY, '--seeds', '1', '--threads', '1', '--json']).stdout);
    expect(Array.isArray(sample.records)).toBe(true);
  }, 90_000);
});
