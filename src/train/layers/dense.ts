// dense: h = x·K + b with the kernel K = Wᵀ (fan_in × fan_out), so the forward is a plain matMul.
// Hand-written gradient (tf.customGrad): on the wasm backend a matMul with a transposed operand is ~30×
// slower than a plain one, and tfjs's autodiff of matMul uses transposed operands. On wasm and cpu our
// backward transposes explicitly (tf.transpose) and calls a plain matMul; on backends whose transposed
// matMul costs nothing extra (blas: sgemm takes the transpose as a flag; tfjs-node) it passes the flag.
// The arithmetic is the same either way (docs/training.md).
import * as tf from '@tensorflow/tfjs';
import { denseFused, explicitTranspose } from '../ops.js';
import type { T1, T2, TrainLayer } from './types.js';

/**
 * h = x·K + b. Gradients: dx = dh·Kᵀ, dK = xᵀ·dh, db = Σ_batch dh. `onGrad` (optional) receives
 * dh = ∂L/∂h inside the backward pass (used by probes; it must not return or modify anything).
 */
export function linear(x: T2, K: T2, b: T1, onGrad?: (dh: T2) => void): T2 {
  // without a probe to call back: the backend's fused kernels where it has them (the same arithmetic, ops.ts)
  if (!onGrad) {
    const h = denseFused(x, K, b);
    if (h) return h;
  }
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

/** Float64 row-major n_out × n_in → Float32 kernel K = Wᵀ (n_in × n_out). */
export function kernelFromRowMajor(W: Float64Array, nOut: number, nIn: number): Float32Array {
  const K = new Float32Array(nOut * nIn);
  for (let o = 0; o < nOut; o++) for (let i = 0; i < nIn; i++) K[i * nOut + o] = W[o * nIn + i];
  return K;
}

/** Parameters W (as the kernel) and b from the block's draws; the probes' h and ∂L/∂h are taken here. */
export const dense: TrainLayer<'dense'> = {
  build(layer, { width, dense: d }) {
    return {
      params: [
        { kind: 'W', shape: [width, layer.width], init: () => tf.tensor2d(kernelFromRowMajor(d.W, d.nOut, d.nIn), [width, layer.width]) },
        { kind: 'b', shape: [layer.width], init: () => tf.tensor1d(Float32Array.from(d.b)) },
      ],
      width: layer.width,
      data: undefined,
    };
  },
  forward(node, x, { p, capture }) {
    const l = node.block - 1;
    const onGrad = capture
      ? (dh: T2) => {
          capture.dhSq[l] = tf.keep(tf.sum(tf.square(dh)) as tf.Scalar);
          capture.dh[l] = tf.keep(tf.clone(dh));
        }
      : undefined;
    const h = linear(x, p[node.params[0]] as T2, p[node.params[1]] as T1, onGrad);
    if (capture) capture.h[l] = tf.keep(h);
    return h;
  },
};
