// The image kinds in the trainer's table. Activations travel between layers as B × H·W·C (NHWC flattened, the
// sampler's layout); conv2d reshapes to [B, H, W, C] and runs tf.conv2d with explicit symmetric zero padding
// (PyTorch's, not TF's 'same', which pads asymmetrically at stride 2), weights from the sampler's draws
// (drawNetwork: W[o, dy, dx, c] row-major → the tf filter [k, k, C_in, C_out]). gap averages positions; flatten
// is the identity on this layout. Probes: h_l is the conv output (flattened) and ∂L/∂h_l is taken by an
// identity with a custom gradient. resblock is not in the trainer yet (its two or three BatchNorm2d need one
// running-statistics slot each, and a node has one): `unsupported` says so and the sampler runs it.
import * as tf from '@tensorflow/tfjs';
import { convOut, type ImageShape, padOf } from '../../network/index.js';
import type { T1, T2, TrainLayer } from './types.js';

/** Float64 row-major C_out × k²C_in (patch order dy, dx, c) → the tf filter [k, k, C_in, C_out]. */
export function filterFromRowMajor(W: Float64Array, cOut: number, cIn: number, k: number): Float32Array {
  const f = new Float32Array(k * k * cIn * cOut);
  const K = k * k * cIn;
  for (let o = 0; o < cOut; o++) for (let t = 0; t < K; t++) f[t * cOut + o] = W[o * K + t];
  return f;
}

/** x, with `onGrad` receiving ∂L/∂x in the backward pass (an identity; the probes' ∂L/∂h). */
function tap(x: T2, onGrad: (dx: T2) => void): T2 {
  const f = tf.customGrad(((xx: tf.Tensor, _save: tf.GradSaveFunc) => ({
    value: tf.clone(xx),
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
      onGrad(dy as T2);
      return [dy as tf.Tensor];
    },
  })) as any);
  return f(x) as T2;
}

interface ConvData {
  inS: ImageShape;
  outS: ImageShape;
  pad: number;
}

export const conv2d: TrainLayer<'conv2d', ConvData> = {
  build(layer, { shape, dense: d }) {
    if (!shape) throw new Error('conv2d: the trainer passes the input image shape');
    const { kernel: k, channels: cOut, stride } = layer;
    const pad = padOf(layer);
    const outS = { h: convOut(shape.h, k, stride, pad), w: convOut(shape.w, k, stride, pad), c: cOut };
    return {
      params: [
        {
          kind: 'W',
          shape: [k, k, shape.c, cOut],
          init: () => tf.tensor4d(filterFromRowMajor(d.W, cOut, shape.c, k), [k, k, shape.c, cOut]),
        },
        { kind: 'b', shape: [cOut], init: () => tf.tensor1d(Float32Array.from(d.b)) },
      ],
      width: outS.h * outS.w * cOut,
      shape: outS,
      data: { inS: shape, outS, pad },
    };
  },
  forward(node, x, { p, capture }) {
    const { inS, outS, pad } = node.data;
    const l = node.block - 1;
    const B = x.shape[0];
    const x4 = tf.reshape(x, [B, inS.h, inS.w, inS.c]) as tf.Tensor4D;
    const W = p[node.params[0]] as tf.Tensor4D;
    const b = p[node.params[1]] as T1;
    const pads: [[0, 0], [number, number], [number, number], [0, 0]] = [
      [0, 0],
      [pad, pad],
      [pad, pad],
      [0, 0],
    ];
    const y = tf.add(tf.conv2d(x4, W, node.layer.stride, pads), b);
    let h = tf.reshape(y, [B, outS.h * outS.w * outS.c]) as T2;
    if (capture) {
      h = tap(h, (dh) => {
        capture.dhSq[l] = tf.keep(tf.sum(tf.square(dh)) as tf.Scalar);
        capture.dh[l] = tf.keep(tf.clone(dh));
      });
      capture.h[l] = tf.keep(h);
    }
    return h;
  },
};

export const gap: TrainLayer<'gap', ImageShape> = {
  build(_layer, { shape }) {
    if (!shape) throw new Error('gap: the trainer passes the input image shape');
    return { params: [], width: shape.c, shape: null, data: shape };
  },
  forward(node, x) {
    const s = node.data;
    return tf.mean(tf.reshape(x, [x.shape[0], s.h * s.w, s.c]), 1) as T2;
  },
};

export const flatten: TrainLayer<'flatten'> = {
  build(_layer, { width }) {
    return { params: [], width, shape: null, data: undefined };
  },
  forward: (_node, x) => x,
};

const WHY =
  'the trainer has no resblock yet (a node holds one running-statistics slot, a basic block has two or three BatchNorm2d); sample and predict run it';

export const resblock: TrainLayer<'resblock'> = {
  unsupported: WHY,
  build() {
    throw new Error(`train: ${WHY}`);
  },
  forward() {
    throw new Error(`train: ${WHY}`);
  },
};
