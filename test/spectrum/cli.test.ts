// signalprop spectrum through the real bin.
import { describe, expect, it } from 'vitest';
import { makeSpec } from '../../src/network/index.js';
import { jacobianMoments } from '../../src/theory/spectrum.js';
import { runCli } from '../helpers/cli.js';

describe('signalprop spectrum', () => {
  it('bad flags exit 2 with a message naming the flag, the value and what is allowed', () => {
    for (const [args, flag] of [
      [['--seeds', '0'], '--seeds'],
      [['--bins', 'x'], '--bins'],
    ] as const) {
      const r = runCli(['spectrum', '--depth', '2', '--width', '16', ...args]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(flag);
      expect(r.stdout).toBe('');
    }
  });

  it('--json: moments, KS, predicted density, histogram and tidy records', () => {
    const r = runCli([
      'spectrum',
      '--depth',
      '2',
      '--width',
      '48',
      '--activation',
      'relu',
      '--sigma-w2',
      '2',
      '--seeds',
      '2',
      '--seed',
      '7',
      '--bins',
      '6',
      '--points',
      '30',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('spectrum: 2/2 networks'); // progress on stderr, JSON alone on stdout
    const out = JSON.parse(r.stdout);
    expect(out.spec).toMatchObject({ depth: 2, width: 48, order: 'linear-act', activation: 'relu' });
    // theory moments are the closed form for the same spec, computed here independently of the CLI
    const m = jacobianMoments(makeSpec({ depth: 2, width: 48, order: 'linear-act', activation: 'relu', init: { sigmaW2: 2 } }));
    expect(out.moments.m1).toBeCloseTo(m.m1, 12);
    expect(out.moments.m2).toBeCloseTo(m.m2, 12);
    expect(out.predicted.sv).toHaveLength(30);
    expect(out.predicted.density).toHaveLength(30);
    expect(out.zeroMass).toBe(0.5);
    expect(out.ks.perSeed).toHaveLength(2);
    expect(out.histogram.empirical).toHaveLength(6);
    const sumE = out.histogram.empirical.reduce((a: number, b: number) => a + b, 0);
    expect(Math.abs(sumE - 1)).toBeLessThan(1e-12);
    const sv = out.records.filter((x: any) => x.quantity === 'jac_sv');
    expect(sv).toHaveLength(2 * 48);
    expect(new Set(sv.map((x: any) => x.seed))).toEqual(new Set([7, 8]));
    expect(out.records.filter((x: any) => x.quantity === 'jac_density')).toHaveLength(30);
  });

  it('prints a human summary without --json', () => {
    const r = runCli([
      'spectrum',
      '--depth',
      '1',
      '--width',
      '32',
      '--activation',
      'identity',
      '--sigma-w2',
      '1',
      '--seeds',
      '1',
      '--bins',
      '4',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('moments of JJᵀ');
    expect(r.stdout).toContain('KS distance');
    expect(r.stdout).toContain('predicted density of σ');
  });
});
