// signalprop sample through the real bin: table, --json shape, bad input (exit 2), progress on stderr.
// (Each run of the bin costs seconds of start-up; the flag parsing itself is covered in sampler.test.ts.)
import { describe, expect, it } from 'vitest';
import { nativeKernels } from '../../src/sample/index.js';
import { runCli } from '../helpers/cli.js';

describe('signalprop sample', () => {
  it('--json prints spec, growth, its SE, the prediction and tidy records', () => {
    const r = runCli([
      'sample',
      '--depth',
      '8',
      '--width',
      '32',
      '--batch',
      '8',
      '--seeds',
      '3',
      '--seed',
      '5',
      '--threads',
      '1',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(expect.arrayContaining(['spec', 'measuredGrowth', 'measuredGrowthSE', 'predictedGrowth', 'records']));
    expect(out.spec.depth).toBe(8);
    expect(out.seeds).toEqual([5, 6, 7]);
    expect(out.measuredGrowth).toBeGreaterThan(1); // BN + ReLU explodes (λ(8) ≈ 1.79)
    expect(out.measuredGrowthSE).toBeGreaterThan(0);
    const recs = out.records as any[];
    expect(recs.every((x) => x.source === 'sampled')).toBe(true);
    // per-seed and summary records for every per-layer quantity
    for (const q of ['preact_var', 'postact_mean', 'postact_var', 'corr', 'grad_h_sq', 'grad_w_sq', 'log_grad_h_sq', 'log_grad_w_sq']) {
      expect(recs.filter((x) => x.quantity === q && x.seed !== null)).toHaveLength(8 * 3);
      const summary = recs.filter((x) => x.quantity === q && x.seed === null);
      expect(summary).toHaveLength(8);
      for (const s of summary) expect(s.n).toBe(3);
    }
    expect(recs.filter((x) => x.quantity === 'grad_growth' && x.seed === null)).toHaveLength(7);
    const g = recs.find((x) => x.quantity === 'growth' && x.seed === null);
    expect(g.value).toBeCloseTo(out.measuredGrowth, 12);
    expect(g.lo).toBeLessThan(g.value);
    expect(g.hi).toBeGreaterThan(g.value);
    // log quantities are relative to the last block
    expect(recs.find((x) => x.quantity === 'log_grad_h_sq' && x.layer === 8 && x.seed === 5).value).toBe(0);
    expect(r.stderr).toContain('3/3');
  });

  it('prints a per-layer table by default', () => {
    const r = runCli([
      'sample',
      '--depth',
      '4',
      '--width',
      '16',
      '--batch',
      '4',
      '--seeds',
      '2',
      '--threads',
      '1',
      '--order',
      'linear-act',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/layer\s+var h/);
    expect(r.stdout).toContain('measured growth');
  });

  it('--backend typescript and the default give the same growth (float64 kernels agree to ~1e-12)', () => {
    const args = ['sample', '--depth', '6', '--width', '32', '--batch', '8', '--seeds', '2', '--threads', '1', '--json'];
    const ts = JSON.parse(runCli([...args, '--backend', 'typescript']).stdout);
    const auto = JSON.parse(runCli(args).stdout);
    expect(ts.backend).toBe('typescript');
    // float64 sums of ≤ 32 terms in two orders, over 6 layers: relative differences ~1e-14; 1e-10 is far above
    expect(Math.abs(ts.measuredGrowth / auto.measuredGrowth - 1)).toBeLessThan(1e-10);
  });

  it('--backend native is canonical; its aliases blas and openblas pick the same kernels; --help says so', () => {
    const args = ['sample', '--depth', '3', '--width', '16', '--batch', '4', '--seeds', '1', '--threads', '1', '--json'];
    const runs = ['native', 'blas', 'openblas'].map((b) => runCli([...args, '--backend', b]));
    if (nativeKernels() === null) for (const r of runs) expect(r.code).toBe(2);
    else {
      const [n, ...aliases] = runs.map((r) => {
        expect(r.code, r.stderr).toBe(0);
        return JSON.parse(r.stdout);
      });
      expect(n.backend).toBe('openblas'); // the kernels' name in results, as before
      for (const a of aliases) expect(a).toEqual(n);
    }
    const help = runCli(['sample', '--help']).stdout.replace(/\s+/g, ' ');
    expect(help).toContain('auto (native when the native addon is built, else typescript) | native | typescript');
    expect(help).toContain('native is the canonical name, blas and openblas are accepted for it');
  });

  it.each([
    [['--backend', 'gpu'], '--backend'],
    [['--seeds', '0'], '--seeds'],
    [['--order', 'linear-act-bn', '--loss', 'readout'], 'loss'],
  ])('bad input %j exits 2 naming the flag', (args, name) => {
    const r = runCli(['sample', '--depth', '3', '--width', '8', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(name);
    expect(r.stdout).toBe('');
  });
});
