// One training step with probes. The step's arithmetic is the same with and without probes: probes
// only read tensors the step computes anyway (and ‖∂L/∂h_l‖², taken inside the Linear backward), so
// they cannot change the training result.
import * as tf from '@tensorflow/tfjs';
import {
  type ActLayer,
  activationOfLayer,
  type BatchNormLayer,
  layersOf,
  type NetworkSpec,
  type SpecFields,
  specFields,
  widths,
} from '../network/index.js';
import { type Quantity, record, type SPRecord } from '../records/index.js';
import type { ResolvedTrainConfig } from './config.js';
import type { Dataset, HostBatch } from './data/index.js';
import { combineFactors, degeneracyOf, type UnitSums } from './factors.js';
import { exactFactorsApply } from './layers/index.js';
import { accuracyOf, type BatchTargets, lossTensor } from './loss.js';
import { type Capture, disposeCapture, emptyCapture, Mlp } from './model.js';
import { explicitTranspose, sumSquares } from './ops.js';
import { clipFactors, Optimizer } from './optim.js';
import { ProbeSchedule, sampleCorrelationHost, unitCorrelationHost } from './probes.js';
import { scheduleFactor } from './schedule.js';
import type { CorrelationAwareRate } from './theoryLink.js';

type T2 = tf.Tensor2D;

export interface StepOutcome {
  loss: number;
  accuracy: number;
  diverged: boolean;
  records: SPRecord[];
}

/** Targets of a host batch as device tensors (one-hot labels, or real targets). */
export function batchTargets(hb: HostBatch, nOut: number): BatchTargets {
  if (hb.targets) return { t: tf.tensor2d(hb.targets, [hb.n, nOut]), labels: null };
  const oh = new Float32Array(hb.n * nOut);
  for (let i = 0; i < hb.n; i++) oh[i * nOut + hb.labels![i]] = 1;
  return { t: tf.tensor2d(oh, [hb.n, nOut]), labels: hb.labels };
}

/** Loss and gradients of one batch at the current parameters (no update); for checks and step-0 references. */
export function gradientsOf(
  model: Mlp,
  loss: ResolvedTrainConfig['loss'],
  x: T2,
  targets: BatchTargets,
  capture?: Capture,
): { loss: tf.Scalar; grads: tf.Tensor[]; logits: T2; bnStats: { mean: tf.Tensor1D; variance: tf.Tensor1D }[] } {
  const bnStats: { mean: tf.Tensor1D; variance: tf.Tensor1D }[] = new Array(model.runMean.length);
  let logits: T2 | null = null;
  const { value, grads } = tf.valueAndGrads((...ps: tf.Tensor[]) => {
    const y = model.forward(ps, x, 'train', capture, bnStats);
    logits = tf.keep(y);
    return lossTensor(loss, y, targets);
  })(model.params);
  return { loss: value as tf.Scalar, grads, logits: logits!, bnStats };
}

export class Trainer {
  readonly cfg: ResolvedTrainConfig;
  readonly spec: NetworkSpec;
  readonly model: Mlp;
  readonly opt: Optimizer;
  readonly data: Dataset;
  readonly probes: ProbeSchedule;
  readonly fields: SpecFields;
  readonly tags: Record<string, string>;
  private readonly rate: CorrelationAwareRate | null;
  /** Whether the gradient-factor probes run: every block is Linear → BN → φ (exactFactorsApply). */
  readonly factorsOn: boolean;

  constructor(cfg: ResolvedTrainConfig, spec: NetworkSpec, data: Dataset, rate: CorrelationAwareRate | null, backendName: string) {
    this.cfg = cfg;
    this.spec = spec;
    this.data = data;
    this.model = Mlp.fromSeed(spec, data.nOut, cfg.seed, cfg.rng);
    this.opt = new Optimizer(cfg.optimizer, this.model.info);
    this.probes = new ProbeSchedule(cfg.probe, cfg.steps);
    this.fields = specFields(spec);
    this.tags = { optimizer: cfg.optimizer.kind, data: cfg.data.kind, loss: cfg.loss, backend: backendName };
    this.factorsOn = exactFactorsApply(layersOf(spec));
    this.rate = this.factorsOn ? rate : null;
  }

  /** A record of this run (source "trained"). */
  rec(q: Quantity, layer: number | null, value: number, step: number, tags?: Record<string, string | number | boolean | null>): SPRecord {
    return record(this.fields, 'trained', q, layer, value, {
      step,
      seed: this.cfg.seed,
      rng: this.cfg.rng,
      tags: tags ? { ...this.tags, ...tags } : this.tags,
    });
  }

  lrAt(t: number): number {
    return this.cfg.optimizer.lr * scheduleFactor(this.cfg.schedule, t, this.cfg.steps);
  }

  /** Run step t (0-based): gradients at θ_t on batch t, an update to θ_{t+1}, and the probes of step t. */
  step(t: number): StepOutcome {
    const cfg = this.cfg;
    const model = this.model;
    const L = this.spec.depth;
    const B = this.spec.batch!;
    const hb = this.data.batch(t, B);
    const probe = this.probes.active(t);
    const lr = this.lrAt(t);
    const x = tf.tensor2d(hb.x, [B, this.data.dim]);
    const targets = batchTargets(hb, model.nOut);
    const capture = probe ? emptyCapture(L) : undefined;
    const { loss, grads, logits, bnStats } = gradientsOf(model, cfg.loss, x, targets, capture);
    const scal = tf.tidy(() => tf.concat([tf.reshape(loss, [1]), sumSquares(grads)]).dataSync());
    const lossVal = scal[0];
    const gradSq = Array.from(scal.subarray(1));
    const logitsHost = logits.dataSync() as Float32Array;
    const accuracy = accuracyOf(logitsHost, model.nOut, targets.labels, hb.targets);
    const records: SPRecord[] = [];
    const wIdx = Array.from({ length: L }, (_, i) => model.weightIndex(i + 1));
    const cleanup = () => {
      tf.dispose([x, targets.t, loss, logits, ...grads]);
      for (const s of bnStats) if (s) tf.dispose([s.mean, s.variance]);
      if (capture) disposeCapture(capture);
    };
    const totalSq = gradSq.reduce((a, b) => a + b, 0);
    if (!Number.isFinite(lossVal) || !Number.isFinite(totalSq)) {
      // JSON has no NaN/Infinity: a non-finite value is written as null and named in tags.nonFinite
      const ev = (v: number) => ({ event: 'diverged', nonFinite: Number.isFinite(v) ? null : String(v) });
      records.push(this.rec('loss', null, lossVal, t, ev(lossVal)));
      for (let l = 1; l <= L; l++) {
        const g = Math.sqrt(gradSq[wIdx[l - 1]]);
        records.push(this.rec('grad_w_norm', l, g, t, ev(g)));
      }
      cleanup();
      return { loss: lossVal, accuracy, diverged: true, records };
    }
    records.push(this.rec('loss', null, lossVal, t));

    // clipping, then the optimizer
    const clip = clipFactors({ kind: cfg.clip.kind, maxNorm: cfg.clip.maxNorm ?? Number.POSITIVE_INFINITY }, gradSq);
    const clipped = grads.map((g, i) => (clip[i] < 1 ? tf.mul(g, clip[i]) : g));
    const clippedSq = gradSq.map((s, i) => s * clip[i] * clip[i]);
    const old = model.params;
    const { params, factors } = this.opt.step(old, clipped, clippedSq, lr, t + 1);
    model.params = params;
    for (let i = 0; i < clipped.length; i++) if (clipped[i] !== grads[i]) clipped[i].dispose();
    model.updateRunningStats(bnStats, B);
    bnStats.fill(undefined as any);

    if (probe && capture) this.probe(t, lr, old, params, gradSq, clip, factors, capture, accuracy, records);
    tf.dispose(old);
    cleanup();
    return { loss: lossVal, accuracy, diverged: false, records };
  }

  private probe(
    t: number,
    lr: number,
    old: tf.Tensor[],
    now: tf.Tensor[],
    gradSq: number[],
    clip: number[],
    factors: (number | null)[],
    cap: Capture,
    accuracy: number,
    out: SPRecord[],
  ): void {
    const L = this.spec.depth;
    const model = this.model;
    const wIdx = Array.from({ length: L }, (_, i) => model.weightIndex(i + 1));
    // an image block (a conv kernel [k, k, C_in, C]): its h and output are B × H·W·C (NHWC); its batch variance
    // and unit correlation are per channel, over the B·H·W values of the (B·H·W) × C view, as BatchNorm2d and
    // the sampler take them
    const channels = wIdx.map((i) => (model.info[i].shape.length === 4 ? model.info[i].shape[3] : null));
    const perChannel = (t: tf.Tensor, l: number): tf.Tensor2D => {
      const c = channels[l - 1];
      return (c === null || t.shape[1]! % c !== 0 ? t : tf.reshape(t, [-1, c])) as tf.Tensor2D;
    };
    // per layer: ‖∂L/∂h‖², ‖W‖², ‖ΔW‖², mean batch var of h (device scalars, one dataSync); a last row L + 1
    // for the readout (‖W‖², ‖ΔW‖² only). The two correlations of the block output come from its values on
    // the host: the mean between-sample cosine by the O(B·N) identity (sampleCorrelationHost), the unit
    // correlation from one Gram matMul (unitCorrelationHost; above UNIT_CORR_SUBSET units, over a strided subset)
    // each block's batch variance of h, once: preact_var's and the factors' s² = σ² + ε
    const hVar = tf.tidy(() => Array.from({ length: L }, (_, i) => tf.keep(tf.moments(perChannel(cap.h[i], i + 1), 0).variance)));
    const perLayer = tf.tidy(() => {
      const rows: tf.Tensor[] = [];
      for (let l = 1; l <= L; l++) {
        const W0 = old[wIdx[l - 1]];
        const W1 = now[wIdx[l - 1]];
        const variance = hVar[l - 1];
        rows.push(tf.stack([cap.dhSq[l - 1], tf.sum(tf.square(W0)), tf.sum(tf.square(tf.sub(W1, W0))), tf.mean(variance)]));
      }
      // the readout: ‖W‖², ‖ΔW‖² (its row beside the layers; the other columns unused)
      const ro = model.weightIndex(null);
      const R0 = old[ro];
      const R1 = now[ro];
      const nan = tf.scalar(Number.NaN);
      rows.push(tf.stack([nan, tf.sum(tf.square(R0)), tf.sum(tf.square(tf.sub(R1, R0))), nan]));
      return tf.stack(rows);
    });
    const pv = perLayer.dataSync();
    perLayer.dispose();
    // the old layout [gh, ‖W‖², ‖ΔW‖², var, corr, (unused), unit_corr] per row
    const v = new Float64Array(7 * (L + 1)).fill(Number.NaN);
    for (let l = 1; l <= L + 1; l++) for (let k = 0; k < 4; k++) v[(l - 1) * 7 + k] = pv[(l - 1) * 4 + k];
    for (let l = 1; l <= L; l++) {
      const X = cap.out[l - 1];
      const xs = X.dataSync() as Float32Array;
      const [B, F] = X.shape;
      v[(l - 1) * 7 + 4] = sampleCorrelationHost(xs, B, F);
      const c = channels[l - 1];
      const cols = c === null || F % c !== 0 ? F : c;
      v[(l - 1) * 7 + 6] = unitCorrelationHost(xs, (B * F) / cols, cols);
    }
    const get = (l: number, k: number) => v[(l - 1) * 7 + k];
    const ws = widths(this.spec);
    // ‖K_{l+1}‖² for the factors: perLayer's ‖W‖² of layer l + 1 (the readout's for l = L), the same sums
    const nextWeightSq = Array.from({ length: L }, (_, i) => get(i + 2, 1));
    let fx: ReturnType<Trainer['unitSums']> | null = null;
    try {
      fx = this.factorsOn ? this.unitSums(old, cap, hVar, nextWeightSq) : null;
    } finally {
      tf.dispose(hVar);
    }
    const deg = degeneracyOf(get(L, 0), fx ? fx.preTopSq : null, this.spec.batch!);
    const dTag = deg.kind ? { degenerate: deg.kind } : undefined;
    out.push(this.rec('accuracy', null, accuracy, t));
    out.push(this.rec('lr', null, lr, t));
    if (deg.kind) out.push(this.rec('grad_degenerate', null, deg.nu, t, { degenerate: deg.kind, threshold: deg.threshold }));
    for (let l = 1; l <= L; l++) {
      const gh = get(l, 0);
      const wsq = get(l, 1);
      const gw = gradSq[wIdx[l - 1]];
      out.push(this.rec('grad_w_sq', l, gw, t, dTag));
      out.push(this.rec('grad_w_norm', l, Math.sqrt(gw), t, dTag));
      out.push(this.rec('grad_h_sq', l, gh, t, dTag));
      out.push(this.rec('grad_h_norm', l, Math.sqrt(gh), t, dTag));
      if (l < L) out.push(this.rec('grad_growth', l, gh / get(l + 1, 0), t, dTag));
      out.push(this.rec('weight_norm', l, Math.sqrt(wsq), t));
      out.push(this.rec('update_norm', l, Math.sqrt(get(l, 2)), t));
      out.push(this.rec('update_ratio', l, Math.sqrt(get(l, 2)) / Math.sqrt(wsq), t));
      out.push(this.rec('preact_var', l, get(l, 3), t));
      out.push(this.rec('corr', l, get(l, 4), t));
      out.push(this.rec('unit_corr', l, get(l, 6), t));
      const f = factors[wIdx[l - 1]];
      if (f !== null) {
        out.push(this.rec('trust_ratio', l, f, t, { method: this.cfg.optimizer.kind }));
        out.push(this.rec('lr', l, lr * f, t, { method: this.cfg.optimizer.kind }));
      }
      if (this.cfg.clip.kind !== 'none')
        out.push(this.rec('trust_ratio', l, clip[wIdx[l - 1]], t, { method: `clip-${this.cfg.clip.kind}` }));
    }
    const ro = model.weightIndex(null);
    const roTag = { param: 'readout' };
    out.push(this.rec('update_norm', null, Math.sqrt(get(L + 1, 2)), t, roTag));
    out.push(this.rec('update_ratio', null, Math.sqrt(get(L + 1, 2)) / Math.sqrt(get(L + 1, 1)), t, roTag));
    if (factors[ro] !== null)
      out.push(this.rec('trust_ratio', null, factors[ro]!, t, { method: this.cfg.optimizer.kind, param: 'readout' }));
    // a degenerate gradient: the per-layer ratios measure rounding noise; no factors, no GIA records
    if (deg.kind || !fx) return;
    for (let l = 1; l < L; l++) {
      const f = combineFactors(fx.layers[l - 1], get(l + 1, 0), fx.weightSq[l - 1], ws[l]);
      if (!f) continue;
      out.push(this.rec('grad_factor_w', l, f.fW, t));
      out.push(this.rec('weight_gain', l, f.weightGain, t));
      out.push(this.rec('grad_align_w', l, f.alphaW, t));
      out.push(this.rec('grad_factor_bn', l, f.fBN, t));
      out.push(this.rec('bn_unit_gain', l, f.unitGain, t));
      out.push(this.rec('gate_grad_corr', l, f.kappa, t));
      out.push(this.rec('bn_proj_removed', l, f.rhoP, t));
      out.push(this.rec('grad_factor_product', l, f.product, t));
    }
    if (this.rate) {
      // the gradient-independence reconstruction of grad_growth at layer l (docs/derivations.md §13,
      // src/theory/correlation.ts): a labelled approximation, not a prediction (docs/training.md)
      for (let l = 1; l < L; l++) {
        const u = fx.layers[l - 1];
        const { bn, act } = this.factorBlock(l);
        let dphiSqMean = 0; // E φ′(z_l)² over batch and units: the mean of the per-unit E_b φ′_j²
        for (let j = 0; j < u.dphi2.length; j++) dphiSqMean += u.dphi2[j] / u.dphi2.length;
        let r: ReturnType<CorrelationAwareRate>;
        try {
          r = this.rate(
            { preVar: u.varEps, colNormSq: fx.colNormSq[l - 1], dphiSqMean, nCur: ws[l], prevRowNormSq: fx.prevRowNormSq[l - 1] },
            activationOfLayer(act),
            { gamma: bn.gamma, beta: bn.beta, eps: bn.eps },
          );
        } catch {
          continue; // e.g. a unit with zero batch variance and ε = 0: the reconstruction is undefined there
        }
        const tags = { assumption: 'gradient-independence', lambdaInf: r.lambdaInf, omegaW: r.omegaW, aCorr: r.aCorr };
        out.push(this.rec('gia_growth', l, r.rate, t, tags));
        out.push(this.rec('gia_unit_gain', l, (r.rate * ws[l]) / fx.weightSq[l - 1], t, { assumption: 'gradient-independence' }));
      }
    }
  }

  /** Block l's BN and act layers, where the factors apply (every block is dense → batchnorm → act). */
  private factorBlock(l: number): { bn: BatchNormLayer; act: ActLayer } {
    const [, bn, act] = this.model.blockNodes(l).map((n) => n.layer);
    return { bn: bn as BatchNormLayer, act: act as ActLayer };
  }

  /**
   * Per-unit sums of every block (src/train/factors.ts) at θ_t, from the captured forward and backward,
   * plus ‖W_{l+1}‖²_F, the column norms of W_{l+1}, the row norms of W_l and, for the degeneracy check,
   * ‖γ∘s⁻¹∘φ′∘g_x^L‖² at the top block (g_x^L = ∂L/∂y · readout).
   */
  private unitSums(
    old: tf.Tensor[],
    cap: Capture,
    hVar: tf.Tensor[],
    nextWeightSq: number[],
  ): { layers: UnitSums[]; weightSq: number[]; colNormSq: Float32Array[]; prevRowNormSq: Float32Array[]; preTopSq: number } {
    const L = this.spec.depth;
    const model = this.model;
    const ws = widths(this.spec);
    const K = (l: number) => old[model.weightIndex(l <= L ? l : null)] as tf.Tensor2D;
    const flat = tf.tidy(() => {
      const list: tf.Tensor[] = [];
      for (let l = 1; l <= L; l++) {
        const G1 = (l < L ? cap.dh[l] : cap.dy!) as tf.Tensor2D;
        const Kn = K(l + 1);
        // ∂L/∂x_l = G1·K_{l+1}ᵀ: the block output's gradient the backward already formed (cap.dx, the same product)
        const gx = cap.dx?.[l - 1] ?? (explicitTranspose() ? tf.matMul(G1, tf.transpose(Kn)) : tf.matMul(G1, Kn, false, true));
        const phi = model.activation(l);
        // φ′ by autodiff; for ReLU, tfjs's own gradient 1·step(z) directly (the same bits, without the tape)
        const z = cap.actIn[l - 1];
        const d = activationOfLayer(this.factorBlock(l).act).name === 'relu' ? tf.step(z) : tf.grad((v: tf.Tensor) => tf.sum(phi(v)))(z);
        const gated = tf.mul(d, gx);
        const varEps = tf.add(hVar[l - 1], this.factorBlock(l).bn.eps);
        const gamma2 = tf.square(old[model.gammaIndex(l)]);
        list.push(
          tf.sum(tf.square(gx), 0),
          tf.mean(tf.square(d), 0),
          tf.sum(tf.square(gated), 0),
          tf.sum(tf.square(cap.dh[l - 1]), 0),
          varEps,
          gamma2,
        );
        if (l < L) list.push(tf.sum(tf.square(Kn), 1), tf.sum(tf.square(K(l)), 0));
      }
      return tf.concat(list);
    });
    const host = Float64Array.from(flat.dataSync());
    flat.dispose();
    const layers: UnitSums[] = [];
    const colNormSq: Float32Array[] = [];
    const prevRowNormSq: Float32Array[] = [];
    let off = 0;
    const take = (n: number) => {
      const a = host.subarray(off, off + n);
      off += n;
      return a;
    };
    for (let l = 1; l <= L; l++) {
      const n = ws[l - 1];
      layers.push({ gx2: take(n), dphi2: take(n), gated2: take(n), gh2: take(n), varEps: take(n), gamma2: take(n) });
      if (l < L) {
        colNormSq.push(Float32Array.from(take(n)));
        prevRowNormSq.push(Float32Array.from(take(n)));
      }
    }
    const weightSq = nextWeightSq;
    const top = layers[L - 1];
    let preTopSq = 0;
    for (let j = 0; j < top.gx2.length; j++) preTopSq += (top.gamma2[j] / top.varEps[j]) * top.gated2[j];
    return { layers, weightSq, colNormSq, prevRowNormSq, preTopSq };
  }

  /** Loss and accuracy on the data's test split, BN in eval mode (running statistics). */
  evaluate(): { loss: number; accuracy: number } {
    const tb = this.data.test();
    const chunk = 1000;
    let lossSum = 0;
    let hits = 0;
    for (let s = 0; s < tb.n; s += chunk) {
      const n = Math.min(chunk, tb.n - s);
      const part: HostBatch = {
        x: tb.x.subarray(s * this.data.dim, (s + n) * this.data.dim),
        n,
        labels: tb.labels ? tb.labels.subarray(s, s + n) : null,
        targets: tb.targets ? tb.targets.subarray(s * this.model.nOut, (s + n) * this.model.nOut) : null,
      };
      const targets = batchTargets(part, this.model.nOut);
      const [lv, y] = tf.tidy(() => {
        const yy = this.model.forward(this.model.params, tf.tensor2d(part.x, [n, this.data.dim]), 'eval');
        return [lossTensor(this.cfg.loss, yy, targets).dataSync()[0], yy.dataSync() as Float32Array] as const;
      });
      targets.t.dispose();
      lossSum += lv * n;
      hits += accuracyOf(y, this.model.nOut, part.labels, part.targets) * n;
    }
    return { loss: lossSum / tb.n, accuracy: hits / tb.n };
  }

  dispose(): void {
    this.model.dispose();
    this.opt.dispose();
  }
}

/**
 * Mean |correlation| between units (columns) of X (batch × units) over the batch: the off-diagonal mass of
 * the feature correlation matrix. A unit with zero batch variance contributes 0 to every pair it is in.
 */
export function unitCorrelation(X: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const n = X.shape[1];
    const Xc = tf.sub(X, tf.mean(X, 0, true));
    const ss = tf.sum(tf.square(Xc), 0);
    const sd = tf.sqrt(tf.maximum(ss, 1e-30));
    // correlations as the Gram matrix of the standardized columns (one N×N pass instead of three)
    const Xn = tf.div(Xc, sd);
    const R = tf.abs(explicitTranspose() ? tf.matMul(tf.transpose(Xn), Xn) : tf.matMul(Xn, Xn, true, false));
    const diag = tf.sum(tf.div(ss, tf.square(sd)));
    return tf.div(tf.sub(tf.sum(R), diag), n * (n - 1)) as tf.Scalar;
  });
}
