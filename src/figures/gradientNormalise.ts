// Gradient norms on one footing: theory and sampled nets record ln(‖∂L/∂h_ℓ‖²/‖∂L/∂h_L‖²) (log_grad_h_sq), trained
// nets record ‖∂L/∂h_ℓ‖² itself (grad_h_sq) and the per-layer ratio. Each converts to the log ratio to the last
// layer, per run and step, so all three sources can be drawn on one axis.
import type { SPRecord } from '../records/index.js';
import { finite, groupBy } from './common.js';

interface Family {
  /** The common quantity: ln of the squared norm relative to the last layer. */
  log: string;
  /** Quantities that convert to it, in order of preference, and how. */
  from: { q: string; how: 'same' | 'sq' | 'norm' | 'ratio' }[];
}

export const GRADIENT_FAMILIES: Family[] = [
  {
    log: 'log_grad_h_sq',
    from: [
      { q: 'log_grad_h_sq', how: 'same' },
      { q: 'cum_log_growth', how: 'same' },
      { q: 'grad_h_sq', how: 'sq' },
      { q: 'grad_h_norm', how: 'norm' },
      { q: 'grad_growth', how: 'ratio' },
    ],
  },
  {
    log: 'log_grad_w_sq',
    from: [
      { q: 'log_grad_w_sq', how: 'same' },
      { q: 'grad_w_sq', how: 'sq' },
      { q: 'grad_w_norm', how: 'norm' },
    ],
  },
];

/** The family a quantity belongs to (undefined when none). */
export function familyOf(q: string): Family | undefined {
  return GRADIENT_FAMILIES.find((f) => f.from.some((x) => x.q === q));
}

/** One network's measurement at one step: spec, seed (or run) and step. */
const runKey = (r: SPRecord) => `${r.specId}|${r.seed}|${r.tags?.run ?? ''}|${r.step}`;

/**
 * A source's records of `from` as records of the family's log quantity. `sq`: ln(v_ℓ/v_L); `norm`: 2·ln(v_ℓ/v_L);
 * `ratio` (R_ℓ = ‖g_ℓ‖²/‖g_ℓ₊₁‖² for ℓ < L): Σ_{k=ℓ}^{L−1} ln R_k, and 0 at the last layer L = max ℓ + 1. L is the
 * largest layer of each run and step. Non-positive or non-finite values leave their run out (returned as dropped).
 */
export function toRelativeLog(records: SPRecord[], family: Family, from: string): { records: SPRecord[]; droppedRuns: number } {
  const how = family.from.find((x) => x.q === from)?.how;
  if (!how) throw new Error(`gradient normalisation: ${from} is not in the ${family.log} family`);
  const mine = records.filter((r) => r.quantity === from && r.layer !== null);
  if (how === 'same')
    return { records: mine.map((r) => (r.quantity === family.log ? r : { ...r, quantity: family.log as any })), droppedRuns: 0 };
  const out: SPRecord[] = [];
  let droppedRuns = 0;
  for (const [, g] of groupBy(mine, runKey)) {
    if (!g.every((r) => finite(r.value) && r.value > 0)) {
      droppedRuns++;
      continue;
    }
    const byLayer = [...g].sort((a, b) => a.layer! - b.layer!);
    // a product of per-layer ratios needs every layer between ℓ and L
    if (how === 'ratio' && byLayer.some((r, i) => i > 0 && r.layer !== byLayer[i - 1].layer! + 1)) {
      droppedRuns++;
      continue;
    }
    const conv = (r: SPRecord, v: number): SPRecord => ({
      ...r,
      quantity: family.log as any,
      value: v,
      sd: undefined,
      lo: undefined,
      hi: undefined,
      tags: { ...(r.tags ?? {}), normalisedFrom: from },
    });
    if (how === 'ratio') {
      const last = byLayer[byLayer.length - 1];
      let acc = 0;
      const rows: SPRecord[] = [conv({ ...last, layer: last.layer! + 1 }, 0)];
      for (let i = byLayer.length - 1; i >= 0; i--) {
        acc += Math.log(byLayer[i].value);
        rows.push(conv(byLayer[i], acc));
      }
      for (const r of rows.reverse()) out.push(r);
      continue;
    }
    const top = byLayer[byLayer.length - 1].value;
    const k = how === 'norm' ? 2 : 1;
    for (const r of byLayer) out.push(conv(r, k * Math.log(r.value / top)));
  }
  return { records: out, droppedRuns };
}
