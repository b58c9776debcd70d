// Training losses on tfjs, with the definitions of src/network/loss.ts (mean over the batch; mse has 1/2):
//   mse:  L = (1/(2B)) Σ_i ‖y_i − t_i‖²
//   xent: L = (1/B) Σ_i (logsumexp(y_i) − y_i[k_i])
import * as tf from '@tensorflow/tfjs';

export const TRAIN_LOSSES = ['xent', 'mse'] as const;
export type TrainLoss = (typeof TRAIN_LOSSES)[number];

/** Targets of one batch on the device: one-hot/real targets (mse) or a one-hot of the labels (xent). */
export interface BatchTargets {
  /** B × nOut: mse targets, or the one-hot labels for xent. */
  t: tf.Tensor2D;
  /** Class labels (for accuracy), when the data has them. */
  labels: Int32Array | null;
}

export function lossTensor(kind: TrainLoss, y: tf.Tensor2D, targets: BatchTargets): tf.Scalar {
  const B = y.shape[0];
  if (kind === 'mse') return tf.div(tf.mul(tf.sum(tf.square(tf.sub(y, targets.t))), 0.5), B) as tf.Scalar;
  const lse = tf.logSumExp(y, 1);
  const picked = tf.sum(tf.mul(y, targets.t), 1);
  return tf.div(tf.sum(tf.sub(lse, picked)), B) as tf.Scalar;
}

/** Fraction of rows whose argmax equals the label (or the argmax of the target when there are no labels). */
export function accuracyOf(y: Float32Array | Float64Array, nOut: number, labels: Int32Array | null, targets: Float32Array | null): number {
  const B = y.length / nOut;
  if (nOut < 2) return Number.NaN;
  let hit = 0;
  for (let i = 0; i < B; i++) {
    let best = 0;
    for (let k = 1; k < nOut; k++) if (y[i * nOut + k] > y[i * nOut + best]) best = k;
    let want: number;
    if (labels) want = labels[i];
    else {
      want = 0;
      for (let k = 1; k < nOut; k++) if (targets![i * nOut + k] > targets![i * nOut + want]) want = k;
    }
    if (best === want) hit++;
  }
  return hit / B;
}
