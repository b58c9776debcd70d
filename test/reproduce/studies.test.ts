// Each study's verdict logic on measurements where the answer is known.
import { describe, expect, test } from 'vitest';
import { claim1Verdicts } from '../../analysis/claim1-explosion.js';
import { claim2Verdicts } from '../../analysis/claim2-batch.js';
import { claim3Verdicts, measuredOf } from '../../analysis/claim3-activations.js';
import { spearman } from '../../analysis/common.js';
import { claim4Verdicts } from '../../analysis/claim4-order-residual.js';
import { type Claim5Step, claim5Verdicts, giaReport } from '../../analysis/claim5-temporal.js';
import { type Claim6Cell, claim6Verdicts } from '../../analysis/claim6-optimizers.js';
import { type Claim7Cell, claim7Verdicts } from '../../analysis/claim7-depth.js';
import { type Claim8Point, type Claim8Step, claim8Verdicts } from '../../analysis/claim8-norms.js';
import { overall } from '../../src/reproduce/index.js';

// Yang et al. (2019) Thm 8 values and closed forms used as the "known" predictions
const L8 = 1.78819;
const L32 = 1.52195;
const L128 = 1.47968;
const LIMIT = Math.PI / (Math.PI - 1);
const verdicts = (rows: { verdict: string }[]) => rows.map((r) => r.verdict);

describe('claim 1: explosion at init, forward normalized', () => {
  const fwd = {
    preVar: [0.6817, 0.6817, 0.001] as [number, number, number],
    reluMean: [0.3989, 0.3989, 0.001] as [number, number, number],
    reluVar: [0.3408, 0.3408, 0.001] as [number, number, number],
  };
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
  test('batch sizes 4 and 5 (1/χ²_(B−1) of infinite variance) are not judged; 6 is', () => {
    const rows = claim2Verdicts(
      [4, 5, 6].map((B) => ({ act: 'relu', B, lam: 3, measured: 2.9, se: 0.001 })),
      512,
      LIMIT,
    );
    expect(rows.some((r) => r.item.includes('B=4') || r.item.includes('B=5'))).toBe(false);
    expect(rows.find((r) => r.item.includes('B=6'))!.verdict).toBe('disagrees');
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
  const table: [string, number][] = [
    ['relu', 1.46694],
    ['gelu', 1.31884],
    ['silu', 1.21208],
    ['tanh', 1.17781],
    ['elu:1', 1.07901],
    ['identity', 1],
  ];
  test('rates ordered as λ∞ and all non-linear ones above 1: agrees', () => {
    const pts = table.map(([act, l]) => ({ act, lamInf: l, lamB: l * 1.005, measured: l * 1.004, se: 0.002 }));
    expect(overall(claim3Verdicts(pts, 256))).toBe('agrees');
  });
  test('where BSB1 is not attracting, the attracting state is the theory judged, not λ(B)', () => {
    // SiLU at B = 256 (audit: λ(B) = 1.217 at BSB1, attracting-state rate ≈ 1.37, deep nets ≈ 1.37)
    const silu = { act: 'silu', lamInf: 1.21208, lamB: 1.2173, measured: 1.365, se: 0.005, lambdaL: 1.09, attracting: false };
    const good = claim3Verdicts(
      [{ ...silu, attractorRate: 1.37, attractorSE: 0.01, deepMeasured: 1.372, deepSE: 0.003, window: [40, 74] }],
      256,
    )[0];
    expect(good.verdict).toBe('agrees');
    expect(good.predicted).toBe(1.37);
    expect(good.item).toContain('attracting state');
    const bad = claim3Verdicts([{ ...silu, attractorRate: 1.2173, attractorSE: 0.001, deepMeasured: 1.372, deepSE: 0.003 }], 256)[0];
    expect(bad.verdict).toBe('disagrees');
    expect(claim3Verdicts([silu], 256)[0].verdict).toBe('inconclusive'); // no dynamics run: not judged against λ(B)
    // the λ∞ ordering is judged where BSB1 attracts; SiLU above leaky ReLU is what its attracting state predicts
    const pts = [
      ...table.filter(([a]) => a !== 'silu' && a !== 'gelu').map(([act, l]) => ({ act, lamInf: l, lamB: l, measured: l, se: 0.002 })),
      { act: 'leaky-relu:0.1', lamInf: 1.34278, lamB: 1.348, measured: 1.348, se: 0.002 },
      { ...silu, attractorRate: 1.4, attractorSE: 0.02, deepMeasured: 1.386, deepSE: 0.007 },
      {
        ...silu,
        act: 'gelu',
        lamInf: 1.31884,
        lamB: 1.325,
        lambdaL: 1.053,
        attractorRate: 1.396,
        attractorSE: 0.02,
        deepMeasured: 1.374,
        deepSE: 0.009,
      },
    ];
    const rows = claim3Verdicts(pts, 256);
    expect(rows.find((r) => r.item.startsWith('the measured rates are ordered'))!.item).toContain('where BSB1 attracts');
    expect(overall(rows)).toBe('agrees');
    expect(spearmanOrder(pts)).toBeLessThan(0.9); // the plain λ∞ ordering over all of them would have failed
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
  // a step whose factors multiply to R exactly; GIA = R/(α_W·κ·(1 − ρ_P)·A/A_GIA)
  const step = (
    s: number,
    R: number,
    alphaW: number,
    kappa: number,
    aRatio: number,
    rhoP: number,
    unitCorr: number,
    productErr = 1e-7,
  ): Claim5Step => {
    const weightGain = 2;
    const fW = weightGain * alphaW;
    const fBN = R / fW;
    const unitGain = fBN / (kappa * (1 - rhoP));
    return {
      step: s,
      measured: R,
      gia: R / (alphaW * kappa * (1 - rhoP) * aRatio),
      fW,
      weightGain,
      alphaW,
      fBN,
      unitGain,
      giaUnitGain: unitGain / aRatio,
      kappa,
      rhoP,
      productErr,
      corr: 0.32,
      unitCorr,
    };
  };
  const STEPS = [0, 1, 2, 3, 5, 8, 10, 20, 50, 100, 199];
  // the audit's shape: R 1.48 → ≈ 1.15 by step 5–10, α_W and κ growing to 1.3 and 1.15 late, ρ_P ≈ 1%
  const training = (over: (s: number) => Partial<{ R: number; err: number; giaOff: number }> = () => ({})) =>
    STEPS.map((s) => {
      const o = over(s);
      const R = o.R ?? 1.15 + (L128 - 1.15) * Math.exp(-s / 2);
      const late = 1 - 1 / (1 + s / 20);
      const st = step(s, R, 1 + 0.3 * late, 1 + 0.15 * late, 1, 0.01, 0.05 + 0.002 * s, o.err);
      return o.giaOff ? { ...st, gia: st.gia * o.giaOff } : st;
    });
  const B = 128;
  const bound = 2 * B * 128 * 2 ** -24;
  const row = (rows: { item: string; verdict: string; reason: string }[], start: string) => rows.find((r) => r.item.startsWith(start))!;
  test('the ratio falls to ≈ 1.15 and stays; the factorisation is exact; GIA departing where α_W and κ leave 1 is reported, not a disagreement', () => {
    const rows = claim5Verdicts(training(), L128, B, bound);
    expect(overall(rows)).toBe('agrees');
    expect(row(rows, 'gradient-independence reconstruction within 5%').reason).toMatch(
      /over the 4 probes where they hold \(steps 0, 1, 2, 3\)/,
    );
    // α_W = 1 + 0.3·(1 − 1/(1 + s/20)): 1.039 at step 3, 1.060 at step 5 (ln 1.06 > 0.05)
    expect(giaReport(training())).toMatch(/α_W from step 5 \(α_W = 1\.060\)/);
  });
  test('a product off R beyond float32 rounding disagrees on the exactness row', () => {
    const rows = claim5Verdicts(
      training((s) => (s === 50 ? { err: 1e-2 } : {})),
      L128,
      B,
      bound,
    );
    expect(row(rows, 'the factorisation').verdict).toBe('disagrees');
    expect(overall(rows)).toBe('disagrees');
  });
  test('a GIA 10% off where its assumptions hold disagrees; a ratio that does not fall disagrees', () => {
    expect(
      row(
        claim5Verdicts(
          training((s) => (s <= 2 ? { giaOff: 1.1 } : {})),
          L128,
          B,
          bound,
        ),
        'gradient-independence reconstruction within 5%',
      ).verdict,
    ).toBe('disagrees');
    const flat = claim5Verdicts(
      training(() => ({ R: L128 })),
      L128,
      B,
      bound,
    );
    expect(row(flat, 'the ratio falls within ~10 steps').verdict).toBe('disagrees');
    expect(row(flat, '…and stays down').verdict).toBe('disagrees');
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
  const xi = new Map([
    [8, 1.72],
    [32, 2.38],
    [128, 2.55],
  ]); // 1/ln λ(B) for ReLU
  const grid = (acc: (B: number, d: number) => number): Claim7Cell[] =>
    [8, 32, 128].flatMap((B) => [4, 8, 16, 32, 64].map((depth) => ({ B, depth, accuracy: acc(B, depth), xi: xi.get(B)! })));
  test('trainable below ~16ξ(B), chance beyond: agrees', () => {
    expect(
      overall(
        claim7Verdicts(
          grid((B, d) => (d <= 16 * xi.get(B)! ? 0.9 : 0.1)),
          0.5,
        ),
      ),
    ).toBe('agrees');
  });
  test('deep nets that still train are not in agreement', () => {
    const rows = claim7Verdicts(
      grid(() => 0.9),
      0.5,
    );
    expect(rows.some((r) => r.verdict !== 'agrees')).toBe(true);
  });
});

describe('claim 8: BN against LN, RMSNorm and no norm', () => {
  // ReLU at large width: BN ≈ π/(π−1) = 1.4669, LN = RMSNorm = no norm = 1 (docs/theory.md §9)
  const pt = (norm: string, predicted: number, measured: number, notJudged: string | null = null): Claim8Point => ({
    act: 'relu',
    norm,
    predicted,
    predictedSE: 0,
    measured,
    se: 0.005,
    tol: 0.02,
    notJudged,
  });
  const steps = (bn: number): Claim8Step[] => [
    { norm: 'BN', step: 0, growth: bn },
    { norm: 'LN', step: 0, growth: 1.02 },
    { norm: 'RMSNorm', step: 0, growth: 1.03 },
    { norm: 'none', step: 0, growth: 1.05 },
  ];
  const good = [pt('BN', 1.4669, 1.47), pt('LN', 1, 0.996), pt('RMSNorm', 1, 1.002), pt('none', 1, 0.99)];
  test('theory met in every judged cell, BN above LN and RMSNorm, BN highest at step 0: agrees', () => {
    const rows = claim8Verdicts(good, steps(1.44));
    expect(rows.length).toBe(4 + 2 + 1);
    expect(overall(rows)).toBe('agrees');
  });
  test('a cell off its theory, or LN growing like BN, disagrees', () => {
    expect(
      overall(claim8Verdicts([pt('BN', 1.4669, 1.47), pt('LN', 1, 1.2), pt('RMSNorm', 1, 1.002), pt('none', 1, 0.99)], steps(1.44))),
    ).toBe('disagrees');
    const lnLikeBn = [pt('BN', 1.4669, 1.47), pt('LN', 1.4669, 1.47), pt('RMSNorm', 1, 1.002), pt('none', 1, 0.99)];
    const rows = claim8Verdicts(lnLikeBn, steps(1.44));
    expect(rows.find((r) => r.item.includes("exceeds LN's"))?.verdict).toBe('disagrees');
    expect(overall(claim8Verdicts(good, steps(1.01)))).toBe('disagrees');
  });
  test('a cell marked not judged (BSB1 unstable) gives no row, whatever its numbers', () => {
    const rows = claim8Verdicts([...good, { ...pt('BN', 1.245, 1.348, 'BSB1 is not attracting'), act: 'silu' }], steps(1.44));
    expect(rows.some((r) => r.item.startsWith('BN, silu'))).toBe(false);
    expect(overall(rows)).toBe('agrees');
  });
});

function spearmanOrder(pts: Parameters<typeof claim3Verdicts>[0]): number {
  return spearman(
    pts.map((p) => p.lamInf),
    pts.map(measuredOf),
  );
}
