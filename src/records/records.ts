// Tidy records: the one schema that theory, sampled networks and training all emit.
import type { SpecFields } from '../network/spec.js';
import { studentT975 } from '../network/stats.js';

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
  update_norm: '‖ΔW_l‖ for one step (the parameter change the optimizer applied)',
  out_mean: 'batch mean of layer l’s output (mean over units; a probed model’s layer, tags.name)',
  out_var: 'batch variance of layer l’s output (mean over units; a probed model’s layer, tags.name)',
  grad_out_sq: '‖∂L/∂y_l‖², y_l the output of layer l (a probed model’s layer, tags.name)',
  trust_ratio: 'per-layer trust ratio or clip factor of an adaptive optimizer',
  lr: 'learning rate in effect (per layer when layer is set)',
  predicted_growth: 'legacy name of gia_growth (runs before the exact factorisation): not a prediction during training',
  gia_growth:
    'gradient-independence reconstruction of grad_growth from measured weights and batch statistics (src/theory/correlation.ts): assumes grad_align_w = gate_grad_corr = 1, bn_proj_removed = 0 and c_j²-weighted units; labelled, not a prediction',
  gia_unit_gain: 'its BN factor: gia_growth / weight_gain = γ²·mean φ′²·Σ_j (c_j²/‖W_{l+1}‖²_F)/(σ_j² + ε)',
  grad_factor_w:
    'F_W = ‖g_h^{l+1}W_{l+1}‖² / ‖g_h^{l+1}‖²: the backward through Linear l+1 (exact; grad_growth = grad_factor_w · grad_factor_bn)',
  weight_gain: '‖W_{l+1}‖²_F / n_{l+1}: F_W if the gradient were isotropic and independent of W_{l+1}',
  grad_align_w:
    'α_W = grad_factor_w / weight_gain: alignment of g_h^{l+1} with the top singular directions of W_{l+1} (1 in expectation under gradient independence)',
  grad_factor_bn:
    'F_BN = ‖g_h^l‖² / ‖g_x^l‖²: the backward through φ, γ and BN of block l (exact; = bn_unit_gain · gate_grad_corr · (1 − bn_proj_removed))',
  bn_unit_gain: 'A = Σ_j u_j γ_j² E_b[φ′_j²]/(σ_j² + ε), u_j the share of ‖g_x^l‖² on unit j, γ_j learned',
  gate_grad_corr:
    'κ = ‖γ∘s⁻¹∘φ′∘g_x^l‖² / Σ_j γ_j² E_b[φ′_j²] ‖g_x,j^l‖²/s_j²: gate–gradient correlation (1 if φ′ and the gradient are uncorrelated over the batch)',
  bn_proj_removed: "ρ_P = 1 − ‖g_h^l‖² / ‖γ∘s⁻¹∘φ′∘g_x^l‖²: fraction of the gradient BN's mean and variance paths remove",
  grad_factor_product: 'grad_factor_w · grad_factor_bn, from the per-unit sums (equals grad_growth to float32 rounding)',
  grad_degenerate:
    "the loss gradient at the top block is zero or at float32 round-off (value ν = ‖g_h^L‖/‖γ∘s⁻¹∘φ′∘g_x^L‖; tags.degenerate): that step's gradient records are tagged, its factors omitted",
  loss: 'training loss',
  accuracy: 'accuracy (fraction)',
  test_loss: 'test loss',
  test_accuracy: 'test accuracy (fraction)',
  growth: 'per-layer growth factor of ‖∂L/∂h‖² in the interior (λ)',
  depth_scale: '1 / ln(growth), in layers',
  growth_bsb1: 'λ(B) of Yang et al. at the BSB1 fixed point (Linear → BN → φ), whether or not that point attracts (tags.attracting)',
  growth_attractor:
    'gradient-independence growth at the state the batch Gram dynamics flow to (mean over replicas; tags.state bsb1 | broken)',
  bsb1_lambda_l: 'Jacobian eigenvalue of the batch Gram map at BSB1 on L (per-sample centred norms); > 1: BSB1 not attracting',
  bsb1_lambda_m: 'Jacobian eigenvalue of the batch Gram map at BSB1 on M (zero diagonal, zero row sums); > 1: BSB1 not attracting',
  norm_spread: 'sd / mean over the batch of the per-sample centred norms of the block output (0 at BSB1)',
  distinct: 'number of distinct samples in the block output (clusters of centred cosine > 1 − 1e-6; B at BSB1)',
  eff_rank: 'effective rank (tr C)²/‖C‖²_F of the centred batch Gram C of the block output (B − 1 at BSB1)',
  gram_dev_l: "L component of the centred Gram's deviation from BSB1, relative to its BSB1 part (Frobenius)",
  gram_dev_m: "M component of the centred Gram's deviation from BSB1, relative to its BSB1 part (Frobenius)",
  jac_sv: 'a singular value of the input-output Jacobian ∂x_L/∂x_0 of a sampled net (one record each, tags.index; docs/spectrum.md)',
  jac_m1: "first moment (1/N) tr JJᵀ of the Jacobian's squared singular values (sampled per seed, and theory)",
  jac_m2: "second moment (1/N) tr (JJᵀ)² of the Jacobian's squared singular values (sampled per seed, and theory)",
  jac_ks: "Kolmogorov–Smirnov distance between a sampled net's singular values and the theory CDF",
  jac_density: "free-probability density of the Jacobian's singular values σ at tags.sv (theory)",
  jac_zero_mass: 'point mass of the singular-value law at σ = 0 (theory; tags.sv = 0)',
  jac_atom: 'a point mass of the singular-value law at σ = tags.sv > 0 (theory)',
  growth_fit_intercept: 'g_∞ of the finite-size fit growth = g_∞ + a/N over widths (width recorded as Infinity; sd its standard error)',
  growth_fit_slope: 'a of the finite-size fit growth = g_∞ + a/N over widths (sd its standard error)',
  critical_sigma_w2: "σ_w² on the order-to-chaos line (growth 1) at the record's σ_b²: read, when given, by the maps figure",
} as const;

/**
 * Quantities predict may emit in log form, `log_<quantity>` (the natural log of |value|, tags.sign = −1
 * if negative), where the value itself is beyond float64 (docs/theory.md §7).
 */
export const LOG_FORM_QUANTITIES = ['preact_var', 'postact_mean', 'postact_var', 'q'] as const;
export type LogFormQuantity = (typeof LOG_FORM_QUANTITIES)[number];

/** Every quantity a record may carry: a key of QUANTITIES or a log form (closed: a new name needs an entry). */
export type Quantity = keyof typeof QUANTITIES | `log_${LogFormQuantity}`;

/** The spec fields every record carries (a missing key is a compile error). */
const SPEC_FIELD_KEYS: Record<keyof SpecFields, true> = {
  specId: true,
  depth: true,
  width: true,
  batch: true,
  order: true,
  activation: true,
  init: true,
  sigmaW2: true,
  sigmaB2: true,
  gamma: true,
  beta: true,
  eps: true,
  residual: true,
};

/** Every field a record may have (readers refuse others, naming the nearest). */
export const RECORD_FIELDS: readonly string[] = [
  'source',
  'quantity',
  'layer',
  'step',
  'seed',
  'rng',
  'value',
  'sd',
  'lo',
  'hi',
  'n',
  'tags',
  ...Object.keys(SPEC_FIELD_KEYS),
];

export interface SPRecord extends SpecFields {
  source: Source;
  quantity: Quantity;
  layer: number | null;
  step: number | null;
  seed: number | null;
  /**
   * The generator the seed's draws came from ('philox4x32-10' or 'mt19937'); absent in records written before
   * the generator was named, which were all 'mt19937' (recordedRng in src/network/random.ts reads it so).
   */
  rng?: string;
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
  extra: Partial<Pick<SPRecord, 'step' | 'seed' | 'rng' | 'sd' | 'lo' | 'hi' | 'n' | 'tags'>> = {},
): SPRecord {
  const rng = extra.rng === undefined ? {} : { rng: extra.rng };
  return { source, quantity, layer, step: extra.step ?? null, seed: extra.seed ?? null, ...rng, value, ...fields, ...extra };
}

/**
 * Mean, sample standard deviation and Student-t 95% interval of the mean (t_{0.975, n−1}·sd/√n: 6.5× the
 * normal half-width at n = 2). `range` clips the interval to the quantity's range (accuracies in [0, 1]).
 */
export function summarize(values: number[], range?: [number, number]): { mean: number; sd: number; lo: number; hi: number; n: number } {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  const half = n > 1 ? (studentT975(n - 1) * sd) / Math.sqrt(n) : 0;
  const [lo, hi] = clipInterval(mean - half, mean + half, range);
  return { mean, sd, lo, hi, n };
}

/** Quantities with a bounded range: fractions, correlations, and the non-negative variances, norms and growths. */
export const QUANTITY_RANGES: Record<string, [number, number]> = {
  accuracy: [0, 1],
  test_accuracy: [0, 1],
  corr: [-1, 1],
  unit_corr: [0, 1],
  ...Object.fromEntries(
    [
      'preact_var',
      'postact_var',
      'q',
      'grad_h_sq',
      'grad_w_sq',
      'grad_h_norm',
      'grad_w_norm',
      'weight_norm',
      'update_ratio',
      'update_norm',
      'out_var',
      'grad_out_sq',
      'grad_growth',
      'growth',
      'norm_spread',
      'eff_rank',
      'lr',
    ].map((q) => [q, [0, Number.POSITIVE_INFINITY] as [number, number]]),
  ),
};

/** The range a quantity's values (and so its interval) can take, or undefined where unbounded. */
export function quantityRange(quantity: string): [number, number] | undefined {
  return QUANTITY_RANGES[quantity];
}

/** [lo, hi] clipped to range (unchanged without one). */
export function clipInterval(lo: number, hi: number, range?: [number, number]): [number, number] {
  if (!range) return [lo, hi];
  return [Math.min(Math.max(lo, range[0]), range[1]), Math.max(Math.min(hi, range[1]), range[0])];
}
