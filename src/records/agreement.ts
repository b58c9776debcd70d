// One rule for "does a measurement agree with a prediction", used by `signalprop reproduce` (judge),
// by `signalprop compare` (each pair's agree flag) and by the tests (expectAgrees in test/helpers).

export type AgreementVerdict = 'agrees' | 'disagrees' | 'inconclusive';

/**
 * Standard errors allowed on top of the tolerance, by default: 2, a two-sided ≈95% band for a mean
 * that is normal to leading order (1.96 rounded up).
 */
export const AGREEMENT_Z = 2;

export interface AgreementOptions {
  /** Relative tolerance: the model error allowed, |measured − predicted| ≤ relTol·|predicted|. */
  relTol: number;
  /** An absolute tolerance used instead of relTol·|predicted| (values on a log scale, asymmetric bands). */
  absTol?: number;
  /** Standard error of measured − predicted; absent or null: none known (0). */
  se?: number | null;
  /** Standard errors allowed on top of the tolerance (default AGREEMENT_Z). */
  z?: number;
}

export interface Agreement {
  verdict: AgreementVerdict;
  /** The numbers behind the verdict, in words. */
  reason: string;
  /** |measured − predicted|. */
  diff: number;
  /** The tolerance: absTol, or relTol·|predicted|. */
  tolerance: number;
  /** z·se, the statistical allowance added to it. */
  band: number;
  z: number;
}

/**
 * Judge a measurement against a prediction:
 * - agrees when |m − p| ≤ tol + z·se (within tolerance, allowing z standard errors);
 * - inconclusive when it does not agree and z·se exceeds the tolerance itself (the measurement is too
 *   noisy to tell), or either number is not finite;
 * - disagrees otherwise.
 */
export function agreement(predicted: number, measured: number, opts: AgreementOptions): Agreement {
  const z = opts.z ?? AGREEMENT_Z;
  const s = opts.se ?? 0;
  const tol = opts.absTol ?? opts.relTol * Math.abs(predicted);
  const band = z * s;
  if (!Number.isFinite(predicted) || !Number.isFinite(measured)) {
    return {
      verdict: 'inconclusive',
      reason: `not finite (predicted ${predicted}, measured ${measured})`,
      diff: Number.NaN,
      tolerance: tol,
      band,
      z,
    };
  }
  const err = Math.abs(measured - predicted);
  const rel = predicted !== 0 ? err / Math.abs(predicted) : err;
  const out = { diff: err, tolerance: tol, band, z };
  if (err <= tol + band) {
    return {
      ...out,
      verdict: 'agrees',
      reason: `|Δ| = ${fmtNumber(err)} (${pct(rel)}) ≤ tol ${fmtNumber(tol)} + ${z}·se ${fmtNumber(band)}`,
    };
  }
  if (band > tol) {
    return {
      ...out,
      verdict: 'inconclusive',
      reason: `|Δ| = ${fmtNumber(err)} but ${z}·se = ${fmtNumber(band)} exceeds the tolerance ${fmtNumber(tol)}`,
    };
  }
  return {
    ...out,
    verdict: 'disagrees',
    reason: `|Δ| = ${fmtNumber(err)} (${pct(rel)}) > tol ${fmtNumber(tol)} + ${z}·se ${fmtNumber(band)}`,
  };
}

/** A number to `digits` significant digits; exponent form below 1e-3 and from 1e5. */
export function fmtNumber(x: number | undefined, digits = 4): string {
  if (x === undefined || x === null) return '–';
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(digits - 1);
  return Number(x.toPrecision(digits)).toString();
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}
