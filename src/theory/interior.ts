// Which layers an interior growth estimate averages over, shared by the theory (predict's dynamics) and the
// sampler (measured growth), so that a prediction and a measurement of one net use the same window.

/**
 * Interior layers for the growth estimate: growth_l is defined for l = 1..L−1; drop d = min(5, ⌊0.15·L⌋)
 * at each end (the input has not reached the BN fixed point yet at the bottom, the readout's gradient
 * is not yet in the backward map's top direction at the top). Falls back to every l when too shallow.
 */
export function interiorLayers(depth: number): [number, number] {
  const d = Math.min(5, Math.floor(0.15 * depth));
  const first = 1 + d;
  const last = depth - 1 - d;
  if (depth < 2) return [1, 0];
  if (last < first) return [1, depth - 1];
  return [first, last];
}

// Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom (any statistics table).
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064,
  2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** t_{0.975, df}: the half-width of a 95% interval of a mean is this times its standard error. */
export function studentT975(df: number): number {
  if (!(df >= 1)) return Number.NaN;
  const k = Math.floor(df);
  if (k <= 30) return T975[k - 1];
  // Fisher–Cornish expansion, within 1e-4 of the table beyond 30 degrees of freedom
  const z = 1.959963984540054;
  return z + (z ** 3 + z) / (4 * k) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * k * k);
}
