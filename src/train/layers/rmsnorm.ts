// rmsnorm: per sample over the units (Zhang & Sennrich 2019), γ∘v/√(mean_n v² + ε) with a learnable
// gain γ per unit and no shift. No batch dependence: training and eval mode are the same.
import * as tf from '@tensorflow/tfjs';
import { normParams } from './batchnorm.js';
import type { T1, T2, TrainLayer } from './types.js';

/**
 * RMSNorm of the rows of v (B × n). Closed-form backward: dγ = Σ_B dy·ẑ, dẑ = γ·dy,
 * dv = (dẑ − ẑ·mean_n(dẑ·ẑ))/√(mean_n v² + ε) (LayerNorm's without the mean path).
 */
export function rmsNorm(v: T2, gamma: T1, eps: number): T2 {
  const f = tf.customGrad(((vv: tf.Tensor, g: tf.Tensor, save: tf.GradSaveFunc) => {
    const inv = tf.rsqrt(tf.add(tf.mean(tf.square(vv), 1, true), eps));
    const zhat = tf.mul(vv, inv);
    save([zhat, inv, g]);
    return {
      value: tf.mul(zhat, g),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const d = dy as T2;
        const [zh, iv, gm] = saved;
        const dz = tf.mul(d, gm);
        const dv = tf.mul(tf.sub(dz, tf.mul(zh, tf.mean(tf.mul(dz, zh), 1, true))), iv);
        return [dv, tf.sum(tf.mul(d, zh), 0)];
      },
    };
  }) as any);
  return f(v, gamma) as T2;
}

/** Parameter γ per unit (the layer's value). */
export const rmsnorm: TrainLayer<'rmsnorm'> = {
  build(layer, { width }) {
    return { params: normParams(width, layer.gamma), width, data: undefined };
  },
  forward(node, x, { p }) {
    return rmsNorm(x, p[node.params[0]] as T1, node.layer.eps);
  },
};
