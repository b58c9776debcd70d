// gap and flatten on NHWC image activations. gap: out[b, c] = mean over the H·W positions of x[b, ·, ·, c];
// backward: each position gets g[b, c]/(H·W). flatten: [B, H, W, C] → [B, H·W·C] is the same memory (row-major
// NHWC), so only the shape the walker carries changes.
import type { ImageShape } from '../../network/index.js';
import type { SampleLayer } from './types.js';

export const gap: SampleLayer<'gap', ImageShape> = {
  forward(net, _layer, x, _n, owned, f) {
    const s = f.shape;
    if (!s) throw new Error('gap: the walker passes the input image shape (Forward.shape)');
    const { B } = net;
    const P = s.h * s.w;
    const C = s.c;
    const out = net.buf.take(B * C);
    out.fill(0);
    for (let b = 0; b < B; b++) {
      const o = b * C;
      for (let p = 0; p < P; p++) {
        const at = (b * P + p) * C;
        for (let c = 0; c < C; c++) out[o + c] += x[at + c];
      }
      for (let c = 0; c < C; c++) out[o + c] /= P;
    }
    if (owned) net.buf.give(x);
    f.shape = null;
    return { out, n: C, cache: s };
  },

  backward(net, _layer, s, g) {
    const { B } = net;
    const P = s.h * s.w;
    const C = s.c;
    const gx = net.buf.take(B * P * C);
    for (let b = 0; b < B; b++)
      for (let p = 0; p < P; p++) {
        const at = (b * P + p) * C;
        for (let c = 0; c < C; c++) gx[at + c] = g[b * C + c] / P;
      }
    net.buf.give(g);
    return gx;
  },

  release() {},
  cacheBytes: () => 0,
  // linear, the same for every sample: Σ_i gap(ẑ)_i = (1/HW)·Σ over batch and positions of ẑ = 0 per channel
  // after a BatchNorm of an image, which is what makes the readout after it blind
  readout: (_layer, s) => s,
};

export const flatten: SampleLayer<'flatten', null> = {
  forward(net, _layer, x, n, owned, f) {
    f.shape = null;
    if (owned) return { out: x, n, cache: null };
    const out = net.buf.take(x.length);
    out.set(x);
    return { out, n, cache: null };
  },
  backward: (_net, _layer, _cache, g) => g,
  release() {},
  cacheBytes: () => 0,
  // a BatchNorm of an image centres each channel over batch and positions, not each (position, channel) unit
  // over the batch: after flatten the readout sees the latter, which is not blind
  readout: (_layer, s) => (s.fixed && !s.inputs ? { fixed: false } : s),
};
