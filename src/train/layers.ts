// The building blocks of a trained network on tfjs: Linear and BatchNorm with hand-written gradients
// (tf.customGrad); the activations as tf ops are in activations.ts (re-exported here).
//
// Why custom gradients: on the wasm backend a matMul with a transposed operand is ~30x slower than a
// plain one, and tfjs's autodiff of matMul uses transposed operands. On wasm our gradients transpose
// explicitly (tf.transpose) and then call a plain matMul; on backends whose transposed matMul costs
// nothing extra (blas: sgemm takes the transpose as a flag; tfjs-node) they pass the flag. The
// arithmetic is the same either way. See docs/training.md.
import * as tf from '@tensorflow/tfjs';
import { bnBackward, bnForward } from './ops.js';

export { compileExpression, EXPR_FUNCTIONS, EXPR_SUBSET, type TfActivation, tfActivation } from './activations.js';

type T2 = tf.Tensor2D;
type T1 = tf.Tensor1D;

/** Whether the active backend needs explicit transposes before a matMul (wasm and the JS cpu backend). */
export function explicitTranspose(): boolean {
  const b = tf.getBackend();
  return b !== 'blas' && b !== 'tensorflow';
}

/**
 * h = x·K + b with K = Wᵀ (fan_in × fan_out, "kernel" layout, so the forward is a plain matMul).
 * Gradients: dx = dh·Kᵀ, dK = xᵀ·dh, db = Σ_batch dh; the transposes are explicit on wasm and cpu,
 * matMul flags on blas and tfjs-node (see explicitTranspose).
 * `onGrad` (optional) receives dh = ∂L/∂h inside the backward pass (used by probes; it must not
 * return or modify anything).
 */
export function linear(x: T2, K: T2, b: T1, onGrad?: (dh: T2) => void): T2 {
  const f = tf.customGrad(((xx: tf.Tensor, kk: tf.Tensor, bb: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xx, kk]);
    const value = tf.add(tf.matMul(xx as T2, kk as T2), bb) as T2;
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const dh = dy as T2;
        const [xs, ks] = saved as [T2, T2];
        if (onGrad) onGrad(dh);
        const explicit = explicitTranspose();
        const dx = explicit ? tf.matMul(dh, tf.transpose(ks)) : tf.matMul(dh, ks, false, true);
        const dk = explicit ? tf.matMul(tf.transpose(xs), dh) : tf.matMul(xs, dh, true, false);
        const db = tf.sum(dh, 0);
        return [dx, dk, db];
      },
    };
  }) as any);
  return f(x, K, b) as T2;
}

/** Batch statistics of one BN call, handed out for running statistics and probes. */
export interface BnBatchStats {
  mean: T1;
  /** Biased batch variance (1/B), the one used to normalize. */
  variance: T1;
}

/**
 * Training-mode BatchNorm over the batch axis: ẑ = (h − μ_B)/√(σ²_B + ε), out = γ·ẑ + β, with the
 * biased batch variance σ²_B (Ioffe & Szegedy 2015, Alg. 1). Closed-form backward (Ioffe & Szegedy
 * §3; Luther 2020): dγ = Σ dy·ẑ, dβ = Σ dy, dh = (dẑ − mean(dẑ) − ẑ·mean(dẑ·ẑ))/√(σ²_B + ε),
 * dẑ = γ·dy. `onStats` receives μ_B and σ²_B (the caller must tf.keep what it keeps).
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
