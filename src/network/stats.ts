// Student-t quantiles for the 95% interval of a mean over a few seeds (records, compare, figures, theory).

// Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom (any statistics table).
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086,
  2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
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
