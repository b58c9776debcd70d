// Batch statistics of one layer output, as device scalars (the caller reads them all in one dataSync).
// A layer output y of shape [B, …, C] is read as the matrix [N, C], N = B·(every axis but the last): a
// Dense output [B, units] as it is, a conv output [B, H, W, C] (NHWC, tfjs's default) as its B·H·W
// positions × C channels, a sequence [B, T, D] as B·T rows × D. Units are the last axis.
import * as tf from '@tensorflow/tfjs';
import { type ColumnStats, columnStatsHost, unitCorrelation } from '../train/index.js';

/** y as the [N, C] matrix of its rows (every axis but the last) × units (the last axis); [B] as [B, 1]. */
export function asRows(y: tf.Tensor): tf.Tensor2D {
  const shape = y.shape;
  const c = shape.length < 2 ? 1 : shape[shape.length - 1];
  return tf.reshape(y, [-1, c]) as tf.Tensor2D;
}

/**
 * [out_mean, out_var, unit_corr] of a layer output: the mean over units of each unit's batch mean, of
 * its biased batch variance (1/N Σ (y − ȳ)², as the trainer's preact_var), and src/train's unitCorrelation
 * (mean |correlation| between units over the N rows; NaN with fewer than 2 units). float32 scalars.
 */
export function outputStats(y: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const X = asRows(tf.cast(y, 'float32'));
    const { mean, variance } = tf.moments(X, 0);
    const uc = X.shape[1] >= 2 ? unitCorrelation(X) : tf.scalar(Number.NaN);
    return tf.stack([tf.mean(mean), tf.mean(variance), uc]) as tf.Tensor1D;
  });
}

/**
 * outputStats' three numbers computed on the host from the output's values (read once): the column means
 * and biased variances in float64, the unit correlation from one Gram matMul (src/train's columnStatsHost).
 * The same quantities as outputStats (float32 on the device) to float32 rounding.
 */
export function outputStatsHost(y: tf.Tensor): ColumnStats {
  const shape = y.shape;
  const c = shape.length < 2 ? 1 : shape[shape.length - 1];
  const n = c === 0 ? 0 : y.size / c;
  const v = y.dtype === 'float32' ? (y.dataSync() as Float32Array) : Float32Array.from(y.dataSync());
  return columnStatsHost(v, n, c);
}

/** Σ t² as a float32 scalar (tf.sum(tf.square(t)): the trainer's sumSquares arithmetic off the fused kernel). */
export function sumSq(t: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.square(t)) as tf.Scalar);
}
