// The figures by name: each a function from records to a Vega-Lite spec with its data inline.
import type { TopLevelSpec } from 'vega-lite';
import type { SPRecord } from '../records/index.js';
import { activationRateFigure, depthBatchHeatmapFigure, lambdaVsBatchFigure } from './batch.js';
import { FigureError, type FigureOptions } from './common.js';
import { gradientVsDepthFigure } from './gradientDepth.js';
import { jacobianSpectrumFigure, phaseDiagramFigure } from './maps.js';
import { symmetryBreakingFigure } from './symmetry.js';
import { earlyTrainingFigure, gradientFactorsFigure, optimizerComparisonFigure } from './training.js';
import { updatesFigure } from './updates.js';

export interface FigureDef {
  /** Figure number in docs/figures.md. */
  index: number;
  title: string;
  /** What records it needs. */
  needs: string;
  build: (records: SPRecord[], opts?: FigureOptions) => TopLevelSpec;
}

export const FIGURES = {
  'gradient-vs-depth': {
    index: 1,
    title: 'Per-layer gradient norm against depth',
    needs: 'per-layer log_grad_h_sq or grad_h_sq (theory, sampled, trained with steps)',
    build: gradientVsDepthFigure,
  },
  'lambda-vs-batch': {
    index: 2,
    title: 'λ against batch size',
    needs: 'growth with layer null at several batch sizes (theory, sampled)',
    build: lambdaVsBatchFigure,
  },
  'depth-batch-heatmap': {
    index: 3,
    title: 'Depth × batch heatmap with the predicted depth scale',
    needs: 'trained accuracy or sampled growth over depth × batch; theory depth_scale or growth per batch',
    build: depthBatchHeatmapFigure,
  },
  'activation-rate': {
    index: 4,
    title: 'Large-batch rate across activations',
    needs: 'growth with layer null per activation (theory at batch null, sampled at a large batch)',
    build: activationRateFigure,
  },
  'early-training': {
    index: 5,
    title: 'Early training: gradient ratio and correlation against step',
    needs: 'trained per-layer grad_growth and corr over steps; gia_growth (or legacy predicted_growth) over steps; theory growth',
    build: earlyTrainingFigure,
  },
  'optimizer-comparison': {
    index: 6,
    title: 'Optimizer comparison at small and large batch',
    needs: 'trained loss and accuracy over steps with tags.optimizer, at two or more batch sizes',
    build: optimizerComparisonFigure,
  },
  'jacobian-spectrum': {
    index: 7,
    title: 'Jacobian singular values with the free-probability density',
    needs: 'sampled jac_sv (one record per singular value) and theory jac_density (tags.sv)',
    build: jacobianSpectrumFigure,
  },
  'phase-diagram': {
    index: 8,
    title: '(σ_w², σ_b²) phase diagram for no-BN nets',
    needs: 'growth with layer null over a (sigmaW2, sigmaB2) grid of linear-act specs (theory or sampled)',
    build: phaseDiagramFigure,
  },
  'symmetry-breaking': {
    index: 9,
    title: 'Leaving the BSB1 fixed point: centred-norm spread and correlation against depth',
    needs: 'per-layer norm_spread and corr: theory from the Gram dynamics (predict with dynamics), sampled nets',
    build: symmetryBreakingFigure,
  },
  'gradient-factors': {
    index: 10,
    title: 'The per-layer gradient ratio factor by factor during training (exact), beside the GIA reconstruction',
    needs:
      'trained per-layer grad_growth, grad_factor_w, weight_gain, grad_align_w, grad_factor_bn, bn_unit_gain, gate_grad_corr, bn_proj_removed over steps; gia_growth, gia_unit_gain',
    build: gradientFactorsFigure,
  },
  updates: {
    index: 11,
    title: 'Per-layer update ratio and trust ratio against depth, by step',
    needs: 'trained per-layer update_ratio over steps (tags.optimizer); trust_ratio per layer where an adaptive optimizer ran',
    build: updatesFigure,
  },
} as const satisfies Record<string, FigureDef>;

export type FigureName = keyof typeof FIGURES;
export const FIGURE_NAMES = Object.keys(FIGURES) as FigureName[];

export function isFigureName(name: string): name is FigureName {
  return Object.hasOwn(FIGURES, name);
}

/** Build one figure by name. Throws FigureError for an unknown name (listing the allowed ones) or missing records. */
export function buildFigure(name: string, records: SPRecord[], opts: FigureOptions = {}): TopLevelSpec {
  if (!isFigureName(name)) throw new FigureError(`figure: "${name}" is not allowed; expected one of ${FIGURE_NAMES.join(', ')}`);
  return (FIGURES[name].build as (r: SPRecord[], o?: FigureOptions) => TopLevelSpec)(records, opts);
}
