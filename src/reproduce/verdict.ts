// Verdicts for the reproduction studies: predicted against measured, with a stated tolerance.
import { type AgreementVerdict, agreement, fmtNumber } from '../records/index.js';

export type Verdict = AgreementVerdict;

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
 * Judge one measurement against a prediction by the one agreement rule (src/records/agreement.ts) at
 * its default z = AGREEMENT_Z = 2:
 * - agrees when |m − p| ≤ relTol·|p| + 2·se (within tolerance, allowing two standard errors);
 * - inconclusive when the 95% interval of the measurement (±2·se) is wider than the tolerance band
 *   itself (the measurement cannot tell), or either number is not finite;
 * - disagrees otherwise.
 */
export function judge(item: string, predicted: number, measured: number, relTol: number, se?: number): VerdictRow {
  const { verdict, reason } = agreement(predicted, measured, { relTol, se });
  return { item, predicted, measured, se, relTol, verdict, reason };
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

/** A number to `digits` significant digits (the agreement rule's format). */
export const fmt = fmtNumber;
