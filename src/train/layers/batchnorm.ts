// batchnorm: per unit over the batch. Training mode normalizes with the batch statistics and hands them
// out for the running statistics; eval mode uses those (PyTorch's convention, model.ts).
import * as tf from '@tensorflow/tfjs';
import { bnBackward, bnForward } from '../ops.js';
import type { BnBatchStats, ParamInit, T1, T2, TrainLayer } from './types.js';

/**
 * Training-mode BatchNorm over the batch axis: ẑ = (h − μ_B)/√(σ²_B + ε), out = γ·ẑ + β, with the
 * biased batch variance σ²_B (Ioffe & Szegedy 2015, Alg. 1). Closed-form backward (Ioffe & Szegedy
 * §3; Luther 2020): dγ = Σ dy·ẑ, dβ = Σ dy, dh = (dẑ − mean(dẑ) − ẑ·mean(dẑ·ẑ))/√(σ²_B + ε),
 * dẑ = γ·dy. `onStats` receives μ_B and σ²_B (the caller must tf.keep what it keeps). (tf.batchNorm
 * without offset and scale breaks its gradient; we never call it.)
 */
export function batchNorm(h: T2, gamma: T1, beta: T1, eps: number, onStats?: (s: BnBatchStats) => void): T2 {
  const f = tf.customGrad(((hh: tf.Tensor, g: tf.Tensor, bt: tf.Tensor, save: tf.GradSaveFunc) => {
    const { out, zhat, inv, mean, variance } = bnForward(hh as T2, g as T1, bt as T1, eps);
    if (onStats) onStats({ mean, variance });
    save([zhat, inv, g]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [zh, iv, gm] = saved as [T2, T1, T1];
        return bnBackward(dy as T2, zh, iv, gm);
      },
    };
  }) as any);
  return f(h, gamma, beta) as T2;
}

/** Eval-mode BatchNorm with running statistics (no batch dependence). */
export function batchNormEval(h: T2, gamma: T1, beta: T1, eps: number, runMean: T1, runVar: T1): T2 {
  return tf.add(tf.mul(tf.mul(tf.sub(h, runMean), tf.rsqrt(tf.add(runVar, eps))), gamma), beta) as T2;
}

/** A norm's per-unit parameters: γ, and β unless it has none, filled with the layer's values. */
export function normParams(width: number, gamma: number, beta?: number): ParamInit[] {
  const g: ParamInit = { kind: 'gamma', shape: [width], init: () => tf.fill([width], gamma) };
  return beta === undefined ? [g] : [g, { kind: 'beta', shape: [width], init: () => tf.fill([width], beta) }];
}

/** Parameters γ, β per unit (per channel on an image: BatchNorm2d over B·H·W); one running-statistics slot. */
export const batchnorm: TrainLayer<'batchnorm', { c: number } | null> = {
  build(layer, { width, shape }) {
    const n = shape ? shape.c : width;
    return {
      params: normParams(n, layer.gamma, layer.beta),
      width,
      runningStats: true,
      statWidth: n,
      statRows: shape ? shape.h * shape.w : 1,
      data: shape ? { c: shape.c } : null,
    };
  },
  forward(node, x, ctx) {
    const g = ctx.p[node.params[0]] as T1;
    const bt = ctx.p[node.params[1]] as T1;
    const { eps } = node.layer;
    // an image [B, H·W·C] is the (B·H·W) × C matrix of its positions (NHWC)
    const c = node.data?.c;
    const v = c ? (tf.reshape(x, [-1, c]) as T2) : x;
    const out =
      ctx.mode === 'eval'
        ? batchNormEval(v, g, bt, eps, ctx.runMean[node.stat], ctx.runVar[node.stat])
        : batchNorm(v, g, bt, eps, (s) => {
            if (ctx.bnStats) ctx.bnStats[node.stat] = { mean: tf.keep(s.mean), variance: tf.keep(s.variance) };
          });
    return c ? (tf.reshape(out, x.shape) as T2) : out;
  },
};
