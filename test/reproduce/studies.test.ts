// Each study's verdict logic on measurements where the answer is known.
import { describe, expect, test } from 'vitest';
import { claim1Verdicts } from '../../analysis/claim1-explosion.js';
import { claim2Verdicts } from '../../analysis/claim2-batch.js';
import { claim3Verdicts } from '../../analysis/claim3-activations.js';
import { claim4Verdicts } from '../../analysis/claim4-order-residual.js';
import { type Claim5Step, claim5Verdicts } from '../../analysis/claim5-temporal.js';
import { type Claim6Cell, claim6Verdicts } from '../../analysis/claim6-optimizers.js';
import { type Claim7Cell, claim7Verdicts } from '../../analysis/claim7-depth.js';
import { overall } from '../../src/reproduce/index.js';

// Yang et al. (2019) Thm 8 values and closed forms used as the "known" predictions
const L8 = 1.78819;
const L32 = 1.52195;
const L128 = 1.47968;
const LIMIT = Math.PI / (Math.PI - 1);
const verdicts = (rows: { verdict: string }[]) => rows.map((r) => r.verdict);

describe('claim 1: explosion at init, forward normalized', () => {
  const fwd = { preVar: [0.6817, 0.6817, 0.001] as [number, number, number], reluMean: [0.3989, 0.3989, 0.001] as [number, number, number], reluVar: [0.3408, 0.3408, 0.001] as [number, number, number] };
  test('a measurement at λ(B) agrees; 5% off at width 512 disagrees', () => {
    const ok = claim1Verdicts([{ depth: 30, width: 512, B: 128, growth: [L128, L128 * 1.005, 0.001], ...fwd }]);
    expect(overall(ok)).toBe('agrees');
    expect(ok).toHaveLength(4);
    const bad = claim1Verdicts([{ depth: 30, width: 512, B: 128, growth: [L128, L128 * 1.05, 0.001], ...fwd }]);
    expect(verdicts(bad)[0]).toBe('disagrees');
  });
  test('narrow nets get 3%, and forward statistics are judged at the widest width only', () => {
    const rows = claim1Verdicts([
      { depth: 10, width: 128, B: 64, growth: [L32, L32 * 1.025, 0.001], ...fwd },
      { depth: 10, width: 512, B: 64, growth: [L32, L32, 0.001], ...fwd },
    ]);
    expect(rows).toHaveLength(5);
    expect(overall(rows)).toBe('agrees');
  });
});

describe('claim 2: λ(B)', () => {
  const pts = [8, 32, 128].map((B, i) => ({ act: 'relu', B, lam: [L8, L32, L128][i], measured: [L8, L32, L128][i], se: 0.002 }));
  test('measured rates on the curve, decreasing in B, and λ(4096) near π/(π−1): agrees', () => {
    expect(overall(claim2Verdicts(pts, 512, 1.4674))).toBe('agrees');
  });
  test('a rate that increases with B disagrees', () => {
    const up = pts.map((p, i) => ({ ...p, measured: 1.5 + 0.1 * i, lam: 1.5 + 0.1 * i }));
    const rows = claim2Verdicts(up, 512, LIMIT);
    expect(rows.at(-1)!.verdict).toBe('disagrees');
  });
  test('batch sizes above width/4 are not judged', () => {
    const rows = claim2Verdicts([{ act: 'relu', B: 256, lam: 1.473, measured: 1.3, se: 0.001 }], 512, LIMIT);
    expect(rows.some((r) => r.item.includes('B=256'))).toBe(false);
  });
  test('linear BN 1.016 against (B−2)/(B−3) = 1.0345 at B = 32 disagrees at 1%', () => {
    const rows = claim2Verdicts([{ act: 'identity', B: 32, lam: 30 / 29, measured: 1.016, se: 0.002 }], 512, LIMIT);
    expect(rows[0].verdict).toBe('disagrees');
  });
});

describe('claim 3: activations', () => {
  // λ∞ from theory-notes A.6
  const table: [string, number][] = [['relu', 1.46694], ['gelu', 1.31884], ['silu', 1.21208], ['tanh', 1.17781], ['elu:1', 1.07901], ['identity', 1]];
  test('rates ordered as λ∞ and all non-linear ones above 1: agrees', () => {
    const pts = table.map(([act, l]) => ({ act, lamInf: l, lamB: l * 1.005, measured: l * 1.004, se: 0.002 }));
    expect(overall(claim3Verdicts(pts, 256))).toBe('agrees');
  });
  test('a shuffled order fails the rank check', () => {
    const pts = table.map(([act, l], i) => ({ act, lamInf: l, lamB: 1.2, measured: 1.1 + 0.05 * i, se: 0.002 }));
    const rank = claim3Verdicts(pts, 256).find((r) => r.item.includes('Spearman'))!;
    expect(rank.verdict).toBe('disagrees');
  });
});

describe('claim 4: order and residual', () => {
  const base = { bn: true, se: 0.002, tol: 0.03 };
  test('residual blocks below plain BN, smaller α lower: agrees', () => {
    const rows = claim4Verdicts(
      [
        { ...base, label: 'Linear-BN-ReLU', residual: null, predicted: L128, measured: L128 },
        { ...base, label: 'Linear-BN-ReLU, residual α = 1', residual: 1, predicted: 1.1, measured: 1.1 },
        { ...base, label: 'Linear-BN-ReLU, residual α = 0.5', residual: 0.5, predicted: 1.03, measured: 1.03 },
      ],
      128,
    );
    expect(overall(rows)).toBe('agrees');
    expect(rows).toHaveLength(5);
  });
  test('a residual net that grows as fast as the plain one disagrees', () => {
    const rows = claim4Verdicts(
      [
        { ...base, label: 'Linear-BN-ReLU', residual: null, predicted: L128, measured: L128 },
        { ...base, label: 'Linear-BN-ReLU, residual α = 1', residual: 1, predicted: L128, measured: L128 },
      ],
      128,
    );
    expect(rows.find((r) => r.item.startsWith('residual blocks'))!.verdict).toBe('disagrees');
  });
});

describe('claim 5: temporal explosion', () => {
  const step = (s: number, m: number, p: number, u: number, a: number): Claim5Step => ({ step: s, measured: m, predicted: p, corr: 0.32, unitCorr: u, aCorr: a, omegaW: 1 });
  test('growth falling to 1, tracked by the prediction, correlation rising: agrees', () => {
    const series = [0, 1, 2, 5, 10, 20, 50, 100].map((s) => {
      const g = 1 + (L128 - 1) * Math.exp(-s / 3);
      return step(s, g, g * 1.01, 0.05 + 0.002 * s, 1 - 0.004 * s);
    });
    expect(overall(claim5Verdicts(series, L128, 128))).toBe('agrees');
  });
  test('a prediction that departs late disagrees on that row only', () => {
    const series = [0, 1, 2, 5, 10, 20, 50, 100].map((s) => step(s, 1.1, s <= 20 ? 1.1 : 0.8, 0.05 + 0.002 * s, 0.5));
    series[0] = step(0, L128, L128, 0.05, 1);
    const rows = claim5Verdicts(series, L128, 128);
    expect(rows.find((r) => r.item.startsWith('…and later'))!.verdict).toBe('disagrees');
    expect(rows.find((r) => r.item.includes('steps 0–20'))!.verdict).toBe('agrees');
  });
});

describe('claim 6: optimizers', () => {
  const labels = ['SGD', 'SGD + warmup', 'SGD + clipping', 'LARS', 'LAMB', 'LALC (ours)'];
  const cells = (largeSpike: number, lalcAcc: number): Claim6Cell[] =>
    [32, 512].flatMap((B) =>
      labels.map((label) => ({
        B,
        label,
        spikes: [B === 512 && label === 'SGD' ? largeSpike : 1.05],
        diverged: 0,
        acc: [label === 'LALC (ours)' ? lalcAcc : label === 'LARS' ? 0.8 : 0.85],
      })),
    );
  test('a large-batch SGD spike tamed by every method, LALC as good as warmup and better than LARS: agrees', () => {
    expect(overall(claim6Verdicts(cells(1.5, 0.86), 1))).toBe('agrees');
  });
  test('no spike at the large batch, LALC worse: inconclusive, never a pass', () => {
    const rows = claim6Verdicts(cells(1.0, 0.5), 1);
    expect(rows[0].verdict).toBe('inconclusive');
    expect(overall(rows)).toBe('inconclusive');
  });
});

describe('claim 7: trainable depth', () => {
  const xi = new Map([[8, 1.72], [32, 2.38], [128, 2.55]]); // 1/ln λ(B) for ReLU
  const grid = (acc: (B: number, d: number) => number): Claim7Cell[] => [8, 32, 128].flatMap((B) => [4, 8, 16, 32, 64].map((depth) => ({ B, depth, accuracy: acc(B, depth), xi: xi.get(B)! })));
  test('trainable below ~16ξ(B), chance beyond: agrees', () => {
    expect(overall(claim7Verdicts(grid((B, d) => (d <= 16 * xi.get(B)! ? 0.9 : 0.1)), 0.5))).toBe('agrees');
  });
  test('deep nets that still train are not in agreement', () => {
    const rows = claim7Verdicts(grid(() => 0.9), 0.5);
    expect(rows.some((r) => r.verdict !== 'agrees')).toBe(true);
  });
});
