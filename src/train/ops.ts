// Operations with a fused kernel on backends that have one (blas: src/train/blas.ts) and the same
// arithmetic as plain tfjs ops everywhere else. The fused kernels perform the same float operations in
// the same order as the op sequences below, so on blas both give the same bits (test/train/blas.test.ts).
import * as tf from '@tensorflow/tfjs';
import type { FusedKernel } from '../io/native.js';
import { fusedKernelName, OWN_KERNELS } from './blas.js';

/**
 * Whether the active backend needs explicit transposes before a matMul (wasm and the JS cpu backend: a
 * matMul with a transposed operand is ~30× slower there); blas and tfjs-node take the transpose as a flag.
 */
export function explicitTranspose(): boolean {
  const b = tf.getBackend();
  return b !== 'blas' && b !== 'tensorflow';
}

/** Whether the active backend has the named kernel. */
export function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** The active backend's kernel name for a fused kernel (the native addon names them), or null where it has none. */
function fused(role: FusedKernel): string | null {
  const name = fusedKernelName(role);
  return name !== null && hasKernel(name) ? name : null;
}

const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown> = {}) =>
  tf.engine().runKernel(name, inputs as any, attrs as any) as unknown as tf.Tensor | tf.Tensor[];

/** Training-mode BN forward: out = γ·ẑ + β with ẑ = (h − μ)·inv, inv = 1/√(σ² + ε) (biased σ²). */
export function bnForward(
  h: tf.Tensor2D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  eps: number,
): { out: tf.Tensor2D; zhat: tf.Tensor2D; inv: tf.Tensor1D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const k = fused('batchNorm');
  if (k) {
    const [out, zhat, inv, mean, variance] = run(k, { h, gamma, beta }, { eps }) as tf.Tensor[];
    return {
      out: out as tf.Tensor2D,
      zhat: zhat as tf.Tensor2D,
      inv: inv as tf.Tensor1D,
      mean: mean as tf.Tensor1D,
      variance: variance as tf.Tensor1D,
    };
  }
  const mean = tf.mean(h, 0) as tf.Tensor1D;
  const centered = tf.sub(h, mean);
  const variance = tf.mean(tf.square(centered), 0) as tf.Tensor1D;
  const inv = tf.rsqrt(tf.add(variance, eps)) as tf.Tensor1D;
  const zhat = tf.mul(centered, inv) as tf.Tensor2D;
  const out = tf.add(tf.mul(zhat, gamma), beta) as tf.Tensor2D;
  return { out, zhat, inv, mean, variance };
}

/**
 * Its backward (Ioffe & Szegedy 2015 §3): dβ = Σ dy, dγ = Σ dy·ẑ, dẑ = γ·dy,
 * dh = (dẑ − mean(dẑ) − ẑ·mean(dẑ·ẑ))·inv.
 */
export function bnBackward(
  dy: tf.Tensor2D,
  zhat: tf.Tensor2D,
  inv: tf.Tensor1D,
  gamma: tf.Tensor1D,
): [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D] {
  const k = fused('batchNormGrad');
  if (k) return run(k, { dy, zhat, inv, gamma }) as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
  const dbeta = tf.sum(dy, 0) as tf.Tensor1D;
  const dgamma = tf.sum(tf.mul(dy, zhat), 0) as tf.Tensor1D;
  const dz = tf.mul(dy, gamma);
  const dh = tf.mul(tf.sub(tf.sub(dz, tf.mean(dz, 0)), tf.mul(zhat, tf.mean(tf.mul(dz, zhat), 0))), inv) as tf.Tensor2D;
  return [dh, dgamma, dbeta];
}

/** p − lr·g (lr as a float32 scalar, as tfjs converts it). */
export function sgdUpdate(p: tf.Tensor, g: tf.Tensor, lr: number): tf.Tensor {
  const k = fused('sgdUpdate');
  if (k) return run(k, { p, g }, { lr }) as tf.Tensor;
  return tf.tidy(() => tf.sub(p, tf.mul(g, lr)));
}

/** [Σ t₀², Σ t₁², …] as one float32 tensor. */
export function sumSquares(ts: tf.Tensor[]): tf.Tensor1D {
  const k = fused('sumSquares');
  if (k) return run(k, Object.fromEntries(ts.map((t, i) => [`x${i}`, t]))) as tf.Tensor1D;
  return tf.tidy(() => tf.stack(ts.map((t) => tf.sum(tf.square(t)))) as tf.Tensor1D);
}

/**
 * x·K + b as one kernel with its gradient [dy·Kᵀ, xᵀ·dy, Σ dy] as another (blas: SignalpropDense), or null
 * where the backend has none or the operands are not float32 matrices (then dense.ts's customGrad runs).
 */
export function denseFused(x: tf.Tensor2D, K: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D | null {
  if (x.rank !== 2 || K.rank !== 2 || b.rank !== 1 || x.dtype !== 'float32' || K.dtype !== 'float32' || b.dtype !== 'float32') return null;
  if (x.size === 0 || K.size === 0 || !hasKernel(OWN_KERNELS.dense) || !hasKernel(OWN_KERNELS.denseGrad)) return null;
  return run(OWN_KERNELS.dense, { x, K, b }) as tf.Tensor2D;
}

/** relu(x) with its gradient dy·step(x) as one kernel each (blas: SignalpropRelu), else tf.relu. */
export function reluFused(x: tf.Tensor): tf.Tensor {
  if (x.dtype !== 'float32' || !hasKernel(OWN_KERNELS.relu) || !hasKernel(OWN_KERNELS.reluGrad)) return tf.relu(x);
  return run(OWN_KERNELS.relu, { x }) as tf.Tensor;
}
