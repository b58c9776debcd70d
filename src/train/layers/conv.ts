// The image kinds in the trainer's table. Activations travel between layers as B × H·W·C (NHWC flattened, the
// sampler's layout); conv2d reshapes to [B, H, W, C] and runs as im2col + matMul (convIm2col: sgemm on the blas
// backend), with symmetric zero padding (PyTorch's, not TF's 'same', which pads asymmetrically at stride 2),
// weights from the sampler's draws
// (drawNetwork: W[o, dy, dx, c] row-major → the tf filter [k, k, C_in, C_out]). gap averages positions; flatten
// is the identity on this layout. Probes: h_l is the conv output (flattened) and ∂L/∂h_l is taken by an
// identity with a custom gradient. resblock: the basic block, one running-statistics slot per BatchNorm2d.
import * as tf from '@tensorflow/tfjs';
import { convOut, type ImageShape, padOf } from '../../network/index.js';
import { type TfActivation, tfActivation } from '../activations.js';
import { loadF32Addon } from '../blas.js';
import { batchNorm, batchNormEval, normParams } from './batchnorm.js';
import { tap } from './tap.js';
import type { ForwardContext, ParamInit, T1, T2, TrainLayer } from './types.js';

/** Float64 row-major C_out × k²C_in (patch order dy, dx, c) → the tf filter [k, k, C_in, C_out]. */
export function filterFromRowMajor(W: Float64Array, cOut: number, cIn: number, k: number): Float32Array {
  const f = new Float32Array(k * k * cIn * cOut);
  const K = k * k * cIn;
  for (let o = 0; o < cOut; o++) for (let t = 0; t < K; t++) f[t * cOut + o] = W[o * K + t];
  return f;
}

/** A convolution's geometry on [B, H, W, C] → [B, Ho, Wo, C_out]. */
interface Geom {
  B: number;
  H: number;
  W: number;
  C: number;
  k: number;
  stride: number;
  pad: number;
  ho: number;
  wo: number;
}

/** The patches of x (B·H·W·C, NHWC) into cols (B·Ho·Wo × k²C, order dy, dx, c; zero outside), on the host. */
function im2colHost(x: Float32Array, g: Geom): Float32Array {
  const { B, H, W, C, k, stride, pad, ho, wo } = g;
  const K = k * k * C;
  const cols = new Float32Array(B * ho * wo * K);
  let r = 0;
  for (let b = 0; b < B; b++)
    for (let oy = 0; oy < ho; oy++)
      for (let ox = 0; ox < wo; ox++, r++)
        for (let dy = 0; dy < k; dy++) {
          const y = oy * stride + dy - pad;
          if (y < 0 || y >= H) continue;
          for (let dx = 0; dx < k; dx++) {
            const xx = ox * stride + dx - pad;
            if (xx < 0 || xx >= W) continue;
            const at = r * K + (dy * k + dx) * C;
            const src = ((b * H + y) * W + xx) * C;
            for (let c = 0; c < C; c++) cols[at + c] = x[src + c];
          }
        }
  return cols;
}

/** gx = col2im(gcols): every patch entry added back where im2col read it, on the host. */
function col2imHost(gcols: Float32Array, g: Geom): Float32Array {
  const { B, H, W, C, k, stride, pad, ho, wo } = g;
  const K = k * k * C;
  const gx = new Float32Array(B * H * W * C);
  let r = 0;
  for (let b = 0; b < B; b++)
    for (let oy = 0; oy < ho; oy++)
      for (let ox = 0; ox < wo; ox++, r++)
        for (let dy = 0; dy < k; dy++) {
          const y = oy * stride + dy - pad;
          if (y < 0 || y >= H) continue;
          for (let dx = 0; dx < k; dx++) {
            const xx = ox * stride + dx - pad;
            if (xx < 0 || xx >= W) continue;
            const at = r * K + (dy * k + dx) * C;
            const dst = ((b * H + y) * W + xx) * C;
            for (let c = 0; c < C; c++) gx[dst + c] += gcols[at + c];
          }
        }
  return gx;
}

/**
 * A convolution as im2col and matrix products (the sampler's float64 algorithm, in float32): cols = patches of x
 * (host loops), y = cols·F with the filter [k, k, C, C_out] read as the k²C × C_out matrix it is in memory;
 * backward ∂F = colsᵀ·∂y and ∂x = col2im(∂y·Fᵀ). The products run on the backend's matMul (sgemm on blas);
 * tfjs's cpu Conv2D kernels (which the blas backend would otherwise inherit) are far slower. x [B, H, W, C] →
 * [B, Ho, Wo, C_out]; symmetric zero padding.
 */
export function convIm2col(x4: tf.Tensor4D, f4: tf.Tensor4D, stride: number, pad: number): tf.Tensor4D {
  const [B, H, W, C] = x4.shape;
  const [k, , , cOut] = f4.shape;
  const g: Geom = { B, H, W, C, k, stride, pad, ho: convOut(H, k, stride, pad), wo: convOut(W, k, stride, pad) };
  const direct = directConv();
  if (direct) return convDirect(direct, x4, f4, g, cOut);
  const rows = B * g.ho * g.wo;
  const K = k * k * C;
  const f = tf.customGrad(((xx: tf.Tensor, ff: tf.Tensor, save: tf.GradSaveFunc) => {
    const cols = tf.tensor2d(im2colHost(xx.dataSync() as Float32Array, g), [rows, K]);
    const F2 = tf.reshape(ff, [K, cOut]) as T2;
    save([cols, F2]);
    return {
      value: tf.reshape(tf.matMul(cols, F2), [B, g.ho, g.wo, cOut]),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [cs, F] = saved as [T2, T2];
        const d2 = tf.reshape(dy as tf.Tensor, [rows, cOut]) as T2;
        const dF = tf.reshape(tf.matMul(cs, d2, true, false), [k, k, C, cOut]);
        const dcols = tf.matMul(d2, F, false, true);
        const dx = tf.tensor4d(col2imHost(dcols.dataSync() as Float32Array, g), [B, H, W, C]);
        dcols.dispose();
        return [dx, dF];
      },
    };
  }) as any);
  return f(x4, f4) as tf.Tensor4D;
}

type DirectConv = NonNullable<NonNullable<ReturnType<typeof loadF32Addon>>['conv2d']>;

/** oneDNN's direct convolution, on the blas backend of an addon built with oneDNN; otherwise null (im2col). */
function directConv(): DirectConv | null {
  return tf.getBackend() === 'blas' ? (loadF32Addon()?.conv2d ?? null) : null;
}

/**
 * The same convolution by oneDNN's direct kernels on the host arrays (src/train/blas.ts's backend keeps
 * them there): forward, backward data and backward weights, one thread per call. It never forms the
 * B·Ho·Wo × k²C patch matrix, whose memory traffic is most of the im2col path's time (docs/training.md).
 */
function convDirect(conv: DirectConv, x4: tf.Tensor4D, f4: tf.Tensor4D, g: Geom, cOut: number): tf.Tensor4D {
  const { B, H, W, C, k, stride, pad, ho, wo } = g;
  const run = (op: number, a: tf.Tensor, b: tf.Tensor, n: number) => {
    const out = new Float32Array(n);
    conv(op, B, H, W, C, cOut, k, stride, pad, a.dataSync() as Float32Array, b.dataSync() as Float32Array, out);
    return out;
  };
  const f = tf.customGrad(((xx: tf.Tensor, ff: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xx, ff]);
    return {
      value: tf.tensor4d(run(0, xx, ff, B * ho * wo * cOut), [B, ho, wo, cOut]),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [xs, fs] = saved;
        const d = dy as tf.Tensor;
        return [tf.tensor4d(run(1, d, fs, B * H * W * C), [B, H, W, C]), tf.tensor4d(run(2, xs, d, k * k * C * cOut), [k, k, C, cOut])];
      },
    };
  }) as any);
  return f(x4, f4) as tf.Tensor4D;
}

/**
 * y + b per channel, on the (B·H·W) × C view: the backends' row-broadcast add (the native kernel on blas)
 * and a bias gradient summed over one axis, where a rank-4 broadcast runs tfjs's generic index loop.
 */
function addBias(y: tf.Tensor4D, b: T1): tf.Tensor4D {
  return tf.reshape(tf.add(tf.reshape(y, [-1, y.shape[3]]), b), y.shape) as tf.Tensor4D;
}

export interface ConvData {
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
    const y = addBias(convIm2col(x4, W, node.layer.stride, pad), b);
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
    const B = x.shape[0];
    const n = s.h * s.w;
    // the sum over positions as a batched product with a row of ones (sgemm on blas; its gradient too),
    // then / n: tf.mean over the middle axis of a rank-3 tensor and its broadcast gradient run tfjs's
    // generic index loops, which took 60% of a conv-bn-act step (bench/conv.ts)
    const sum = tf.matMul(tf.ones([B, 1, n]), tf.reshape(x, [B, n, s.c]));
    return tf.div(tf.reshape(sum, [B, s.c]), n) as T2;
  },
};

export const flatten: TrainLayer<'flatten'> = {
  build(_layer, { width }) {
    return { params: [], width, shape: null, data: undefined };
  },
  forward: (_node, x) => x,
};

export interface ResData {
  inS: ImageShape;
  outS: ImageShape;
  proj: boolean;
  phi: TfActivation;
}

/** BatchNorm2d of a conv output y [B, H, W, C] on running-statistics slot `slot`, returned as [B, H, W, C]. */
function bn2d(y: tf.Tensor4D, g: T1, bt: T1, eps: number, slot: number, ctx: ForwardContext): tf.Tensor4D {
  const c = y.shape[3];
  const v = tf.reshape(y, [-1, c]) as T2;
  const out =
    ctx.mode === 'eval'
      ? batchNormEval(v, g, bt, eps, ctx.runMean[slot], ctx.runVar[slot])
      : batchNorm(v, g, bt, eps, (s) => {
          if (ctx.bnStats) ctx.bnStats[slot] = { mean: tf.keep(s.mean), variance: tf.keep(s.variance) };
        });
  return tf.reshape(out, y.shape) as tf.Tensor4D;
}

/**
 * resblock: φ(BN(conv(φ(BN(conv_s x)))) + shortcut x), shortcut = x or BN(conv_1×1,s x), as the sampler's
 * (src/sample/layers/resblock.ts), on its draws (params.more: the second conv, then the projection); one
 * running-statistics slot per BatchNorm2d. Autodiff through convIm2col; the probes' h_l is the first conv's output.
 */
export const resblock: TrainLayer<'resblock', ResData> = {
  build(layer, { shape, dense: d }) {
    if (!shape) throw new Error('resblock: the trainer passes the input image shape');
    const { kernel: k, channels: C, stride, gamma, beta } = layer;
    const pad = (k - 1) / 2;
    const outS = { h: convOut(shape.h, k, stride, pad), w: convOut(shape.w, k, stride, pad), c: C };
    const [d2, dp] = d.more ?? [];
    const conv = (lp: typeof d, cIn: number, kk: number): ParamInit[] => [
      { kind: 'W', shape: [kk, kk, cIn, C], init: () => tf.tensor4d(filterFromRowMajor(lp.W, C, cIn, kk), [kk, kk, cIn, C]) },
      { kind: 'b', shape: [C], init: () => tf.tensor1d(Float32Array.from(lp.b)) },
      ...normParams(C, gamma, beta),
    ];
    const params = [...conv(d, shape.c, k), ...conv(d2, C, k), ...(dp ? conv(dp, shape.c, 1) : [])];
    const rows = outS.h * outS.w;
    return {
      params,
      width: rows * C,
      shape: outS,
      statSlots: Array.from({ length: dp ? 3 : 2 }, () => ({ width: C, rows })),
      data: { inS: shape, outS, proj: dp !== undefined, phi: tfActivation(layer.activation as Parameters<typeof tfActivation>[0]) },
    };
  },
  forward(node, x, ctx) {
    const { inS, outS, proj, phi } = node.data;
    const { stride, kernel: k, eps } = node.layer;
    const pad = (k - 1) / 2;
    const l = node.block - 1;
    const B = x.shape[0];
    const P = (i: number) => ctx.p[node.params[i]];
    const x4 = tf.reshape(x, [B, inS.h, inS.w, inS.c]) as tf.Tensor4D;
    let c1 = addBias(convIm2col(x4, P(0) as tf.Tensor4D, stride, pad), P(1) as T1);
    const { capture } = ctx;
    if (capture) {
      let h = tf.reshape(c1, [B, outS.h * outS.w * outS.c]) as T2;
      h = tap(h, (dh) => {
        capture.dhSq[l] = tf.keep(tf.sum(tf.square(dh)) as tf.Scalar);
        capture.dh[l] = tf.keep(tf.clone(dh));
      });
      capture.h[l] = tf.keep(h);
      c1 = tf.reshape(h, c1.shape) as tf.Tensor4D;
    }
    const u = bn2d(c1, P(2) as T1, P(3) as T1, eps, node.stat, ctx);
    if (capture && capture.actIn[l] === undefined) capture.actIn[l] = tf.keep(tf.reshape(u, [B, -1]) as T2);
    const a = phi(u) as tf.Tensor4D;
    const c2 = addBias(convIm2col(a, P(4) as tf.Tensor4D, 1, pad), P(5) as T1);
    const v = bn2d(c2, P(6) as T1, P(7) as T1, eps, node.stat + 1, ctx);
    const sc = proj
      ? bn2d(addBias(convIm2col(x4, P(8) as tf.Tensor4D, stride, 0), P(9) as T1), P(10) as T1, P(11) as T1, eps, node.stat + 2, ctx)
      : x4;
    return tf.reshape(phi(tf.add(v, sc)), [B, outS.h * outS.w * outS.c]) as T2;
  },
};
