// dense: h = x Wᵀ + b (B × n_in → B × n). Statistics: preactVar = batch variance of h (mean over units);
// in the backward pass gradHSq = ‖∂L/∂h‖² and gradWSq = ‖∂L/∂W‖², and here the backward signal is
// renormalized to unit norm (types.ts, "Scale").
//
// ‖∂L/∂W‖² without forming ∂L/∂W: ∂L/∂W = ghᵀx, so ‖ghᵀx‖²_F = Σ_ij (g gᵀ)_ij (x xᵀ)_ij, with the input's
// B × B Gram x xᵀ (the previous block's, already computed for its statistics, when x is the block input).
import type { DenseLayer } from '../../network/index.js';
import { batchStats, type SampleLayer, type SampleNet } from './types.js';

export interface DenseCache {
  /** Upper-triangular Gram x xᵀ of the input. */
  gramIn: Float64Array;
  /** The input itself (keepGradients only). */
  x: Float64Array | null;
}

/** Σ_ij A_ij C_ij for symmetric A, C given by their upper triangles. */
export function symDot(A: Float64Array, C: Float64Array, B: number): number {
  let diag = 0;
  let off = 0;
  for (let i = 0; i < B; i++) {
    const r = i * B;
    diag += A[r + i] * C[r + i];
    for (let j = i + 1; j < B; j++) off += A[r + j] * C[r + j];
  }
  return diag + 2 * off;
}

/** Upper triangle of x xᵀ (B × B) into a fresh buffer. */
export function gramOf(net: SampleNet, x: Float64Array, n: number): Float64Array {
  const out = net.buf.take(net.B * net.B);
  net.k.syrk(false, net.B, n, 1, x, n, 0, out, net.B);
  return out;
}

/** B × B scratch for g gᵀ, per batch size (one thread at a time). */
const ggScratch = new Map<number, Float64Array>();

export const dense: SampleLayer<'dense', DenseCache> = {
  forward(net, _layer: DenseLayer, x, nIn, owned, f) {
    const { B, k } = net;
    const { W, b, nOut: n } = net.params[f.l];
    const h = net.buf.take(B * n);
    k.gemm(false, true, B, n, nIn, 1, x, nIn, W, nIn, 0, h, n);
    let anyBias = false;
    for (let j = 0; j < n; j++) if (b[j] !== 0) anyBias = true;
    if (anyBias) for (let i = 0; i < B; i++) for (let j = 0; j < n; j++) h[i * n + j] += b[j];
    net.perturb?.(f.l + 1, h);
    if (f.stats) f.stats.preactVar[f.l] = batchStats(h, B, n, net.mean, net.variance);
    let gramIn: Float64Array;
    if (f.inGram && f.inGram.x === x) {
      gramIn = f.inGram.gram;
      f.inGram = null;
    } else {
      gramIn = gramOf(net, x, nIn);
    }
    let keep: Float64Array | null = null;
    if (net.keepInputs) keep = owned ? x : Float64Array.from(x);
    else if (owned) net.buf.give(x);
    return { out: h, n, cache: { gramIn, x: keep } };
  },

  backward(net, _layer, cache, gh, b) {
    const { B, k } = net;
    const { W, nOut: n, nIn } = net.params[b.l];
    const len = B * n;
    let sq = 0;
    for (let t = 0; t < len; t++) sq += gh[t] * gh[t];
    // gh = e^{−logScale} ∂L/∂h_l
    let gg = ggScratch.get(B);
    if (!gg) ggScratch.set(B, (gg = new Float64Array(B * B)));
    k.syrk(false, B, n, 1, gh, n, 0, gg, B);
    const wsq = symDot(gg, cache.gramIn, B);
    b.stats.logGradHSq[b.l] = Math.log(sq) + 2 * b.logScale;
    b.stats.logGradWSq[b.l] = Math.log(wsq) + 2 * b.logScale;
    if (b.keep) {
      const e = Math.exp(b.logScale);
      b.keep.dh[b.l] = gh.map((v) => v * e);
      const dW = new Float64Array(n * nIn);
      k.gemm(true, false, n, nIn, B, e, gh, n, cache.x!, nIn, 0, dW, nIn);
      b.keep.dW[b.l] = dW;
    }
    dense.release(net, _layer, cache);
    if (!(sq > 0) || !Number.isFinite(sq)) {
      b.dead = true;
      return null;
    }
    // renormalize the backward signal to unit norm (folded into the product with W) and carry the
    // scale in logs
    const r = 1 / Math.sqrt(sq);
    b.logScale += 0.5 * Math.log(sq);
    b.r = r;
    if (!b.needInput) {
      net.buf.give(gh);
      return null;
    }
    // ∂L/∂x = ∂L/∂h · W (+ a residual's identity path), both scaled by r
    const acc = b.acc;
    const gx = acc ?? net.buf.take(B * nIn);
    k.gemm(false, false, B, nIn, n, r, gh, n, W, nIn, acc ? r : 0, gx, nIn);
    b.acc = null;
    net.buf.give(gh);
    return gx;
  },

  release(net, _layer, cache) {
    net.buf.give(cache.gramIn);
    net.buf.give(cache.x);
  },

  cacheBytes(net) {
    return 8 * net.B * net.B;
  },

  readout(_layer, s) {
    // affine with the same W, b for every sample: an affine function of ẑ stays one (after the inputs,
    // h depends on W: ∂L/∂W = r·(Σ_i x_i)ᵀ is real)
    if (!s.fixed || s.inputs) return { fixed: false };
    return {
      ...s,
      bn: null,
      why: `${s.why}, and the dense layer after it is affine with the same W and b for every sample`,
      tail: ', so the readout L = Σ_i r·x_L(i) does not depend on the weights below that BatchNorm: their gradients are zero up to round-off',
    };
  },
};
