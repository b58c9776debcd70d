// Claim 1: at initialization Linear-BN-ReLU nets explode gradients backward while the forward pass
// stays normalized; the per-layer growth is λ(B) for several depths and widths.
import { buildFigure } from '../src/figures/index.js';
import { makeSpec } from '../src/network/index.js';
import type { SPRecord } from '../src/records/index.js';
import { judge, runCells, type Study, sampledOf, sampleCell, type VerdictRow } from '../src/reproduce/index.js';
import type { Cell } from '../src/sweep/index.js';
import { interiorLayers, predict } from '../src/theory/index.js';
import { byScale, layerMean, layerMeanSE, tagAll } from './common.js';

/** [predicted, measured, standard error] */
type Triple = [number, number, number];

export interface Claim1Cell {
  depth: number;
  width: number;
  B: number;
  growth: Triple;
  preVar: Triple;
  reluMean: Triple;
  reluVar: Triple;
}

/**
 * Verdicts of claim 1: the growth per (depth, width) within 1.5% at width ≥ 512 (issue 3's bound) and 3%
 * below, where O(1/N) finite-width corrections are expected (docs/sampling.md); the forward statistics
 * within 1% at width ≥ 512 (3% below), judged at the widest width only.
 */
export function claim1Verdicts(cells: Claim1Cell[]): VerdictRow[] {
  const rows: VerdictRow[] = [];
  const wMax = Math.max(...cells.map((c) => c.width));
  for (const c of cells) {
    const tol = c.width >= 512 ? 0.015 : 0.03;
    rows.push(judge(`growth λ, depth ${c.depth}, width ${c.width}, B ${c.B}`, c.growth[0], c.growth[1], tol, c.growth[2]));
    if (c.width === wMax) {
      const tolF = c.width >= 512 ? 0.01 : 0.03;
      rows.push(judge(`pre-BN batch variance, depth ${c.depth}, width ${c.width}`, c.preVar[0], c.preVar[1], tolF, c.preVar[2]));
      rows.push(judge(`ReLU output batch mean, depth ${c.depth}, width ${c.width}`, c.reluMean[0], c.reluMean[1], tolF, c.reluMean[2]));
      rows.push(judge(`ReLU output batch variance, depth ${c.depth}, width ${c.width}`, c.reluVar[0], c.reluVar[1], tolF, c.reluVar[2]));
    }
  }
  return rows;
}

export const claim1: Study = {
  id: 'claim1',
  title: 'Claim 1 — gradients explode at initialization while the forward pass stays normalized',
  statement:
    'In Linear → BN → ReLU nets at initialization the squared gradient norm grows by λ(B) per layer toward the input (Yang et al. 2019, Thm 8), while BN keeps the forward pass normalized: pre-BN batch variance σ_w²(π−1)/(2π), ReLU output mean 1/√(2π) and variance (π−1)/(2π) (Paik & Choi 2023, the "disharmony").',
  run: async (ctx) => {
    const B = byScale(ctx.scale, 16, 64, 128);
    const depths = byScale(ctx.scale, [8], [10, 30], [10, 30, 60]);
    const widthsList = byScale(ctx.scale, [32], [128, 512], [256, 512, 1024]);
    const seeds = byScale(ctx.scale, 2, 4, 16);
    const cells: Claim1Cell[] = [];
    const records: SPRecord[] = [];
    const table: (string | number)[][] = [];
    // the theory here; the sampled networks as sweep cells, all at once (ctx.cells: the local pool or Redis)
    const grid: { depth: number; width: number; th: ReturnType<typeof predict> }[] = [];
    const jobs: Cell[] = [];
    for (const depth of depths) {
      for (const width of widthsList) {
        const spec = makeSpec({ depth, width, batch: B, order: 'linear-bn-act', activation: 'relu' });
        grid.push({ depth, width, th: predict(spec) });
        jobs.push(await sampleCell(spec, { seeds }));
      }
    }
    ctx.progress(`${jobs.length} sample cells (depth ${depths.join(',')} × width ${widthsList.join(',')}, B ${B}, ${seeds} seeds each)`);
    const results = await runCells(ctx, jobs);
    grid.forEach(({ depth, width, th }, i) => {
      const s = sampledOf(results[i]);
      records.push(...tagAll(th.records, { study: 'claim1' }), ...tagAll(s.records, { study: 'claim1' }));
      const [a, b] = interiorLayers(depth);
      const pre = layerMeanSE(s.records, 'preact_var', a, b);
      const preT = layerMean(th.records, 'preact_var', a, b);
      const pm = layerMeanSE(s.records, 'postact_mean', a, b);
      const pmT = layerMean(th.records, 'postact_mean', a, b);
      const pv = layerMeanSE(s.records, 'postact_var', a, b);
      const pvT = layerMean(th.records, 'postact_var', a, b);
      cells.push({
        depth,
        width,
        B,
        growth: [th.predictedGrowth, s.measuredGrowth, s.measuredGrowthSE],
        preVar: [preT, pre.mean, pre.se],
        reluMean: [pmT, pm.mean, pm.se],
        reluVar: [pvT, pv.mean, pv.se],
      });
      const total = Math.log(s.measuredGrowth) * (depth - 1);
      table.push([
        depth,
        width,
        B,
        th.predictedGrowth,
        s.measuredGrowth,
        s.measuredGrowthSE,
        preT,
        pre.mean,
        pmT,
        pm.mean,
        pvT,
        pv.mean,
        Math.exp(total / 2),
      ]);
    });
    const rows = claim1Verdicts(cells);
    const dMax = Math.max(...depths);
    const wMax = Math.max(...widthsList);
    const figSpec = makeSpec({ depth: dMax, width: wMax, batch: B });
    const figRecords = records.filter((r) => r.depth === dMax && r.width === wMax);
    const fig = buildFigure('gradient-vs-depth', figRecords, {
      title: `ln ‖∂L/∂h_ℓ‖² against layer ℓ at initialization (Linear-BN-ReLU, B = ${B})`,
    });
    return {
      rows,
      records,
      figures: [
        {
          name: 'claim1-gradient-vs-depth',
          vl: fig as any,
          caption: `Theory (Yang et al. λ(B)) against ${seeds} sampled networks, depth ${dMax}, width ${wMax}, batch ${B}; band: 95% interval over seeds.`,
        },
      ],
      tables: [
        {
          title: 'Backward explodes, forward stays normalized (interior layers)',
          header: [
            'depth',
            'width',
            'B',
            'λ(B) theory',
            'growth measured',
            '± se',
            'pre-BN var theory',
            'measured',
            'ReLU mean theory',
            'measured',
            'ReLU var theory',
            'measured',
            '‖∂L/∂h_1‖/‖∂L/∂h_L‖',
          ],
          rows: table,
        },
      ],
      settings: {
        spec: { ...figSpec, depth: depths, width: widthsList },
        interior: `layers ${interiorLayers(dMax).join('..')} of depth ${dMax}`,
        loss: 'readout',
      },
      seeds: Array.from({ length: seeds }, (_, i) => 1 + i),
      notes: [
        'Growth is the geometric mean over interior layers and seeds of ‖∂L/∂h_ℓ‖²/‖∂L/∂h_{ℓ+1}‖² (h: pre-normalization Linear output).',
        'Tolerances: 1.5% at width ≥ 512 (issue 3), 3% below, where finite-width corrections of order 1/N are expected (docs/sampling.md); two standard errors are added.',
      ],
    };
  },
};
