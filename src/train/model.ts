// The MLP of a spec on tfjs, initialized from the same seeded draws as the sampler (src/network/random.ts),
// so that step 0 of training is the sampled network of the same seed.
import * as tf from '@tensorflow/tfjs';
import { drawNetwork, drawReadout, fanIns, hasBN, type NetworkSpec, widths } from '../network/index.js';
import { batchNorm, batchNormEval, linear, type TfActivation, tfActivation } from './layers.js';

type T2 = tf.Tensor2D;
type T1 = tf.Tensor1D;

export type ParamKind = 'W' | 'b' | 'gamma' | 'beta';

export interface ParamInfo {
  /** e.g. "block3.W", "readout.b". */
  name: string;
  /** Block index 1..depth, or null for the readout. */
  layer: number | null;
  kind: ParamKind;
  shape: number[];
  /** 1-D parameters (biases, BN γ/β): excluded from LARS/LAMB/LALC adaptation and weight decay by default. */
  oneD: boolean;
}

/** What a forward pass hands out for probes (all tensors kept; the caller disposes them). */
export interface Capture {
  /** h_l: the Linear output of block l (pre-normalization), B × n_l. */
  h: T2[];
  /** The argument of φ in block l (BN output for linear-bn-act, h_l otherwise). */
  actIn: T2[];
  /** Block outputs x_l, B × n_l. */
  out: T2[];
  /** ‖∂L/∂h_l‖² (scalars), filled during the backward pass. */
  dhSq: tf.Scalar[];
  /** ∂L/∂h_l itself (B × n_l), filled during the backward pass (a clone: shares the values, changes nothing). */
  dh: T2[];
  /** ∂L/∂y at the readout output (B × nOut), filled during the backward pass. */
  dy?: T2;
}

export function emptyCapture(depth: number): Capture {
  return { h: new Array(depth), actIn: new Array(depth), out: new Array(depth), dhSq: new Array(depth), dh: new Array(depth) };
}

export function disposeCapture(c: Capture): void {
  for (const list of [c.h, c.actIn, c.out, c.dhSq, c.dh]) for (const t of list) t?.dispose();
  c.dy?.dispose();
}

/** Float64 row-major n_out × n_in → Float32 kernel K = Wᵀ (n_in × n_out). */
export function kernelFromRowMajor(W: Float64Array, nOut: number, nIn: number): Float32Array {
  const K = new Float32Array(nOut * nIn);
  for (let o = 0; o < nOut; o++) for (let i = 0; i < nIn; i++) K[i * nOut + o] = W[o * nIn + i];
  return K;
}

export class Mlp {
  readonly spec: NetworkSpec;
  readonly nOut: number;
  readonly act: TfActivation;
  readonly bn: boolean;
  readonly info: ParamInfo[];
  /** Parameters, in the order of `info`. */
  params: tf.Tensor[];
  /** BN running statistics per block (of the BN input), updated by `updateRunningStats`. */
  runMean: T1[];
  runVar: T1[];
  /** PyTorch's convention: running ← (1 − m)·running + m·batch, unbiased batch variance. */
  readonly bnMomentum = 0.1;
  private readonly index: { W: number; b: number; gamma: number; beta: number }[];
  private readonly readoutIndex: { W: number; b: number };

  constructor(spec: NetworkSpec, nOut: number, params: tf.Tensor[], info: ParamInfo[], runMean: T1[], runVar: T1[]) {
    this.spec = spec;
    this.nOut = nOut;
    this.act = tfActivation(spec.activation as any);
    this.bn = hasBN(spec);
    this.params = params;
    this.info = info;
    this.runMean = runMean;
    this.runVar = runVar;
    this.index = [];
    for (let l = 1; l <= spec.depth; l++) {
      const at = (k: ParamKind) => info.findIndex((p) => p.layer === l && p.kind === k);
      this.index.push({ W: at('W'), b: at('b'), gamma: at('gamma'), beta: at('beta') });
    }
    this.readoutIndex = {
      W: info.findIndex((p) => p.layer === null && p.kind === 'W'),
      b: info.findIndex((p) => p.layer === null && p.kind === 'b'),
    };
  }

  /**
   * The network of `seed`: block weights from drawNetwork(spec, seed), BN γ/β from spec.bn, readout
   * weights from drawReadout(width_L, nOut, seed), readout bias 0.
   */
  static fromSeed(spec: NetworkSpec, nOut: number, seed: number): Mlp {
    const layers = drawNetwork(spec, seed);
    const ws = widths(spec);
    const fi = fanIns(spec);
    const bn = hasBN(spec);
    const params: tf.Tensor[] = [];
    const info: ParamInfo[] = [];
    const runMean: T1[] = [];
    const runVar: T1[] = [];
    for (let l = 1; l <= spec.depth; l++) {
      const p = layers[l - 1];
      params.push(tf.tensor2d(kernelFromRowMajor(p.W, p.nOut, p.nIn), [fi[l - 1], ws[l - 1]]));
      info.push({ name: `block${l}.W`, layer: l, kind: 'W', shape: [fi[l - 1], ws[l - 1]], oneD: false });
      params.push(tf.tensor1d(Float32Array.from(p.b)));
      info.push({ name: `block${l}.b`, layer: l, kind: 'b', shape: [ws[l - 1]], oneD: true });
      if (bn) {
        params.push(tf.fill([ws[l - 1]], spec.bn.gamma) as T1);
        info.push({ name: `block${l}.gamma`, layer: l, kind: 'gamma', shape: [ws[l - 1]], oneD: true });
        params.push(tf.fill([ws[l - 1]], spec.bn.beta) as T1);
        info.push({ name: `block${l}.beta`, layer: l, kind: 'beta', shape: [ws[l - 1]], oneD: true });
        runMean.push(tf.zeros([ws[l - 1]]) as T1);
        runVar.push(tf.ones([ws[l - 1]]) as T1);
      }
    }
    const wL = ws[spec.depth - 1];
    params.push(tf.tensor2d(kernelFromRowMajor(drawReadout(wL, nOut, seed), nOut, wL), [wL, nOut]));
    info.push({ name: 'readout.W', layer: null, kind: 'W', shape: [wL, nOut], oneD: false });
    params.push(tf.zeros([nOut]));
    info.push({ name: 'readout.b', layer: null, kind: 'b', shape: [nOut], oneD: true });
    return new Mlp(spec, nOut, params, info, runMean, runVar);
  }

  /** Index into params of block l's BN γ (l = 1..depth), or −1 without BN. */
  gammaIndex(l: number): number {
    return this.index[l - 1].gamma;
  }

  /** Index into params of block l's kernel (l = 1..depth), or of the readout kernel (l = null). */
  weightIndex(l: number | null): number {
    return l === null ? this.readoutIndex.W : this.index[l - 1].W;
  }

  /**
   * Forward pass with parameters `p` (same order as `info`). Training mode uses batch statistics and
   * hands them to `bnStats` (kept tensors; caller disposes). Returns the readout outputs (B × nOut).
   */
  forward(p: tf.Tensor[], x: T2, mode: 'train' | 'eval', capture?: Capture, bnStats?: { mean: T1; variance: T1 }[]): T2 {
    const spec = this.spec;
    let cur = x;
    for (let l = 1; l <= spec.depth; l++) {
      const ix = this.index[l - 1];
      const onGrad = capture
        ? (dh: T2) => {
            capture.dhSq[l - 1] = tf.keep(tf.sum(tf.square(dh)) as tf.Scalar);
            capture.dh[l - 1] = tf.keep(tf.clone(dh));
          }
        : undefined;
      const h = linear(cur, p[ix.W] as T2, p[ix.b] as T1, onGrad);
      const norm = (v: T2): T2 => {
        const g = p[ix.gamma] as T1;
        const bt = p[ix.beta] as T1;
        if (mode === 'eval') return batchNormEval(v, g, bt, spec.bn.eps, this.runMean[l - 1], this.runVar[l - 1]);
        return batchNorm(v, g, bt, spec.bn.eps, (s) => {
          if (bnStats) bnStats[l - 1] = { mean: tf.keep(s.mean), variance: tf.keep(s.variance) };
        });
      };
      let actIn: T2;
      let out: T2;
      if (spec.order === 'linear-bn-act') {
        actIn = norm(h);
        out = this.act(actIn) as T2;
      } else if (spec.order === 'linear-act-bn') {
        actIn = h;
        out = norm(this.act(h) as T2);
      } else {
        actIn = h;
        out = this.act(h) as T2;
      }
      if (spec.residual) out = tf.add(cur, tf.mul(out, spec.residual.scale)) as T2;
      if (capture) {
        capture.h[l - 1] = tf.keep(h);
        capture.actIn[l - 1] = tf.keep(actIn);
        capture.out[l - 1] = tf.keep(out);
      }
      cur = out;
    }
    const onReadoutGrad = capture
      ? (dy: T2) => {
          capture.dy = tf.keep(tf.clone(dy));
        }
      : undefined;
    return linear(cur, p[this.readoutIndex.W] as T2, p[this.readoutIndex.b] as T1, onReadoutGrad);
  }

  /** running ← (1 − m)·running + m·batch (variance made unbiased by B/(B − 1)); disposes the stats. */
  updateRunningStats(stats: { mean: T1; variance: T1 }[], batch: number): void {
    if (!this.bn) return;
    const m = this.bnMomentum;
    const unbias = batch > 1 ? batch / (batch - 1) : 1;
    for (let i = 0; i < stats.length; i++) {
      const s = stats[i];
      if (!s) continue;
      const nm = tf.tidy(() => tf.add(tf.mul(this.runMean[i], 1 - m), tf.mul(s.mean, m)) as T1);
      const nv = tf.tidy(() => tf.add(tf.mul(this.runVar[i], 1 - m), tf.mul(s.variance, m * unbias)) as T1);
      this.runMean[i].dispose();
      this.runVar[i].dispose();
      this.runMean[i] = nm;
      this.runVar[i] = nv;
      s.mean.dispose();
      s.variance.dispose();
    }
  }

  dispose(): void {
    for (const t of [...this.params, ...this.runMean, ...this.runVar]) t.dispose();
  }
}
