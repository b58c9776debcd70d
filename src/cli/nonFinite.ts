// Results that overflowed float64: say so, where and why, instead of printing "-" and exiting 0.
// Exit code 3 (docs/architecture.md): the input was valid and the command ran, but its headline result is not
// a finite number, so a script must not go on as if it had one. Values that overflowed only in some layers
// give a warning and exit 0.
import { kindsOf, layersOf, type NetworkSpec } from '../network/index.js';
import type { SPRecord } from '../records/index.js';

/** Exit code of a run whose headline result overflowed (not finite). */
export const EXIT_NOT_FINITE = 3;

/** float64's largest finite magnitude: ln(1.797e308) ≈ 709.8. */
const LN_MAX = Math.log(Number.MAX_VALUE);

/** Why a net of this spec overflows, in words (the likely cause; the first non-finite layer is given separately). */
export function overflowCause(spec: NetworkSpec): string {
  const w = spec.init.sigmaW2;
  const kinds = kindsOf(layersOf(spec));
  if (!kinds.has('batchnorm') && !kinds.has('layernorm') && !kinds.has('rmsnorm') && !kinds.has('groupnorm')) {
    return `without BatchNorm nothing rescales the activations: each layer multiplies their variance by about σ_w² = ${w} (times E[φ(z)²]/E[z²]), past float64's largest value 1.8e308 (e^${LN_MAX.toFixed(1)}) after ln(1.8e308)/ln(σ_w²) ≈ ${w > 1 ? (LN_MAX / Math.log(w)).toFixed(1) : '∞'} layers`;
  }
  const norm = kinds.has('batchnorm')
    ? 'BatchNorm'
    : kinds.has('layernorm')
      ? 'LayerNorm'
      : kinds.has('groupnorm')
        ? 'GroupNorm'
        : 'RMSNorm';
  return `${norm} keeps the forward pass bounded, but ‖∂L/∂h‖² grows by λ per layer; over depth ${spec.depth} the product passes float64's largest value 1.8e308 once depth · ln λ > ${LN_MAX.toFixed(1)} (or the norm's ε = ${spec.bn.eps} and γ = ${spec.bn.gamma} are extreme)`;
}

export interface NonFiniteSummary {
  /** Records whose value is NaN or ±Infinity. */
  count: number;
  total: number;
  /** The first layer (lowest) with a non-finite value, and its quantities. */
  firstLayer: number | null;
  quantities: string[];
}

export function nonFiniteSummary(records: SPRecord[]): NonFiniteSummary {
  let count = 0;
  let firstLayer: number | null = null;
  const qs = new Set<string>();
  for (const r of records) {
    if (Number.isFinite(r.value)) continue;
    count++;
    if (r.layer !== null && (firstLayer === null || r.layer < firstLayer)) firstLayer = r.layer;
  }
  if (firstLayer !== null) for (const r of records) if (r.layer === firstLayer && !Number.isFinite(r.value)) qs.add(r.quantity);
  return { count, total: records.length, firstLayer, quantities: [...qs].sort() };
}

/**
 * One line (for stderr) when any value is not finite, else null: how many, from which layer, why.
 * `headline` names the result the command leads with (e.g. "measured growth") when it is the one that overflowed.
 */
export function nonFiniteMessage(command: string, spec: NetworkSpec, records: SPRecord[], headline?: string): string | null {
  const s = nonFiniteSummary(records);
  if (s.count === 0 && !headline) return null;
  const where = s.firstLayer !== null ? `, first at layer ${s.firstLayer} (${s.quantities.join(', ')})` : '';
  const what = headline
    ? `the ${headline} is not finite and ${s.count} of ${s.total} values are NaN or ±Infinity`
    : `${s.count} of ${s.total} values are NaN or ±Infinity`;
  return `${command}: ${what}${where}: the values overflowed float64; ${overflowCause(spec)}`;
}

/** Table cell of a value: "-" only for a value that is absent; overflow shows as inf / -inf / nan. */
export function nonFiniteCell(v: number): string {
  return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
}

/**
 * Warn on stderr when records hold values that overflowed; set exit code 3 when the headline value is one of
 * them (not finite while some record overflowed: a headline that is absent for another reason is not overflow).
 */
export function reportNonFinite(
  command: string,
  spec: NetworkSpec,
  records: SPRecord[],
  headline: { name: string; value: number | null | undefined },
): void {
  const s = nonFiniteSummary(records);
  if (s.count === 0) return;
  const bad = typeof headline.value === 'number' && !Number.isFinite(headline.value);
  process.stderr.write(`${nonFiniteMessage(command, spec, records, bad ? headline.name : undefined)}\n`);
  if (bad) process.exitCode = EXIT_NOT_FINITE;
}
