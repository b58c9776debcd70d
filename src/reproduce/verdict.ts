// Verdicts for the reproduction studies: predicted against measured, with a stated tolerance.

export type Verdict = 'agrees' | 'disagrees' | 'inconclusive';

export interface VerdictRow {
  /** What is compared, e.g. "λ(B=32), width 512, depth 30". */
  item: string;
  predicted: number;
  measured: number;
  /** Standard error of the measurement (seed spread / √K), if known. */
  se?: number;
  /** Relative tolerance |measured/predicted − 1| allowed. */
  relTol: number;
  verdict: Verdict;
  /** Why the verdict: the numbers behind it, in words. */
  reason: string;
}

/**
 * Judge one measurement against a prediction:
 * - agrees when |m − p| ≤ relTol·|p| + 2·se (within tolerance, allowing two standard errors);
 * - inconclusive when the 95% interval of the measurement (±2·se) is wider than the tolerance band
 *   itself (the measurement cannot tell), or either number is not finite;
 * - disagrees otherwise.
 */
export function judge(item: string, predicted: number, measured: number, relTol: number, se?: number): VerdictRow {
  const row = { item, predicted, measured, se, relTol };
  if (!Number.isFinite(predicted) || !Number.isFinite(measured)) {
    return { ...row, verdict: 'inconclusive', reason: `not finite (predicted ${predicted}, measured ${measured})` };
  }
  const tol = relTol * Math.abs(predicted);
  const err = Math.abs(measured - predicted);
  const s = se ?? 0;
  const rel = predicted !== 0 ? err / Math.abs(predicted) : err;
  if (err <= tol + 2 * s) {
    return { ...row, verdict: 'agrees', reason: `|Δ| = ${fmt(err)} (${pct(rel)}) ≤ tol ${fmt(tol)} + 2·se ${fmt(2 * s)}` };
  }
  if (2 * s > tol) {
    return { ...row, verdict: 'inconclusive', reason: `|Δ| = ${fmt(err)} but 2·se = ${fmt(2 * s)} exceeds the tolerance ${fmt(tol)}` };
  }
  return { ...row, verdict: 'disagrees', reason: `|Δ| = ${fmt(err)} (${pct(rel)}) > tol ${fmt(tol)} + 2·se ${fmt(2 * s)}` };
}

/** A qualitative check (a direction or an ordering), with the numbers it rests on. */
export function check(item: string, ok: boolean, predicted: number, measured: number, reason: string, decisive = true): VerdictRow {
  return { item, predicted, measured, relTol: Number.NaN, verdict: ok ? 'agrees' : decisive ? 'disagrees' : 'inconclusive', reason };
}

/** A study's verdict: disagrees if any row disagrees; agrees if all agree; else inconclusive. */
export function overall(rows: VerdictRow[]): Verdict {
  if (rows.length === 0) return 'inconclusive';
  if (rows.some((r) => r.verdict === 'disagrees')) return 'disagrees';
  if (rows.every((r) => r.verdict === 'agrees')) return 'agrees';
  return 'inconclusive';
}

export function fmt(x: number | undefined, digits = 4): string {
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
