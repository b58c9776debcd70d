// An identity whose backward hands ∂L/∂x to a callback: how the probes read a layer's output gradient
// without a second pass (the trainer's dense blocks, the conv blocks).
import * as tf from '@tensorflow/tfjs';
import type { T2 } from './types.js';

/** x, with `onGrad` receiving ∂L/∂x in the backward pass (the same values forward, the same gradient back). */
export function tap(x: T2, onGrad: (dx: T2) => void): T2 {
  const f = tf.customGrad(((xx: tf.Tensor, _save: tf.GradSaveFunc) => ({
    value: tf.clone(xx),
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
      onGrad(dy as T2);
      return [dy as tf.Tensor];
    },
  })) as any);
  return f(x) as T2;
}
