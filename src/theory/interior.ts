// Which layers an interior growth estimate averages over, shared by the theory (predict's dynamics) and the
// sampler (measured growth), so that a prediction and a measurement of one net use the same window.

/**
 * Interior layers for the growth estimate: growth_l is defined for l = 1..L−1; drop d = min(5, ⌊0.15·L⌋)
 * at each end, and always layer 1 (the input has not reached the BN fixed point yet at the bottom: at
 * depth 8, B = 32 growth_1 ≈ 0.53 where every other layer is ≈ 1.52; the readout's gradient is not yet in
 * the backward map's top direction at the top). A net shallower than MIN_INTERIOR_DEPTH has no interior:
 * the window is empty (last < first) and the growth is not estimated; never a window that includes layer 1.
 */
export function interiorLayers(depth: number): [number, number] {
  const d = Math.min(5, Math.floor(0.15 * depth));
  return [1 + Math.max(1, d), depth - 1 - d];
}

/** The shallowest net with an interior growth window (layers 2..2 of a depth-3 net). */
export const MIN_INTERIOR_DEPTH = 3;

/** Why a depth has no interior window, or null where it has one. */
export function noInteriorReason(depth: number): string | null {
  const [a, b] = interiorLayers(depth);
  return b < a
    ? `depth ${depth} has no interior layers for the growth estimate (layer 1 is not at the fixed point; needs depth >= ${MIN_INTERIOR_DEPTH})`
    : null;
}

/** Student-t quantiles live in the spec room (records' intervals use them); re-exported for the theory. */
export { studentT975 } from '../network/stats.js';
