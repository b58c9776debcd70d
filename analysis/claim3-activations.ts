// Claim 3: the activation matters: the large-batch rate E[φ′²]/Var φ across activations; near-linear units explode less.
import { bnGradientRate, bsb1FixedPoint, buildFigure, check, judge, largeBatchRate, makeSpec, predict, type SPRecord, sampleNetwork, type Study, type VerdictRow } from 'signalprop';
import { byScale, spearman, tagAll } from './common.js';

const ACTIVATIONS = ['relu', 'leaky-relu:0.1', 'gelu', 'silu', 'tanh', 'elu:1', 'identity'];

export interface Claim3Point {
  act: string;
  /** E[φ′²]/Var φ */
  lamInf: number;
  /** λ(B) of the theory at the sampled batch size */
  lamB: number;
  measured: number;
  se: number;
}

/**
 * Verdicts of claim 3: each measured rate within 2% of λ(B); with three or more activations, the measured
 * rates ranked as λ∞ (Spearman ρ ≥ 0.9); every non-linear activation explodes (λ∞ > 1 and measured > 1).
 */
export function claim3Verdicts(points: Claim3Point[], B: number): VerdictRow[] {
  const rows: VerdictRow[] = points.map((p) => judge(`${p.act}: λ(B=${B})`, p.lamB, p.measured, 0.02, p.se));
  if (points.length >= 3) {
    const rho = spearman(
      points.map((p) => p.lamInf),
      points.map((p) => p.measured),
    );
    rows.push(check('the measured rates are ordered as E[φ′²]/Var φ (Spearman ρ ≥ 0.9)', rho >= 0.9, 1, rho, `Spearman rank correlation ${rho.toFixed(3)} over ${points.length} activations`));
  }
  const nonLinear = points.filter((p) => p.act !== 'identity');
  const smallest = Math.min(...nonLinear.map((p) => p.measured));
  rows.push(check('every non-linear activation explodes (λ∞ > 1 and measured > 1)', nonLinear.every((p) => p.lamInf > 1 && p.measured > 1), 1, smallest, `smallest measured rate ${smallest.toFixed(4)}`));
  return rows;
}

export const claim3: Study = {
  id: 'claim3',
  title: 'Claim 3 — the activation sets the rate; near-linear units explode less',
  statement:
    'With BN, every non-constant activation explodes gradients (Yang et al. 2019, Thm 9); at large batch the rate is E[φ′(z)²]/Var φ(z), z ~ N(β, γ²) (our derivation, docs/theory.md), so units closer to linear (ELU, tanh, SiLU) explode less than ReLU (Paik & Choi 2023, "pseudo-linear").',
  run: async (ctx) => {
    const B = byScale(ctx.scale, 32, 256, 512);
    const width = byScale(ctx.scale, 32, 512, 1024);
    const depth = byScale(ctx.scale, 8, 20, 40);
    const seeds = byScale(ctx.scale, 2, 3, 12);
    const acts = byScale(ctx.scale, ['relu', 'tanh'], ACTIVATIONS, ACTIVATIONS);
    const points: Claim3Point[] = [];
    const records: SPRecord[] = [];
    const table: (string | number)[][] = [];
    for (const act of acts) {
      const spec = makeSpec({ depth, width, batch: B, activation: act });
      ctx.progress(`${act}: ${seeds} seeds at B ${B}`);
      const lamB = bnGradientRate(act, B);
      const lamInf = largeBatchRate(act);
      const th = predict(makeSpec({ depth, width, batch: null, activation: act }));
      records.push(...tagAll(th.records.filter((r) => r.layer === null), { study: 'claim3' }));
      const s = await sampleNetwork(spec, { seeds, threads: ctx.threads, predictedGrowth: lamB });
      records.push(...tagAll(s.records.filter((r) => r.layer === null), { study: 'claim3' }));
      points.push({ act, lamInf, lamB, measured: s.measuredGrowth, se: s.measuredGrowthSE });
      // does the forward pass stay at Yang's BSB1 fixed point (where λ(B) is computed)? c* against the
      // sampled within-batch correlation of the last block
      const cStar = bsb1FixedPoint(act, B).c;
      const cLast = s.records.find((r) => r.quantity === 'corr' && r.seed === null && r.layer === depth)?.value ?? Number.NaN;
      table.push([act, lamInf, lamB, s.measuredGrowth, s.measuredGrowthSE, cStar, cLast]);
    }
    const rows = claim3Verdicts(points, B);
    const fig = buildFigure('activation-rate', records, { title: 'Gradient growth per layer across activations' });
    return {
      rows,
      records,
      figures: [{ name: 'claim3-activation-rate', vl: fig as any, caption: `Large-batch rate E[φ′²]/Var φ (theory) and sampled Linear-BN-φ nets at B = ${B} (depth ${depth}, width ${width}, ${seeds} seeds).` }],
      tables: [{ title: 'Rate by activation', header: ['activation', 'λ∞ = E[φ′²]/Var φ', `λ(B=${B}) theory`, 'measured', '± se', 'BSB1 c*', `sampled corr, layer ${depth}`], rows: table }],
      settings: { depth, width, batch: B, activations: acts, order: 'linear-bn-act' },
      seeds: Array.from({ length: seeds }, (_, i) => 1 + i),
      notes: [
        'λ(B) at finite B for smooth activations comes from Yang et al.\'s Thm 7 integral (docs/theory.md); the activation figure shows the B → ∞ limit.',
        'λ(B) is the rate at the BSB1 fixed point and presumes the forward pass stays there. Where the sampled within-batch correlation drifts away from c* with depth (the last two columns), that fixed point is not attracting for the activation at this B (Yang et al. discuss symmetry breaking for other φ), and the measured rate need not be λ(B): a gap there is a finding about the theory\'s premise, not a tolerance to widen.',
      ],
    };
  },
};
