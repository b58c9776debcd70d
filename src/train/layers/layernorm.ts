// layernorm: per sample over the units (Ba et al. 2016), γ∘(v − mean_n v)/√(var_n v + ε) + β with the
// biased variance and learnable γ, β per unit. No batch dependence: training and eval mode are the same.
import * as tf from '@tensorflow/tfjs';
import { normParams } from './batchnorm.js';
import type { T1, T2, TrainLayer } from './types.js';

/**
 * LayerNorm of the rows of v (B × n). Closed-form backward, BN's with the axes swapped for the
 * statistics (they are per row; γ and β stay per unit): dβ = Σ_B dy, dγ = Σ_B dy·ẑ, dẑ = γ·dy,
 * dv = (dẑ − mean_n dẑ − ẑ·mean_n(dẑ·ẑ))/√(var_n v + ε).
 */
export function layerNorm(v: T2, gamma: T1, beta: T1, eps: number): T2 {
  const f = tf.customGrad(((vv: tf.Tensor, g: tf.Tensor, bt: tf.Tensor, save: tf.GradSaveFunc) => {
    const mean = tf.mean(vv, 1, true);
    const centered = tf.sub(vv, mean);
    const inv = tf.rsqrt(tf.add(tf.mean(tf.square(centered), 1, true), eps));
    const zhat = tf.mul(centered, inv);
    save([zhat, inv, g]);
    return {
      value: tf.add(tf.mul(zhat, g), bt),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const d = dy as T2;
        const [zh, iv, gm] = saved;
        const dz = tf.mul(d, gm);
        const dv = tf.mul(tf.sub(tf.sub(dz, tf.mean(dz, 1, true)), tf.mul(zh, tf.mean(tf.mul(dz, zh), 1, true))), iv);
        return [dv, tf.sum(tf.mul(d, zh), 0), tf.sum(d, 0)];
      },
    };
  }) as any);
  return f(v, gamma, beta) as T2;
}

/** Parameters γ, β per unit (the layer's values). */
export const layernorm: TrainLayer<'layernorm'> = {
  build(layer, { width }) {
    return { params: normParams(width, layer.gamma, layer.beta), width, data: undefined };
  },
  forward(node, x, { p }) {
    return layerNorm(x, p[node.params[0]] as T1, p[node.params[1]] as T1, node.layer.eps);
  },
};
