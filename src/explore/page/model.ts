// What each plot of the explorer shows, computed by the theory room's own functions (the ones the Node API and
// the CLI call): predict for the depth plot, bnGradientRate (or predict per B) for λ(B), chi1 and criticalLine
// for the phase diagram, jacobianSpectrumTheory for the singular values. No re-implementation of any theory
// here: only which function a spec needs, on which grid. Pure (no DOM), so Node tests call it too.
import { hasBN, makeSpec, type NetworkSpec, SpecError } from '../../network/index.js';
import {
  bnGradientRate,
  chi1,
  qStar,
  criticalLine,
  interiorLayers,
  type JacobianSpectrumTheory,
  jacobianSpectrumTheory,
  type Prediction,
  predict,
} from '../../theory/index.js';
import type { ExploreState } from './state.js';

/** The spec of a state (makeSpec validates it; a bad one throws SpecError naming the field). */
export function specOf(s: ExploreState): NetworkSpec {
  return makeSpec({
    order: s.order,
    activation: s.activation,
    depth: s.depth,
    width: s.width,
    batch: s.batch,
    init: { kind: s.init, sigmaW2: s.sigmaW2, sigmaB2: s.sigmaB2 },
    bn: { gamma: s.gamma, beta: s.beta, eps: s.eps },
    residual: s.residual === null ? null : { scale: s.residual },
  });
}

export interface DepthView {
  prediction: Prediction;
  /** ln(‖∂L/∂h_l‖² / ‖∂L/∂h_L‖²) per block l: predict's theory records `log_grad_h_sq`. */
  points: { layer: number; value: number }[];
  /** Interior window (interiorLayers) and the mean slope of the points over it (−ln λ per layer), when it has one. */
  interior: [number, number];
  slope: number | null;
}

/** The depth plot: predict(spec) with the page's dynamics mode. */
export function depthView(spec: NetworkSpec, dynamics: ExploreState['dynamics']): DepthView {
  const prediction = predict(spec, { dynamics });
  const points = prediction.records
    .filter((r) => r.quantity === 'log_grad_h_sq' && r.source === 'theory' && r.layer !== null)
    .map((r) => ({ layer: r.layer as number, value: r.value }))
    .sort((a, b) => a.layer - b.layer);
  const interior = interiorLayers(spec.depth);
  const at = (l: number) => points.find((p) => p.layer === l)?.value;
  const [a, b] = interior;
  const va = at(a);
  const vb = at(b);
  const slope = b > a && va !== undefined && vb !== undefined ? (vb - va) / (b - a) : null;
  return { prediction, points, interior, slope };
}

/**
 * How λ depends on B for this spec: 'bnGradientRate' for Linear → BN → φ without residual (Yang's λ(B), the
 * function predict itself calls there); 'predict' (predict at each B, dynamics 'never') for other BatchNorm
 * nets; 'none' without BatchNorm (λ does not depend on B).
 */
export type BatchMethod = 'bnGradientRate' | 'predict' | 'none';

export function batchMethod(spec: NetworkSpec): BatchMethod {
  if (!hasBN(spec)) return 'none';
  return spec.order === 'linear-bn-act' && spec.residual === null ? 'bnGradientRate' : 'predict';
}

/** λ at batch size B (null: B → ∞) by the spec's method; for 'none' the (B-free) predicted growth. */
export function lambdaAt(spec: NetworkSpec, B: number | null): number {
  const m = batchMethod(spec);
  if (m === 'bnGradientRate') return bnGradientRate(spec.activation, B, spec.bn, { sigmaW2: spec.init.sigmaW2 });
  return predict({ ...spec, batch: B }, { dynamics: 'never' }).predictedGrowth;
}

/** The B grid of the λ(B) plot (BatchNorm theory needs B >= 4); the current B is added. */
export function batchGrid(method: BatchMethod, current: number | null): number[] {
  const dense = [4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024];
  const sparse = [4, 6, 8, 12, 16, 32, 64, 128, 256, 1024];
  const grid = method === 'bnGradientRate' ? dense : sparse;
  const out = current !== null && current >= 4 && !grid.includes(current) ? [...grid, current] : [...grid];
  return out.sort((a, b) => a - b);
}

/** The phase diagram's axes: σ_w² and σ_b² over the ranges of the page's sliders. */
export const PHASE_SW2 = Array.from({ length: 25 }, (_, i) => 0.25 + i * 0.25);
export const PHASE_SB2 = Array.from({ length: 11 }, (_, i) => i * 0.1);

/**
 * One cell of the phase diagram: χ₁ = σ_w² E φ′(h)² at q* (chi1), the slope of the plain net's q/c-maps;
 * Infinity where the q-map has no fixed point (qStar = ∞: the forward pass explodes, χ₁ is not defined).
 */
export function phaseCell(activation: string, sigmaW2: number, sigmaB2: number): { sigmaW2: number; sigmaB2: number; chi1: number } {
  const q = qStar(activation, sigmaW2, sigmaB2);
  return { sigmaW2, sigmaB2, chi1: Number.isFinite(q) ? chi1(activation, sigmaW2, sigmaB2, q) : Number.POSITIVE_INFINITY };
}

/** The critical line χ₁ = 1 at one σ_b² (criticalLine), or null where it has no σ_w² in [1e-3, 1e3]. */
export function criticalPoint(activation: string, sigmaB2: number): { sigmaB2: number; sigmaW2: number } | null {
  try {
    return { sigmaB2, sigmaW2: criticalLine(activation, sigmaB2) };
  } catch (e) {
    if (e instanceof RangeError) return null;
    throw e;
  }
}

/** The free-probability spectrum of the spec's Jacobian, or why this net has none. */
export function spectrumView(spec: NetworkSpec): { theory: JacobianSpectrumTheory } | { reason: string } {
  try {
    return { theory: jacobianSpectrumTheory(spec) };
  } catch (e) {
    if (e instanceof SpecError) return { reason: e.message };
    throw e;
  }
}
