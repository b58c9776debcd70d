// Central differences with a derived per-entry tolerance (the same rule as layers.test.ts's fdCheck). For f
// computed with error |δf| and step h,
//   |(f(x+h) − f(x−h))/2h − f′(x)| ≤ h²/6·|f‴| + |δf|/h + (u|x|/h)·|f′|
// (truncation; round-off of the two evaluations; the step x ± h itself rounded). f‴ is estimated at a coarse
// step H3 = 10⁻² by the third difference and doubled for safety; |δf| ≤ c·u·F, F the sum of the magnitudes of
// f's terms, c the longest chain of operations on the way (the caller says, from the sizes it sums over).
import { expect } from 'vitest';

const U = 2 ** -53;
const H = 1e-5;
const H3 = 1e-2;

export interface Eval {
  f: number;
  /** Σ |terms| of f */
  F: number;
}

/** Check `analytic` = ∂f/∂x entry by entry (x is perturbed in place and restored); `entries` limits the entries checked. */
export function fdCheck(what: string, x: Float64Array, fOf: () => Eval, analytic: Float64Array, chain: number, entries?: number[]): void {
  const scale = Math.max(...Array.from(analytic, Math.abs));
  expect(scale, `${what}: a gradient that is not zero (the check is not vacuous)`).toBeGreaterThan(1e-3);
  for (const t of entries ?? x.keys()) {
    const x0 = x[t];
    const at = (d: number) => {
      x[t] = x0 + d;
      const e = fOf();
      x[t] = x0;
      return e;
    };
    const up = at(H);
    const dn = at(-H);
    const fd = (up.f - dn.f) / (2 * H);
    const f3 = Math.abs(at(2 * H3).f - 2 * at(H3).f + 2 * at(-H3).f - at(-2 * H3).f) / (2 * H3 ** 3);
    const F = Math.max(up.F, dn.F);
    const tol = 2 * ((H * H) / 6) * f3 + (chain * U * F) / H + ((U * Math.abs(x0)) / H) * Math.abs(analytic[t]) + chain * U * scale;
    const err = Math.abs(fd - analytic[t]);
    expect(err, `${what}, entry ${t}: analytic ${analytic[t]}, central difference ${fd}, tolerance ${tol}`).toBeLessThanOrEqual(tol);
  }
}
