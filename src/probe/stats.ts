// Batch statistics of one layer output, computed on the host from its values.
// A layer output y of shape [B, …, C] is read as the matrix [N, C], N = B·(every axis but the last): a
// Dense output [B, units] as it is, a conv output [B, H, W, C] (NHWC, tfjs's default) as its B·H·W
// positions × C channels, a sequence [B, T, D] as B·T rows × D. Units are the last axis.
import * as tf from '@tensorflow/tfjs';
import { type ColumnStats, columnStatsHost } from '../train/index.js';

/** y as the [N, C] matrix of its rows (every axis but the last) × units (the last axis); [B] as [B, 1]. */
export function asRows(y: tf.Tensor): tf.Tensor2D {
  const shape = y.shape;
  const c = shape.length < 2 ? 1 : shape[shape.length - 1];
  return tf.reshape(y, [-1, c]) as tf.Tensor2D;
}

/**
 * [out_mean, out_var, unit_corr] of a layer output, on the host from its values (read once): the mean over
 * units of each unit's batch mean and of its biased batch variance (1/N Σ (y − ȳ)², as the trainer's
 * preact_var), in float64, and the mean |correlation| between units over the N rows from one Gram matMul
 * (src/train's columnStatsHost; NaN with fewer than 2 units).
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
