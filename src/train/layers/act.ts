// act: φ elementwise, as the tf ops of the spec's activation (autodiff; every form has a tf op).
import * as tf from '@tensorflow/tfjs';
import { type TfActivation, tfActivation } from '../activations.js';
import type { TrainLayer } from './types.js';

/** No parameters; the probes' actIn is the argument of a block's first φ. */
export const act: TrainLayer<'act', TfActivation> = {
  build(layer, { width }) {
    return { params: [], width, data: tfActivation(layer.activation as Parameters<typeof tfActivation>[0]) };
  },
  forward(node, x, { capture }) {
    const l = node.block - 1;
    if (capture && capture.actIn[l] === undefined) capture.actIn[l] = tf.keep(x);
    return node.data(x) as typeof x;
  },
};
