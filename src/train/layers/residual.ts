// residual: x + scale·inner(x), a wrapper over the same table (its inner layers are built and walked as
// any others, with its block's index). Autodiff: an add and a multiply by a constant.
import * as tf from '@tensorflow/tfjs';
import type { T2, TrainLayer } from './types.js';

export const residual: TrainLayer<'residual'> = {
  build(layer, { width }) {
    return { params: [], width, inner: layer.layers, data: undefined };
  },
  forward(node, x, ctx) {
    return tf.add(x, tf.mul(ctx.run(node.inner, x), node.layer.scale)) as T2;
  },
};
