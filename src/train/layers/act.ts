// act: φ elementwise, as the tf ops of the spec's activation (autodiff; every form has a tf op). Plain relu
// runs as ops.ts's reluFused: one kernel forward and one backward where the backend has them (blas), the
// same arithmetic as tf.relu and its gradient.
import * as tf from '@tensorflow/tfjs';
import { resolveActivation } from '../../network/index.js';
import { type TfActivation, tfActivation } from '../activations.js';
import { reluFused } from '../ops.js';
import type { TrainLayer } from './types.js';

/** No parameters; the probes' actIn is the argument of a block's first φ. */
export const act: TrainLayer<'act', TfActivation> = {
  build(layer, { width }) {
    const a = layer.activation as Parameters<typeof tfActivation>[0];
    const plainRelu = typeof a === 'string' && resolveActivation(a).base === 'relu';
    return { params: [], width, data: plainRelu ? reluFused : tfActivation(a) };
  },
  forward(node, x, { capture }) {
    const l = node.block - 1;
    if (capture && capture.actIn[l] === undefined) capture.actIn[l] = tf.keep(x);
    return node.data(x) as typeof x;
  },
};
