// Losses at the top of a network, shared by the sampler (float64 reference) and the trainer, so that
// step 0 of training and a sampled network of the same seed compute the same loss and gradients.
//
// The network output is y = x_L Rᵀ (+ 0 bias), R = drawReadout(width_L, nOut, seed) (entries N(0, 1/width)).
//   readout: nOut = 1, L = Σ_i y_i                         (random linear readout, Luther 2020; the
//            standard for signal-propagation studies: ∂L/∂x_L(i) = R for every sample)
//   projection: L = Σ_i r_iᵀ x_L(i), a fixed random projection per sample: r_i (row i of P, B × width_L,
//            P = drawProjection(B, width_L, seed), entries N(0, 1/width), stream 'projection') are
//            independent across samples, so ∂L/∂x_L(i) = r_i is a generic B × width_L matrix. The network
//            computes y_i = r_iᵀ x_L(i) (nOut = 1) and L = Σ_i y_i as for readout. Unlike readout it is not
//            constant when the last block's output sums to a constant over the batch (φ(γẑ + β) affine
//            after BN, or a final BN): Σ_i r_iᵀ ẑ_i varies with the weights even though Σ_i ẑ_i = 0.
//   mse:     nOut = 10, L = (1/(2B)) Σ_i ‖y_i − t_i‖²       (targets t ~ N(0, 1), stream 'targets')
//   xent:    nOut = 10, L = (1/B) Σ_i −log softmax(y_i)[k_i] (labels k uniform in 0..9, stream 'labels')
import { type DrawOptions, fillNormal, rngOf, streamOf, uniformStreamOf } from './random.js';

export const LOSSES = ['readout', 'projection', 'mse', 'xent'] as const;
export type LossKind = (typeof LOSSES)[number];

export function lossOutputs(loss: LossKind): number {
  return loss === 'readout' || loss === 'projection' ? 1 : 10;
}

/** The per-sample projection of the projection loss: B × width row-major, entries N(0, 1/width). */
export function drawProjection(batch: number, width: number, seed: number, opts: DrawOptions = {}): Float64Array {
  return fillNormal(new Float64Array(batch * width), streamOf(rngOf(opts), seed, 'projection'), Math.sqrt(1 / width));
}

export interface LossTargets {
  kind: LossKind;
  nOut: number;
  /** mse: B × nOut targets, row-major. */
  targets?: Float64Array;
  /** xent: B labels in 0..nOut-1. */
  labels?: Int32Array;
}

/** Random targets or labels for a batch of B samples, from the run's seed. */
export function randomTargets(
  loss: LossKind,
  batch: number,
  seed: number,
  label: string | number = 0,
  opts: DrawOptions = {},
): LossTargets {
  const nOut = lossOutputs(loss);
  const gen = rngOf(opts);
  if (loss === 'mse') {
    const rng = streamOf(gen, seed, 'targets', label);
    const t = new Float64Array(batch * nOut);
    for (let i = 0; i < t.length; i++) t[i] = rng();
    return { kind: loss, nOut, targets: t };
  }
  if (loss === 'xent') {
    const u = uniformStreamOf(gen, seed, 'labels', label);
    const labels = new Int32Array(batch);
    for (let i = 0; i < batch; i++) labels[i] = Math.min(nOut - 1, Math.floor(u() * nOut));
    return { kind: loss, nOut, labels };
  }
  return { kind: loss, nOut };
}

/**
 * Loss value and gradient with respect to the outputs y (B × nOut, row-major), in float64.
 */
export function lossAndGrad(y: Float64Array, batch: number, t: LossTargets): { loss: number; dy: Float64Array } {
  const n = t.nOut;
  const dy = new Float64Array(batch * n);
  let loss = 0;
  if (t.kind === 'readout' || t.kind === 'projection') {
    for (let i = 0; i < batch; i++) {
      loss += y[i];
      dy[i] = 1;
    }
  } else if (t.kind === 'mse') {
    const tg = t.targets!;
    for (let k = 0; k < batch * n; k++) {
      const d = y[k] - tg[k];
      loss += 0.5 * d * d;
      dy[k] = d / batch;
    }
    loss /= batch;
  } else {
    const lab = t.labels!;
    for (let i = 0; i < batch; i++) {
      let m = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < n; k++) m = Math.max(m, y[i * n + k]);
      let s = 0;
      for (let k = 0; k < n; k++) s += Math.exp(y[i * n + k] - m);
      const lse = m + Math.log(s);
      loss += lse - y[i * n + lab[i]];
      for (let k = 0; k < n; k++) dy[i * n + k] = (Math.exp(y[i * n + k] - lse) - (k === lab[i] ? 1 : 0)) / batch;
    }
    loss /= batch;
  }
  return { loss, dy };
}
