// Claim 9 (analysis/claim9-conv.ts): its verdict rule on points where the answer is known, and the study itself
// at the tiny scale, as `signalprop reproduce --only claim9 --scale tiny` runs it (without the rendering): it is
// registered, and its rows exist and are well-formed. The run is the study's smallest grid (two depths and two
// batches of conv-bn-act and a one-stage ResNet, one vgg and one 3-stage resnet, a 6-step Fashion-MNIST run).
import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { type Claim9Point, claim9, claim9Verdicts, finiteChannelTol } from '../../analysis/claim9-conv.js';
import { STUDIES } from '../../analysis/index.js';
import { AGREEMENT_Z } from '../../src/records/index.js';

const point = (measured: number, half: number, se: number): Claim9Point => {
  const predicted = 1.3;
  return {
    net: 'vgg',
    depth: 6,
    batch: 2,
    predicted,
    predictedSE: 0,
    measured,
    se,
    half,
    halfSE: se,
    tol: finiteChannelTol(predicted, measured, half),
  };
};

describe('claim 9: the derived tolerance and its verdicts', () => {
  test('the tolerance is the measured finite-channel bias |g(C/2) − g(C)| relative to the prediction', () => {
    // g(C) = g∞ + a/C: g(C/2) − g(C) = a/C, the bias at C; here a/C = 0.026 on p = 1.3: 2%
    expect(finiteChannelTol(1.3, 1.326, 1.352)).toBeCloseTo(0.02, 12);
    expect(finiteChannelTol(1.3, 1.352, 1.326)).toBeCloseTo(0.02, 12);
  });

  test('a point within bias + 2 se agrees; one beyond it disagrees (the rule can fail)', () => {
    // bias 0.026, se 0.005: band 0.026 + 0.01 around 1.3
    expect(claim9Verdicts([point(1.335, 1.361, 0.005)], [])[0].verdict).toBe('agrees');
    expect(claim9Verdicts([point(1.34, 1.366, 0.005)], [])[0].verdict).toBe('disagrees');
  });

  fcTest.prop([
    fc.double({ min: 0.5, max: 3, noNaN: true }),
    fc.double({ min: -0.2, max: 0.2, noNaN: true }),
    fc.double({ min: 1e-4, max: 0.05, noNaN: true }),
  ])('agrees exactly when |measured − predicted| ≤ |half − measured| + 2·se', (measured, bias, se) => {
    const p = point(measured, measured + bias, se);
    const row = claim9Verdicts([p], [])[0];
    const inside = Math.abs(measured - p.predicted) <= Math.abs(bias) + AGREEMENT_Z * se;
    // the rule compares in floating point: leave a relative 1e-12 margin at the boundary
    if (Math.abs(Math.abs(measured - p.predicted) - (Math.abs(bias) + AGREEMENT_Z * se)) > 1e-12)
      expect(row.verdict === 'agrees').toBe(inside);
  });
});

describe('claim 9 at the tiny scale', () => {
  test('is registered, and runs: growth rows for every net, flat-variance rows, the training row, both figures', async () => {
    expect(STUDIES.map((s) => s.id)).toContain('claim9');
    const res = await claim9.run({ scale: 'tiny', threads: 2, progress: () => {} });
    const growth = res.rows.filter((r) => r.item.endsWith(': per-layer growth'));
    for (const net of ['conv-bn-act', 'resnet stage', 'vgg', 'resnet'])
      expect(
        growth.some((r) => r.item.startsWith(`${net}, depth`)),
        net,
      ).toBe(true);
    for (const r of growth) {
      expect(['agrees', 'disagrees', 'inconclusive']).toContain(r.verdict);
      // growth of ‖∂L/∂h‖² per layer: positive, finite, with a finite non-negative derived tolerance and se
      expect(r.predicted > 0 && Number.isFinite(r.predicted), r.item).toBe(true);
      expect(r.measured > 0 && Number.isFinite(r.measured), r.item).toBe(true);
      expect(r.relTol >= 0 && Number.isFinite(r.relTol), r.item).toBe(true);
      expect((r.se as number) > 0 && Number.isFinite(r.se), r.item).toBe(true);
      expect(r.reason.length).toBeGreaterThan(0);
    }
    // the table holds each point's measurement at C/2: the row's tolerance is |g(C/2) − g(C)|/p from it
    const table = res.tables[0];
    expect(table.rows.length).toBe(growth.length);
    const col = (name: string) => table.header.indexOf(name);
    for (const [i, row] of table.rows.entries()) {
      const [p, m, h] = [row[col('theory')], row[col('measured at C')], row[col('measured at C/2')]] as number[];
      expect(growth[i].relTol).toBeCloseTo(Math.abs(h - m) / p, 12);
    }
    expect(res.rows.filter((r) => r.item.includes('post-activation variance flat')).length).toBeGreaterThan(0);
    expect(res.rows.some((r) => r.item.startsWith('training (Fashion-MNIST'))).toBe(true);
    expect(res.figures.map((f) => f.name)).toEqual(['claim9-gradient-depth', 'claim9-stages']);
    // the stage figure has theory and sampled points at every layer of both staged nets
    const stages = (res.figures[1].vl.data as { values: { net: string; source: string }[] }).values;
    for (const net of ['vgg', 'resnet']) {
      expect(stages.filter((v) => v.net === net && v.source === 'theory').length).toBeGreaterThan(0);
      expect(stages.filter((v) => v.net === net && v.source !== 'theory').length).toBeGreaterThan(0);
    }
  }, 300_000);
});
