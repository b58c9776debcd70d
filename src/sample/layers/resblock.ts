// resblock: a ResNet basic block on [B, H, W, C_in] (NHWC), run whole by this kernel on conv.ts's and
// batchnorm.ts's math (one copy each):
//   c1 = conv_k,s(x), u = γ·BN(c1) + β, a = φ(u), c2 = conv_k,1(a), v = γ·BN(c2) + β,
//   sc = x (stride 1, C = C_in) or γ·BN(conv_1×1,s(x)) + β (the projection), out = φ(v + sc).
// BN here is BatchNorm2d (per channel over B·Ho·Wo). The block's lead is c1 (its h_l: preactVar, gradHSq and
// gradWSq, and the backward renormalization, as dense and conv2d); the second conv and the projection are
// params.more. Backward: g ⊙ φ′(v + sc) goes down the branch (BN, conv2, φ′(u), BN, conv1) and the shortcut,
// and the two add at x, the shortcut's share times the same r as the branch's (types.ts, "Scale").
import type { ResBlockLayer } from '../../network/index.js';
import { actOf, applyPhi, mulDphi } from './act.js';
import { bnNormalize, bnProject } from './batchnorm.js';
import { type ConvGeom, convForward, convGeom, convGradRecord, convGradX } from './conv.js';
import { batchStats, meanOf, type SampleLayer, type SampleNet } from './types.js';

interface BnPart {
  z: Float64Array;
  inv: Float64Array;
}

export interface ResBlockCache {
  g1: ConvGeom;
  cols1: Float64Array;
  bn1: BnPart;
  g2: ConvGeom;
  cols2: Float64Array;
  bn2: BnPart;
  proj: { g: ConvGeom; cols: Float64Array; bn: BnPart } | null;
  /** v + sc, where the last φ′ is taken. */
  pre: Float64Array;
}

function bn2d(net: SampleNet, h: Float64Array, C: number, eps: number): BnPart {
  const inv = bnNormalize(net, h, h, C, eps, h.length / C);
  return { z: h, inv };
}

/** g ← ∂L/∂(BN input) from g = ∂L/∂(γẑ + β), in place; records the projection. */
function bnBack(
  net: SampleNet,
  g: Float64Array,
  part: BnPart,
  gamma: number,
  b: { projections: { projected: number; entered: number }[] },
) {
  if (gamma !== 1) for (let t = 0; t < g.length; t++) g[t] *= gamma;
  const [projected, entered] = bnProject(net, g, part.z, part.inv);
  b.projections.push({ projected, entered });
}

function give(net: SampleNet, c: ResBlockCache): void {
  const bufs = [c.cols1, c.bn1.z, c.bn1.inv, c.cols2, c.bn2.z, c.bn2.inv, c.pre];
  if (c.proj) bufs.push(c.proj.cols, c.proj.bn.z, c.proj.bn.inv);
  for (const a of bufs) net.buf.give(a);
}

const actOfBlock = (l: ResBlockLayer) => actOf({ kind: 'act', activation: l.activation });

export const resblock: SampleLayer<'resblock', ResBlockCache> = {
  forward(net, layer, x, _n, owned, f) {
    const s = f.shape;
    if (!s) throw new Error('resblock: the walker passes the input image shape (Forward.shape)');
    const { B } = net;
    const { kernel: k, stride, channels: C, gamma, beta, eps } = layer;
    const pad = (k - 1) / 2;
    const p = net.params[f.l];
    const [p2, pp] = p.more ?? [];
    const phi = actOfBlock(layer);
    const g1 = convGeom(B, s, k, stride, pad);
    const { h: c1, cols: cols1 } = convForward(net, p, x, g1);
    if (f.inGram && f.inGram.x === x) {
      net.buf.give(f.inGram.gram);
      f.inGram = null;
    }
    net.perturb?.(f.l + 1, c1);
    const rows = B * g1.ho * g1.wo;
    if (f.stats) f.stats.preactVar[f.l] = batchStats(c1, rows, C, net.mean, net.variance);
    const bn1 = bn2d(net, c1, C, eps);
    const len = rows * C;
    const a = net.buf.take(len);
    for (let t = 0; t < len; t++) a[t] = gamma * bn1.z[t] + beta;
    applyPhi(phi, a, a, len);
    const outS = { h: g1.ho, w: g1.wo, c: C };
    const g2 = convGeom(B, outS, k, 1, pad);
    const { h: c2, cols: cols2 } = convForward(net, p2, a, g2);
    net.buf.give(a);
    const bn2 = bn2d(net, c2, C, eps);
    let proj: ResBlockCache['proj'] = null;
    const pre = net.buf.take(len);
    if (pp) {
      const g = convGeom(B, s, 1, stride, 0);
      const { h: cp, cols } = convForward(net, pp, x, g);
      const bn = bn2d(net, cp, C, eps);
      proj = { g, cols, bn };
      for (let t = 0; t < len; t++) pre[t] = gamma * (bn2.z[t] + bn.z[t]) + 2 * beta;
    } else {
      for (let t = 0; t < len; t++) pre[t] = gamma * bn2.z[t] + beta + x[t];
    }
    if (owned) net.buf.give(x);
    const out = net.buf.take(len);
    applyPhi(phi, pre, out, len);
    if (f.stats) {
      f.stats.postactVar[f.l] = batchStats(out, rows, C, net.mean, net.variance);
      f.stats.postactMean[f.l] = meanOf(net.mean, C);
    }
    f.shape = outS;
    return { out, n: len / B, cache: { g1, cols1, bn1, g2, cols2, bn2, proj, pre } };
  },

  backward(net, layer, cache, g, b) {
    const { gamma, beta } = layer;
    const p = net.params[b.l];
    const [p2, pp] = p.more ?? [];
    const phi = actOfBlock(layer);
    const { g1, cols1, bn1, g2, cols2, bn2, proj, pre } = cache;
    const len = g.length;
    mulDphi(phi, g, pre, len); // g = ∂L/∂(v + sc)
    // branch: BN2, conv2, φ′(u), BN1 → ∂L/∂c1
    const gv = net.buf.take(len);
    gv.set(g);
    bnBack(net, gv, bn2, gamma, b);
    const ga = convGradX(net, p2, gv, g2, 1);
    net.buf.give(gv);
    net.buf.give(cols2);
    const u = net.buf.take(len);
    for (let t = 0; t < len; t++) u[t] = gamma * bn1.z[t] + beta;
    mulDphi(phi, ga, u, len);
    net.buf.give(u);
    bnBack(net, ga, bn1, gamma, b);
    const gc1 = ga;
    const { sq } = convGradRecord(net, p, gc1, cols1, g1.B * g1.ho * g1.wo, b);
    const done = () => {
      for (const a of [cols1, bn1.z, bn1.inv, bn2.z, bn2.inv, pre, gc1, g]) net.buf.give(a);
      if (proj) for (const a of [proj.cols, proj.bn.z, proj.bn.inv]) net.buf.give(a);
    };
    if (!(sq > 0) || !Number.isFinite(sq)) {
      b.dead = true;
      done();
      return null;
    }
    const r = 1 / Math.sqrt(sq);
    b.logScale += 0.5 * Math.log(sq);
    b.r = r;
    if (!b.needInput) {
      done();
      return null;
    }
    const gx = convGradX(net, p, gc1, g1, r);
    if (proj) {
      // the projection's BN and 1×1 conv, at the same scale r
      const gp = net.buf.take(len);
      gp.set(g);
      bnBack(net, gp, proj.bn, gamma, b);
      const gxp = convGradX(net, pp, gp, proj.g, r);
      for (let t = 0; t < gx.length; t++) gx[t] += gxp[t];
      net.buf.give(gp);
      net.buf.give(gxp);
    } else {
      for (let t = 0; t < gx.length; t++) gx[t] += r * g[t];
    }
    done();
    return gx;
  },

  release(net, _layer, cache) {
    give(net, cache);
  },

  cacheBytes(net, layer, n) {
    // patches of both convs (k² per value), ẑ of both BN, v + sc; n = H·W·C_in; output ≈ n·C/(C_in·s²)
    const outN = n / (layer.stride * layer.stride);
    return 8 * net.B * (2 * layer.kernel * layer.kernel + 4) * Math.max(n, outN * 2);
  },

  readout() {
    // φ(v + sc) with a kink, and a convolution before it: conservative (the run-time round-off test stays on)
    return { fixed: false };
  },
};
