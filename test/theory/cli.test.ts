import { describe, expect, test } from 'vitest';
import { reluRateYang } from '../../src/theory/index.js';
import { runCli } from '../helpers/cli.js';

describe('signalprop predict', () => {
  test('prints a readable table with λ(B) for Linear-BN-ReLU', () => {
    const r = runCli(['predict', '--depth', '5', '--batch', '32']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`predicted growth of ‖∂L/∂h‖² per layer: ${reluRateYang(32).toFixed(5)}`);
    expect(r.stdout).toMatch(/layer\s+preact_var\s+postact_mean/);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .filter((l) => /^\s+\d+\s/.test(l)),
    ).toHaveLength(5);
  });
  test('--json: spec, predictedGrowth, depthScale and records; no --batch means the large-batch limit', () => {
    const r = runCli(['predict', '--depth', '4', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.spec.batch).toBeNull();
    expect(j.predictedGrowth).toBeCloseTo(Math.PI / (Math.PI - 1), 12);
    expect(j.depthScale).toBeCloseTo(1 / Math.log(Math.PI / (Math.PI - 1)), 12);
    expect(j.records.filter((x: any) => x.quantity === 'grad_growth')).toHaveLength(3);
  });
  test('bad input: exit 2 with the flag, the value and what is allowed', () => {
    const r = runCli(['predict', '--batch', 'eight']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--batch: "eight" is not allowed; expected a decimal integer >= 4');
    const s = runCli(['predict', '--batch', '3']);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain('--batch: "3" is not allowed; expected a decimal integer >= 4 (the BatchNorm theory');
  });
  test('--help', () => {
    const r = runCli(['predict', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--json');
  });
});
