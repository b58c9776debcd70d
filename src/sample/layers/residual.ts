// residual: out = x + scale·inner(x), the inner list run by the same walker (the same table and fusion
// rules). Backward: ∂L/∂x = ∂L/∂out + (inner's backward of scale·∂L/∂out). The identity path is carried
// at the scale the inner dense layer renormalizes to (types.ts, "Scale"): when the dense is the inner
// list's first layer it is folded into the dense's product with W (one gemm, C ← r·gh·W + r·C), else it
// is added after the inner backward, times the same r.
import type { SampleLayer } from './types.js';

export const residual: SampleLayer<'residual', unknown[]> = {
  forward(net, layer, x, n, owned, f) {
    const inner = net.forwardList(layer.layers, x, n, false, f);
    const out = inner.out;
    const s = layer.scale;
    for (let t = 0; t < out.length; t++) out[t] = x[t] + s * out[t];
    if (owned) net.buf.give(x);
    return { out, n, cache: inner.caches };
  },

  backward(net, layer, caches, g, b) {
    const s = layer.scale;
    const len = g.length;
    const gh = net.buf.take(len);
    for (let t = 0; t < len; t++) gh[t] = s * g[t];
    const folded = layer.layers[0].kind === 'dense' && b.needInput;
    if (folded) b.acc = g;
    const gi = net.backwardList(layer.layers, caches, gh, b);
    if (gi === null) {
      // the first block, or a vanished gradient: the identity path is not needed either
      b.acc = null;
      net.buf.give(g);
      return null;
    }
    if (folded) return gi; // gi is g, with the inner path added
    const r = b.r;
    for (let t = 0; t < len; t++) gi[t] += r * g[t];
    net.buf.give(g);
    return gi;
  },

  release(net, layer, caches) {
    net.releaseList(layer.layers, caches);
  },

  cacheBytes(net, layer, n) {
    return net.cacheBytesList(layer.layers, n);
  },

  readout(layer, s, c) {
    // L = Σ_i r·x_i + scale·Σ_i r·inner(x_i): blind below when both terms are (x the inputs, or itself
    // affine in an earlier BatchNorm output; so a stack of such blocks is, down to the inputs)
    const inner = c.walk(layer.layers, s, c.last);
    if (!s.fixed || !inner.fixed || inner.inputs) return { fixed: false };
    return { ...inner, bn: null };
  },
};
