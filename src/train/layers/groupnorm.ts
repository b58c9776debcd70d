// groupnorm: per sample over each group of channels × positions (Wu & He 2018; PyTorch's GroupNorm(G, C)),
// γ_c (v − mean_g v)/√(var_g v + ε) + β_c with the biased variance and learnable γ, β per channel (per unit of a
// flat activation), as PyTorch's affine GroupNorm. No batch dependence: training and eval mode are the same.
import * as tf from '@tensorflow/tfjs';
import { normParams } from './batchnorm.js';
import type { T1, T2, TrainLayer } from './types.js';

/** Where a groupnorm's input lives: C channels at P positions (NHWC rows of P·C; P = 1, C = n when flat). */
export interface GroupLayout {
  c: number;
  p: number;
  groups: number;
}

/**
 * GroupNorm of the rows of v (B × P·C, NHWC), seen as [B, P, G, C/G] with statistics over axes 1 and 3.
 * Closed-form backward, layernorm's per (sample, group): dβ = Σ_{B,P} dy, dγ = Σ_{B,P} dy·ẑ (per channel),
 * dẑ = γ·dy, dv = (dẑ − mean_g dẑ − ẑ·mean_g(dẑ·ẑ))/√(var_g v + ε).
 */
export function groupNorm(v: T2, gamma: T1, beta: T1, eps: number, { c, p, groups }: GroupLayout): T2 {
  const cg = c / groups;
  const n = p * c;
  const axes = [1, 3];
  const f = tf.customGrad(((vv: tf.Tensor, g: tf.Tensor, bt: tf.Tensor, save: tf.GradSaveFunc) => {
    const x4 = tf.reshape(vv, [-1, p, groups, cg]);
    const centered = tf.sub(x4, tf.mean(x4, axes, true));
    const inv = tf.rsqrt(tf.add(tf.mean(tf.square(centered), axes, true), eps));
    const zhat = tf.mul(centered, inv);
    const g2 = tf.reshape(g, [groups, cg]);
    save([zhat, inv, g2]);
    return {
      value: tf.reshape(tf.add(tf.mul(zhat, g2), tf.reshape(bt, [groups, cg])), [-1, n]),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const d = tf.reshape(dy as tf.Tensor, [-1, p, groups, cg]);
        const [zh, iv, gm] = saved;
        const dz = tf.mul(d, gm);
        const dv = tf.mul(tf.sub(tf.sub(dz, tf.mean(dz, axes, true)), tf.mul(zh, tf.mean(tf.mul(dz, zh), axes, true))), iv);
        return [tf.reshape(dv, [-1, n]), tf.reshape(tf.sum(tf.mul(d, zh), [0, 1]), [c]), tf.reshape(tf.sum(d, [0, 1]), [c])];
      },
    };
  }) as any);
  return f(v, gamma, beta) as T2;
}

/** Parameters γ, β per channel (per unit of a flat activation), the layer's values. */
export const groupnorm: TrainLayer<'groupnorm', GroupLayout> = {
  build(layer, { width, shape }) {
    const c = shape ? shape.c : width;
    const p = shape ? shape.h * shape.w : 1;
    return { params: normParams(c, layer.gamma, layer.beta), width, data: { c, p, groups: layer.groups } };
  },
  forward(node, x, { p }) {
    return groupNorm(x, p[node.params[0]] as T1, p[node.params[1]] as T1, node.layer.eps, node.data);
  },
};
