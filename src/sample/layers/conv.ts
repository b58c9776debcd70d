// conv2d: the float64 convolution on NHWC activations, by im2col and the dgemm kernels (linalg.ts). With
// rows = B·Ho·Wo output positions and K = k²·C_in, the patches of x form cols (rows × K, patch order
// (dy, dx, c), zero outside the image), and h = cols·Wᵀ + b (rows × C_out) is, in memory, the NHWC output
// [B, Ho, Wo, C_out]. Backward: ∂L/∂W = ghᵀ·cols, ∂L/∂cols = gh·W, and ∂L/∂x is col2im of the latter (each
// patch entry added back at the input position it was read from). The kernel is a block's lead, as dense is:
// it writes preactVar (per channel over B·Ho·Wo, mean over channels), gradHSq and gradWSq, and renormalizes the
// backward signal at its output (types.ts, "Scale").
import { type Conv2dLayer, convOut, type ImageShape, type LinearParams, padOf } from '../../network/index.js';
import { type Backward, batchStats, type SampleLayer, type SampleNet } from './types.js';

/** A convolution's geometry. */
export interface ConvGeom {
  B: number;
  inS: ImageShape;
  k: number;
  stride: number;
  pad: number;
  ho: number;
  wo: number;
}

export function convGeom(B: number, inS: ImageShape, k: number, stride: number, pad: number): ConvGeom {
  return { B, inS, k, stride, pad, ho: convOut(inS.h, k, stride, pad), wo: convOut(inS.w, k, stride, pad) };
}

/** The patches of x (B × H × W × C) into cols (B·Ho·Wo × k²C), zeros outside the image. */
export function im2col(x: Float64Array, g: ConvGeom, cols: Float64Array): void {
  const { B, inS, k, stride, pad, ho, wo } = g;
  const { h: H, w: W, c: C } = inS;
  const K = k * k * C;
  let r = 0;
  for (let b = 0; b < B; b++) {
    const xb = b * H * W * C;
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++, r++) {
        const row = r * K;
        for (let dy = 0; dy < k; dy++) {
          const y = oy * stride + dy - pad;
          for (let dx = 0; dx < k; dx++) {
            const x0 = ox * stride + dx - pad;
            const at = row + (dy * k + dx) * C;
            if (y < 0 || y >= H || x0 < 0 || x0 >= W) cols.fill(0, at, at + C);
            else {
              const src = xb + (y * W + x0) * C;
              for (let c = 0; c < C; c++) cols[at + c] = x[src + c];
            }
          }
        }
      }
    }
  }
}

/** gx += col2im(gcols): every patch entry added back where im2col read it (gx zeroed by the caller). */
export function col2im(gcols: Float64Array, g: ConvGeom, gx: Float64Array): void {
  const { B, inS, k, stride, pad, ho, wo } = g;
  const { h: H, w: W, c: C } = inS;
  const K = k * k * C;
  let r = 0;
  for (let b = 0; b < B; b++) {
    const xb = b * H * W * C;
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++, r++) {
        const row = r * K;
        for (let dy = 0; dy < k; dy++) {
          const y = oy * stride + dy - pad;
          if (y < 0 || y >= H) continue;
          for (let dx = 0; dx < k; dx++) {
            const x0 = ox * stride + dx - pad;
            if (x0 < 0 || x0 >= W) continue;
            const at = row + (dy * k + dx) * C;
            const dst = xb + (y * W + x0) * C;
            for (let c = 0; c < C; c++) gx[dst + c] += gcols[at + c];
          }
        }
      }
    }
  }
}

/** h = conv(x) + b (a fresh buffer, rows × C_out) and the patches cols (a fresh buffer, kept for the backward). */
export function convForward(net: SampleNet, p: LinearParams, x: Float64Array, g: ConvGeom): { h: Float64Array; cols: Float64Array } {
  const rows = g.B * g.ho * g.wo;
  const K = p.nIn;
  const cols = net.buf.take(rows * K);
  im2col(x, g, cols);
  const n = p.nOut;
  const h = net.buf.take(rows * n);
  net.k.gemm(false, true, rows, n, K, 1, cols, K, p.W, K, 0, h, n);
  const b = p.b;
  if (b.some((v) => v !== 0)) for (let i = 0; i < rows; i++) for (let j = 0; j < n; j++) h[i * n + j] += b[j];
  return { h, cols };
}

/** ∂L/∂W = ghᵀ·cols (C_out × K, a fresh array), times `scale`. */
export function convGradW(net: SampleNet, p: LinearParams, gh: Float64Array, cols: Float64Array, rows: number, scale = 1): Float64Array {
  const dW = new Float64Array(p.nOut * p.nIn);
  net.k.gemm(true, false, p.nOut, p.nIn, rows, scale, gh, p.nOut, cols, p.nIn, 0, dW, p.nIn);
  return dW;
}

/** ∂L/∂x = col2im(r·gh·W) (a fresh buffer, B·H·W·C_in). */
export function convGradX(net: SampleNet, p: LinearParams, gh: Float64Array, g: ConvGeom, r: number): Float64Array {
  const rows = g.B * g.ho * g.wo;
  const K = p.nIn;
  const gcols = net.buf.take(rows * K);
  net.k.gemm(false, false, rows, K, p.nOut, r, gh, p.nOut, p.W, K, 0, gcols, K);
  const gx = net.buf.take(g.B * g.inS.h * g.inS.w * g.inS.c);
  gx.fill(0);
  col2im(gcols, g, gx);
  net.buf.give(gcols);
  return gx;
}

export interface ConvCache {
  cols: Float64Array;
  geom: ConvGeom;
}

/**
 * A conv's weight gradient from its output gradient gh (in the backward's running scale), with the layer's
 * records: ln ‖∂L/∂h‖², ln ‖∂L/∂W‖² and, when kept, both unscaled. Returns dW and ‖gh‖² (the next rescale).
 */
export function convGradRecord(
  net: SampleNet,
  p: LinearParams,
  gh: Float64Array,
  cols: Float64Array,
  rows: number,
  b: Backward,
): { dW: Float64Array; sq: number } {
  let sq = 0;
  for (let t = 0; t < gh.length; t++) sq += gh[t] * gh[t];
  const dW = convGradW(net, p, gh, cols, rows);
  let wsq = 0;
  for (let t = 0; t < dW.length; t++) wsq += dW[t] * dW[t];
  b.stats.logGradHSq[b.l] = Math.log(sq) + 2 * b.logScale;
  b.stats.logGradWSq[b.l] = Math.log(wsq) + 2 * b.logScale;
  if (b.keep) {
    const e = Math.exp(b.logScale);
    b.keep.dh[b.l] = gh.map((v) => v * e);
    b.keep.dW[b.l] = dW.map((v) => v * e);
  }
  return { dW, sq };
}

function geomOf(net: SampleNet, layer: Conv2dLayer, s: ImageShape | null): ConvGeom {
  if (!s) throw new Error('conv2d: the walker passes the input image shape (Forward.shape)');
  return convGeom(net.B, s, layer.kernel, layer.stride, padOf(layer));
}

export const conv2d: SampleLayer<'conv2d', ConvCache> = {
  forward(net, layer, x, _n, owned, f) {
    const geom = geomOf(net, layer, f.shape);
    const p = net.params[f.l];
    const { h, cols } = convForward(net, p, x, geom);
    if (owned) net.buf.give(x);
    if (f.inGram && f.inGram.x === x) {
      net.buf.give(f.inGram.gram);
      f.inGram = null;
    }
    net.perturb?.(f.l + 1, h);
    const rows = net.B * geom.ho * geom.wo;
    if (f.stats) f.stats.preactVar[f.l] = batchStats(h, rows, layer.channels, net.mean, net.variance);
    f.shape = { h: geom.ho, w: geom.wo, c: layer.channels };
    return { out: h, n: geom.ho * geom.wo * layer.channels, cache: { cols, geom } };
  },

  backward(net, _layer, cache, gh, b) {
    const p = net.params[b.l];
    const { cols, geom } = cache;
    const { sq } = convGradRecord(net, p, gh, cols, net.B * geom.ho * geom.wo, b);
    net.buf.give(cols);
    if (!(sq > 0) || !Number.isFinite(sq)) {
      b.dead = true;
      net.buf.give(gh);
      return null;
    }
    const r = 1 / Math.sqrt(sq);
    b.logScale += 0.5 * Math.log(sq);
    b.r = r;
    if (!b.needInput) {
      net.buf.give(gh);
      return null;
    }
    const gx = convGradX(net, p, gh, geom, r);
    net.buf.give(gh);
    return gx;
  },

  release(net, _layer, cache) {
    net.buf.give(cache.cols);
  },

  cacheBytes(net, layer, n) {
    // the patches: B·Ho·Wo × k²C_in; n = H·W·C_in (stride 1 same padding: Ho·Wo = H·W)
    return (8 * net.B * n * layer.kernel * layer.kernel) / (layer.stride * layer.stride);
  },

  readout() {
    // a convolution with zero padding sums a BatchNorm output over windows cut at the border, which does not
    // cancel: it ends any blindness (conservative: the run-time round-off test stays on)
    return { fixed: false };
  },
};
