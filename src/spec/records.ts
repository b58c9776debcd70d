// Tidy records: the one schema that theory, sampled networks and training all emit.
import type { SpecFields } from './spec.js';

export const SOURCES = ['theory', 'sampled', 'trained'] as const;
export type Source = (typeof SOURCES)[number];

/**
 * Quantity names shared by every source. Per-layer quantities use `layer` = 1..depth (block index);
 * run-level quantities have layer null. Gradient quantities are squared norms (‖·‖²) unless named *_norm.
 * Log quantities are natural logs, so that depth 10,000 stays finite.
 */
export const QUANTITIES = {
  preact_var: 'batch variance of the pre-normalization Linear output h_l (mean over units)',
  postact_mean: 'batch mean of the activation output φ (mean over units)',
  postact_var: 'batch variance of the activation output φ (mean over units)',
  corr: 'mean within-batch correlation between samples of the block output',
  unit_corr: 'mean |correlation| between units of the block output over the batch',
  q: 'second moment per unit of the block output (mean field q)',
  grad_h_sq: '‖∂L/∂h_l‖², h_l the pre-normalization Linear output',
  grad_w_sq: '‖∂L/∂W_l‖²',
  log_grad_h_sq: 'ln(‖∂L/∂h_l‖² / ‖∂L/∂h_L‖²), relative to the last block',
  log_grad_w_sq: 'ln(‖∂L/∂W_l‖² / ‖∂L/∂W_L‖²), relative to the last block',
  grad_growth: 'per-layer growth ‖∂L/∂h_l‖² / ‖∂L/∂h_{l+1}‖²',
  cum_log_growth: 'Σ_{k≥l} ln growth_k: cumulative log growth from the last block back to l',
  grad_h_norm: '‖∂L/∂h_l‖',
  grad_w_norm: '‖∂L/∂W_l‖',
  weight_norm: '‖W_l‖',
  update_ratio: '‖ΔW_l‖ / ‖W_l‖ for one step',
  trust_ratio: 'per-layer trust ratio or clip factor of an adaptive optimizer',
  lr: 'learning rate in effect (per layer when layer is set)',
  predicted_growth: 'correlation-aware predicted per-layer growth',
  loss: 'training loss',
  accuracy: 'accuracy (fraction)',
  test_loss: 'test loss',
  test_accuracy: 'test accuracy (fraction)',
  growth: 'per-layer growth factor of ‖∂L/∂h‖² in the interior (λ)',
  depth_scale: '1 / ln(growth), in layers',
} as const;
export type Quantity = keyof typeof QUANTITIES | (string & {});

export interface SPRecord extends SpecFields {
  source: Source;
  quantity: Quantity;
  layer: number | null;
  step: number | null;
  seed: number | null;
  value: number;
  /** For records that summarise several seeds: standard deviation, 95% interval and count. */
  sd?: number;
  lo?: number;
  hi?: number;
  n?: number;
  /** Free-form labels: optimizer, dataset, run id, study name, ... */
  tags?: Record<string, string | number | boolean | null>;
}

export function record(
  fields: SpecFields,
  source: Source,
  quantity: Quantity,
  layer: number | null,
  value: number,
  extra: Partial<Pick<SPRecord, 'step' | 'seed' | 'sd' | 'lo' | 'hi' | 'n' | 'tags'>> = {},
): SPRecord {
  return { source, quantity, layer, step: extra.step ?? null, seed: extra.seed ?? null, value, ...fields, ...extra };
}

/** Mean, sample standard deviation and normal 95% interval of the mean. */
export function summarize(values: number[]): { mean: number; sd: number; lo: number; hi: number; n: number } {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  const half = n > 1 ? (1.959963984540054 * sd) / Math.sqrt(n) : 0;
  return { mean, sd, lo: mean - half, hi: mean + half, n };
}
