// Research-scale inputs (issue 15, item 11): a million records and a million sweep cells load without
// overflowing the stack (no spread of data-sized arrays into push / Math.max / splice).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxOf, minOf, pushAll } from '../../src/io/arrays.js';
import { runCli } from '../helpers/cli.js';

const BIN = fileURLToPath(new URL('../../bin/signalprop.js', import.meta.url));
const N = 1_000_000;
let dir: string;
let file: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sp-scale-'));
  file = join(dir, 'big.jsonl');
  // theory records of one spec (from the real CLI), then a million compact sampled records of the same spec
  const p = runCli(['predict', '--depth', '4', '--width', '8', '--batch', '8', '--json']);
  expect(p.code, p.stderr).toBe(0);
  const theory = JSON.parse(p.stdout).records as { specId: string }[];
  const fd = openSync(file, 'w');
  writeSync(fd, `${theory.map((r) => JSON.stringify(r)).join('\n')}\n`);
  const sid = theory[0].specId;
  let chunk = '';
  for (let i = 0; i < N; i++) {
    chunk += `{"source":"sampled","quantity":"grad_growth","layer":${1 + (i % 4)},"seed":${1 + (i >> 2)},"value":${(1.5 + 0.01 * Math.sin(i)).toFixed(4)},"specId":"${sid}","depth":4,"batch":8}\n`;
    if (chunk.length > 1 << 20) {
      writeSync(fd, chunk);
      chunk = '';
    }
  }
  writeSync(fd, chunk);
  closeSync(fd);
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('array helpers at any size', () => {
  it('maxOf / minOf / pushAll handle a million elements where the spread throws', () => {
    const big = Array.from({ length: N }, (_, i) => (i * 7919) % N);
    expect(() => Math.max(...big)).toThrow(RangeError); // the bug class this guards against
    expect(maxOf(big)).toBe(N - 1);
    expect(minOf(big)).toBe(0);
    expect(pushAll([1], big).length).toBe(N + 1);
    expect(maxOf([])).toBe(Number.NEGATIVE_INFINITY);
    expect(minOf([])).toBe(Number.POSITIVE_INFINITY);
    expect(maxOf([1, Number.NaN, 3])).toBeNaN();
  });
});

describe('a million records', () => {
  it('compare loads them and pairs them', () => {
    const r = runCli(['compare', file, '--json'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stderr).toContain(`compare: ${N + 40} records from 1 input`);
    const summary = JSON.parse(r.stdout);
    expect(JSON.stringify(summary)).toContain('grad_growth');
    expect(r.stderr).not.toMatch(/Maximum call stack|RangeError/);
  }, 120_000);

  it('figure draws from them', () => {
    const out = join(dir, 'figs');
    const r = runCli(['figure', 'gradient-vs-depth', '--from', file, '--out', out], { timeoutMs: 120_000 });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stdout).toContain(join(out, 'gradient-vs-depth.svg'));
  }, 120_000);

  it('report draws from them', () => {
    const out = join(dir, 'r.html');
    const r = runCli(['report', '--from', file, '--out', out, '--figures', 'lambda-vs-batch'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stdout.trim()).toBe(out);
  }, 120_000);
});

describe('a million sweep cells', () => {
  it('sweep --dry-run lists 1,000,000 cells', () => {
    const f = join(dir, 'million.json');
    const eps = Array.from({ length: 100 }, (_, i) => 1e-5 * (1 + i));
    const batch = Array.from({ length: 100 }, (_, i) => 4 + i);
    writeFileSync(
      f,
      JSON.stringify({
        name: 'million',
        kind: 'predict',
        base: { order: 'linear-bn-act', depth: 4, width: 8 },
        axes: { batch, 'bn.eps': eps },
        seeds: 100,
      }),
    );
    // (runCli's spawnSync keeps 1 MB of stdout; a million cells print ~100 MB)
    const r = spawnSync(process.execPath, [BIN, 'sweep', f, '--dry-run'], { encoding: 'utf8', timeout: 180_000, maxBuffer: 1 << 30 });
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.length).toBe(N);
    const last = JSON.parse(lines[N - 1]);
    expect(last.index).toBe(N - 1);
    expect(last.seed).toBe(100);
    expect(last.axes).toEqual({ batch: 103, 'bn.eps': eps[99] });
    expect(new Set(lines.slice(0, 1000).map((l) => JSON.parse(l).id)).size).toBe(1000);
  }, 180_000);
});
