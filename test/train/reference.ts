// Float64 reference forward/backward of a spec's MLP (an independent implementation for the tests):
// the same draws as the trainer (drawNetwork, drawReadout) and the shared loss (lossAndGrad).
import { activationOf, drawNetwork, drawReadout, type LossTargets, lossAndGrad, type NetworkSpec } from '../../src/network/index.js';

export interface Reference {
  loss: number;
  /** ‖∂L/∂h_l‖², l = 1..L */
  gradHSq: number[];
  /** ‖∂L/∂W_l‖² */
  gradWSq: number[];
  /** ‖∂L/∂R‖² of the readout */
  gradReadoutSq: number;
}

export function reference64(spec: NetworkSpec, seed: number, x: Float64Array, B: number, t: LossTargets): Reference {
  const layers = drawNetwork(spec, seed);
  const act = activationOf(spec);
  const { gamma, beta, eps } = spec.bn;
  type Cache = { xin: Float64Array; h: Float64Array; pre: Float64Array; zhat: Float64Array | null; sig: Float64Array | null; n: number; nIn: number };
  const caches: Cache[] = [];
  let cur = x;
  for (const p of layers) {
    const { nOut: n, nIn } = p;
    const h = new Float64Array(B * n);
    for (let i = 0; i < B; i++) for (let o = 0; o < n; o++) {
      let s = p.b[o];
      for (let j = 0; j < nIn; j++) s += cur[i * nIn + j] * p.W[o * nIn + j];
      h[i * n + o] = s;
    }
    const normalize = (v: Float64Array) => {
      const zhat = new Float64Array(B * n);
      const sig = new Float64Array(n);
      for (let o = 0; o < n; o++) {
        let m = 0;
        for (let i = 0; i < B; i++) m += v[i * n + o];
        m /= B;
        let q = 0;
        for (let i = 0; i < B; i++) q += (v[i * n + o] - m) ** 2;
        sig[o] = Math.sqrt(q / B + eps);
        for (let i = 0; i < B; i++) zhat[i * n + o] = (v[i * n + o] - m) / sig[o];
      }
      return { zhat, sig, out: zhat.map((z) => gamma * z + beta) };
    };
    let out: Float64Array;
    let pre: Float64Array;
    let zhat: Float64Array | null = null;
    let sig: Float64Array | null = null;
    if (spec.order === 'linear-bn-act') {
      const r = normalize(h);
      zhat = r.zhat;
      sig = r.sig;
      pre = r.out;
      out = pre.map(act.phi);
    } else if (spec.order === 'linear-act-bn') {
      pre = h;
      const r = normalize(h.map(act.phi));
      zhat = r.zhat;
      sig = r.sig;
      out = r.out;
    } else {
      pre = h;
      out = h.map(act.phi);
    }
    if (spec.residual) {
      const s = spec.residual.scale;
      out = out.map((v, k) => cur[k] + s * v);
    }
    caches.push({ xin: cur, h, pre, zhat, sig, n, nIn });
    cur = out;
  }
  const nL = caches[caches.length - 1].n;
  const R = drawReadout(nL, t.nOut, seed);
  const y = new Float64Array(B * t.nOut);
  for (let i = 0; i < B; i++) for (let k = 0; k < t.nOut; k++) {
    let s = 0;
    for (let j = 0; j < nL; j++) s += cur[i * nL + j] * R[k * nL + j];
    y[i * t.nOut + k] = s;
  }
  const { loss, dy } = lossAndGrad(y, B, t);
  let gradReadoutSq = 0;
  for (let k = 0; k < t.nOut; k++) for (let j = 0; j < nL; j++) {
    let s = 0;
    for (let i = 0; i < B; i++) s += dy[i * t.nOut + k] * cur[i * nL + j];
    gradReadoutSq += s * s;
  }
  let dcur = new Float64Array(B * nL);
  for (let i = 0; i < B; i++) for (let j = 0; j < nL; j++) {
    let s = 0;
    for (let k = 0; k < t.nOut; k++) s += dy[i * t.nOut + k] * R[k * nL + j];
    dcur[i * nL + j] = s;
  }
  const bnBack = (d: Float64Array, c: Cache) => {
    const { n } = c;
    const out = new Float64Array(B * n);
    for (let o = 0; o < n; o++) {
      let m1 = 0;
      let m2 = 0;
      for (let i = 0; i < B; i++) {
        const dz = gamma * d[i * n + o];
        m1 += dz;
        m2 += dz * c.zhat![i * n + o];
      }
      m1 /= B;
      m2 /= B;
      for (let i = 0; i < B; i++) out[i * n + o] = (gamma * d[i * n + o] - m1 - c.zhat![i * n + o] * m2) / c.sig![o];
    }
    return out;
  };
  const gradHSq: number[] = new Array(layers.length);
  const gradWSq: number[] = new Array(layers.length);
  for (let l = layers.length - 1; l >= 0; l--) {
    const c = caches[l];
    const p = layers[l];
    const dblock = spec.residual ? dcur.map((v) => v * spec.residual!.scale) : dcur;
    let dh: Float64Array;
    if (spec.order === 'linear-bn-act') {
      const dpre = dblock.map((v, k) => v * act.dphi(c.pre[k]));
      dh = bnBack(dpre, c);
    } else if (spec.order === 'linear-act-bn') {
      const da = bnBack(dblock, c);
      dh = da.map((v, k) => v * act.dphi(c.h[k]));
    } else {
      dh = dblock.map((v, k) => v * act.dphi(c.h[k]));
    }
    gradHSq[l] = dh.reduce((a, v) => a + v * v, 0);
    let gw = 0;
    for (let o = 0; o < c.n; o++) for (let j = 0; j < c.nIn; j++) {
      let s = 0;
      for (let i = 0; i < B; i++) s += dh[i * c.n + o] * c.xin[i * c.nIn + j];
      gw += s * s;
    }
    gradWSq[l] = gw;
    const dx = new Float64Array(B * c.nIn);
    for (let i = 0; i < B; i++) for (let j = 0; j < c.nIn; j++) {
      let s = spec.residual ? dcur[i * c.nIn + j] : 0;
      for (let o = 0; o < c.n; o++) s += dh[i * c.n + o] * p.W[o * c.nIn + j];
      dx[i * c.nIn + j] = s;
    }
    dcur = dx;
  }
  return { loss, gradHSq, gradWSq, gradReadoutSq };
}
