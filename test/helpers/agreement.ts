// expectAgrees: a test's "measured agrees with predicted" on the one agreement rule of compare and
// reproduce (src/records/agreement.ts): |measured − predicted| ≤ relTol·|predicted| (or absTol) + z·se,
// z = AGREEMENT_Z = 2 unless the test names another. Inconclusive (too noisy to tell) fails too.
// expectResolves and expectExcludes are the power checks: the band is narrow enough, a wrong value is outside it.
import { expect } from 'vitest';
import { AGREEMENT_Z, type Agreement, type AgreementOptions, agreement } from '../../src/records/index.js';

/** Assert agreement; the failure message names z, the difference and the tolerance. Returns the verdict's numbers. */
export function expectAgrees(predicted: number, measured: number, opts: AgreementOptions, what = 'measured'): Agreement {
  const a = agreement(predicted, measured, opts);
  const msg =
    `${what} ${measured} against predicted ${predicted} (z = ${a.z}): |Δ| = ${a.diff} against the tolerance ${a.tolerance}` +
    ` + ${a.z}·se ${a.band} = ${a.tolerance + a.band}: ${a.verdict}`;
  expect(a.verdict, msg).toBe('agrees');
  return a;
}

/** Assert that the rule can tell: z·se below the tolerance (or below `limit`), so a disagreement would show. */
export function expectResolves(opts: AgreementOptions, predicted: number, limit?: number): void {
  const band = (opts.z ?? AGREEMENT_Z) * (opts.se ?? 0);
  const tol = limit ?? opts.absTol ?? opts.relTol * Math.abs(predicted);
  expect(band, `z·se = ${band} is not below ${tol}: the check cannot tell`).toBeLessThan(tol);
}

/**
 * Power: assert that `wrong` (the value a plausible bug or an older approximation gives) does not agree with
 * the measurement on the same rule, so the check would have caught it. With relTol the tolerance is taken
 * around `wrong`; pass absTol (say the check's own `tolerance`) to keep the check's band exactly.
 */
export function expectExcludes(wrong: number, measured: number, opts: AgreementOptions, what = 'the wrong value'): Agreement {
  const a = agreement(wrong, measured, opts);
  const msg =
    `${what} ${wrong} would pass against measured ${measured} (z = ${a.z}): |Δ| = ${a.diff} is within the tolerance` +
    ` ${a.tolerance} + ${a.z}·se ${a.band}: the check cannot tell it from the prediction`;
  expect(a.verdict, msg).not.toBe('agrees');
  return a;
}
