// Per-layer predictions for a network spec, as tidy records. One forward pass of the mean-field state
// (second moment q and cross-sample moment qc of each block's output, per unit) and one backward pass of
// the per-sample gradient covariance (diagonal d, off-diagonal o), both in log space where they can
// grow without bound. Definitions of every record: docs/theory.md §7.
import { type Activation, activationName, activationOf, fanIns, type NetworkSpec, record, SpecError, specFields, type SPRecord } from '../spec/index.js';
import { type ActBnBlock, actBnBlock, bnGradientRate } from './batchnorm.js';
import { gaussMoments, pairMoments, slopesOf } from './moments.js';
import { chi1, qStar } from './meanField.js';
import { type SphereMoments, sphereMoments } from './sphere.js';

export interface PredictOptions {
  /** Pairwise correlation of the input samples (gaussianInputs' ρ); default 0. */
  inputCorr?: number;
  /** Variance of each input coordinate; default 1. */
  inputVar?: number;
  /**
   * Correlation between samples of ∂L/∂x_L at the top: 1 for the project's `readout` loss (the same
   * readout vector for every sample, the default), 0 for per-sample-independent loss gradients.
   * Only residual Linear → BN → φ nets and the weight gradients of no-BN nets depend on it.
   */
  topGradientCorr?: number;
}

export interface Prediction {
  records: SPRecord[];
  /** Interior per-layer growth of ‖∂L/∂h‖² (λ(B) for linear-bn-act; χ₁ for no-BN nets). */
  predictedGrowth: number;
  /** 1/ln(predictedGrowth) in layers: > 0 explosion toward the input, < 0 vanishing, Infinity if growth = 1. */
  depthScale: number;
  /** ln(‖∂L/∂h_1‖² / ‖∂L/∂h_L‖²) */
  logGrowthTotal: number;
  /** What is exact and what is approximate for this spec. */
  notes: string[];
}

type Back =
  | { kind: 'yang'; M: SphereMoments; Vh: number }
  | { kind: 'actbn'; blk: ActBnBlock }
  | { kind: 'plain'; S1: number; K0: number };

interface Fwd {
  /** stream entering the block: second moment, cross moment, log scale */
  qIn: number;
  qcIn: number;
  sIn: number;
  preVar: number;
  postMean: number;
  postVar: number;
  qOut: number;
  qcOut: number;
  sOut: number;
  back: Back;
}

const LOG_BIG = 690;

function representable(lnAbs: number): boolean {
  return lnAbs < LOG_BIG && lnAbs > -LOG_BIG;
}

/** Predict per-layer quantities for a spec (see docs/theory.md §7 for the definitions). */
export function predict(spec: NetworkSpec, opts: PredictOptions = {}): Prediction {
  const act = activationOf(spec);
  const B = spec.batch;
  const bn = spec.bn;
  const sw = spec.init.sigmaW2;
  const sb = spec.init.sigmaB2;
  const order = spec.order;
  const res = spec.residual ? spec.residual.scale : null;
  const inputVar = opts.inputVar ?? 1;
  const inputCorr = opts.inputCorr ?? 0;
  if (!(inputVar > 0 && Number.isFinite(inputVar))) throw new SpecError('inputVar', inputVar, 'a finite number > 0');
  if (!(inputCorr >= 0 && inputCorr < 1)) throw new SpecError('inputCorr', inputCorr, 'a number in [0, 1)');
  const topCorr = opts.topGradientCorr ?? 1;
  if (!(topCorr >= 0 && topCorr <= 1)) throw new SpecError('topGradientCorr', topCorr, 'a number in [0, 1]');
  if (order !== 'linear-act' && B !== null && B < 4) {
    throw new SpecError('batch', B, 'at least 4 for BatchNorm theory (Yang et al. Thm 7: the expected gradient rate involves E[1/χ²_(B−1)] = 1/(B−3), infinite for B ≤ 3), or omit it for the large-batch limit');
  }
  const notes: string[] = [];
  const fB = B === null ? 1 : (B - 1) / B;
  const L = spec.depth;
  const Lc = Math.max(L, 2);
  const fan = fanIns(spec);
  const fanOf = (l: number) => fan[Math.min(l, L) - 1];
  const sl = slopesOf(act);
  const homogeneousScaling = order === 'linear-act' && res === null && sl !== null;

  // ---------- forward ----------
  const yangMemo = new Map<string, SphereMoments>();
  const yangMoments = (g: number): SphereMoments => {
    const key = g.toPrecision(13);
    let m = yangMemo.get(key);
    if (!m) {
      m = sphereMoments(act, g, bn.beta, B);
      yangMemo.set(key, m);
    }
    return m;
  };
  // Residual streams change κ = v/(v+ε) at every block; there we interpolate the moments linearly in
  // ln γ_eff on a grid of spacing 1e-4 (relative error ≲ 1e-9) instead of integrating at every block.
  const GRID = 1e-4;
  const yangInterp = (g: number): SphereMoments => {
    const x = Math.log(g) / GRID;
    const i = Math.floor(x);
    const t = x - i;
    const A = yangMoments(Math.exp(i * GRID));
    if (t === 0) return A;
    const C = yangMoments(Math.exp((i + 1) * GRID));
    const mix = (a: number, c: number) => a + t * (c - a);
    return { B: A.B, m1: mix(A.m1, C.m1), m2: mix(A.m2, C.m2), pair: mix(A.pair, C.pair), S1: mix(A.S1, C.S1), T1: mix(A.T1, C.T1), S2: mix(A.S2, C.S2), T2: mix(A.T2, C.T2), D1: mix(A.D1, C.D1), ND1: mix(A.ND1, C.ND1) };
  };
  if (order !== 'linear-act') {
    const m = yangMoments(bn.gamma);
    if (!(m.m2 - (B === null ? m.m1 * m.m1 : m.pair) > 1e-300)) {
      throw new SpecError('activation', activationName(spec), 'a non-constant activation: its output has zero batch variance, so BatchNorm divides by zero');
    }
  }
  const actBnMemo = new Map<string, { blk: ActBnBlock; pm: ReturnType<typeof pairMoments>; gm: ReturnType<typeof gaussMoments> }>();
  let mu = 0;
  let q = inputVar;
  let qc = inputVar * inputCorr;
  let scale = 0;
  type BlockOut = Omit<Fwd, 'qIn' | 'qcIn' | 'sIn' | 'qOut' | 'qcOut' | 'sOut'>;
  let prevPlain: { qh: number; ch: number; f: BlockOut; muO: number; qO: number; qcO: number } | null = null;
  let prevCh = inputCorr;
  const fwd: Fwd[] = [];
  for (let l = 1; l <= Lc; l++) {
    const sbScaled = scale === 0 || sb === 0 ? sb : scale > LOG_BIG ? 0 : sb * Math.exp(-scale);
    const qh = sw * q + sbScaled;
    const qch = sw * qc + sbScaled;
    const Vh = Math.max(0, qh - qch);
    const ch = qh > 1e-300 ? Math.max(-1, Math.min(1, qch / qh)) : prevCh;
    prevCh = ch;
    let muO: number;
    let qO: number;
    let qcO: number;
    let f: BlockOut;
    if (order === 'linear-bn-act') {
      const vhat = fB * Vh;
      const kappa = bn.eps > 0 ? vhat / (vhat + bn.eps) : 1;
      const g = bn.gamma * Math.sqrt(kappa);
      const M = res === null || kappa === 1 || g <= 0 ? yangMoments(g) : yangInterp(g);
      muO = M.m1;
      qO = M.m2;
      qcO = M.pair;
      f = { preVar: fB * Vh, postMean: M.m1, postVar: fB * (M.m2 - M.pair), back: { kind: 'yang', M, Vh } };
    } else if (order === 'linear-act-bn') {
      const key = `${qh.toPrecision(14)}|${qch.toPrecision(14)}`;
      let memo = actBnMemo.get(key);
      if (!memo) {
        memo = { blk: actBnBlock(act, bn, qh, qch, B), pm: pairMoments(act, qh, ch), gm: gaussMoments(act, 0, qh) };
        actBnMemo.set(key, memo);
      }
      const { blk, pm, gm } = memo;
      const g2k = bn.gamma * bn.gamma * blk.kappaBar;
      muO = bn.beta;
      qO = bn.beta * bn.beta + g2k;
      qcO = bn.beta * bn.beta - (B === null ? 0 : g2k / (B - 1));
      f = { preVar: fB * Vh, postMean: blk.postMean, postVar: fB * Math.max(0, gm.second - pm.phiphi), back: { kind: 'actbn', blk } };
    } else if (prevPlain && Math.abs(prevPlain.qh - qh) <= 1e-15 * qh && Math.abs(prevPlain.ch - ch) <= 1e-15) {
      // the state has converged to a fixed point: reuse the block's moments
      ({ f, muO, qO, qcO } = prevPlain);
    } else {
      const gm = gaussMoments(act, 0, qh);
      const pm = pairMoments(act, qh, ch);
      muO = gm.mean;
      qO = gm.second;
      qcO = pm.phiphi;
      f = { preVar: fB * Vh, postMean: gm.mean, postVar: fB * Math.max(0, qO - qcO), back: { kind: 'plain', S1: gm.d2, K0: pm.dphidphi } };
      prevPlain = { qh, ch, f, muO, qO, qcO };
    }
    const sIn = scale;
    const qIn = q;
    const qcIn = qc;
    if (res === null) {
      mu = muO;
      q = qO;
      qc = qcO;
    } else {
      const cross = 2 * res * mu * muO;
      q = q + res * res * qO + cross;
      qc = qc + res * res * qcO + cross;
      mu = mu + res * muO;
    }
    if (homogeneousScaling && q > 0 && (q > 1e100 || q < 1e-100)) {
      scale += Math.log(q);
      qc /= q;
      mu /= Math.sqrt(q);
      q = 1;
      prevPlain = null;
    }
    if (!Number.isFinite(q) || q > 1e280) {
      throw new SpecError(
        'depth',
        L,
        `a depth at which the forward second moment stays within float64: it overflows at block ${l} (${activationName(spec)}${res !== null ? ', residual' : ''}, σ_w² = ${sw}); lower depth or σ_w²`,
      );
    }
    fwd.push({ qIn, qcIn, sIn, ...f, qOut: q, qcOut: qc, sOut: scale });
  }

  // ---------- backward ----------
  const runBackward = (top: number) => {
    const lnDh = new Float64Array(Lc + 1);
    const lnW = new Float64Array(Lc + 1);
    let d = 1;
    let o = top;
    let logS = 0;
    for (let l = Lc; l >= 1; l--) {
      const F = fwd[l - 1];
      const dO = res === null ? d : res * res * d;
      const oO = res === null ? o : res * res * o;
      let dh: number;
      let oh: number;
      let r: number;
      const bk = F.back;
      if (bk.kind === 'yang') {
        const { M, Vh } = bk;
        const a = dO - oO;
        const b = oO;
        if (B !== null) {
          dh = (a * ((B - 1) * M.S1 - M.T1) + b * ((B - 1) * (M.S1 - M.S2) - M.T1 - (B - 1) * M.T2)) / ((B - 3) * Vh);
          oh = -dh / (B - 1);
        } else {
          const w = M.S1 - M.D1 * M.D1 - M.ND1 * M.ND1;
          dh = (M.S1 * a + w * b) / Vh;
          oh = 0;
        }
        r = -1;
      } else if (bk.kind === 'actbn') {
        const a = dO - oO;
        dh = bk.blk.tau * a;
        oh = B === null ? 0 : (-bk.blk.rhoD * a) / (B - 1);
        r = bk.blk.tau > 0 ? -bk.blk.rhoD / bk.blk.tau : 0;
      } else {
        dh = bk.S1 * dO;
        oh = bk.K0 * oO;
        r = B === null ? 0 : dh > 0 ? ((B - 1) * oh) / dh : 0;
      }
      if (!(dh > 0) || !Number.isFinite(dh)) return null;
      lnDh[l] = Math.log(dh) + logS;
      const wfac = Math.max(F.qIn + F.qcIn * r, 1e-300 * Math.max(F.qIn, 1e-300));
      lnW[l] = lnDh[l] + Math.log(fanOf(l)) + Math.log(wfac) + F.sIn;
      const dn = sw * dh + (res === null ? 0 : d);
      const on = sw * oh + (res === null ? 0 : o);
      logS += Math.log(dn);
      o = on / dn;
      d = 1;
    }
    return { lnDh, lnW };
  };
  let bw = runBackward(topCorr);
  if (!bw && topCorr > 0) {
    bw = runBackward(0);
    if (bw) notes.push('the readout loss has zero gradient here (it sums a BatchNorm output, or a φ of one with constant φ′, over the batch, which is constant); gradients are given for a per-sample-independent top gradient instead');
  }
  if (!bw) {
    throw new SpecError('activation', activationName(spec), 'an activation whose derivative is not zero almost everywhere (the predicted gradient vanishes identically)');
  }
  const { lnDh, lnW } = bw;

  // ---------- interior growth ----------
  let predictedGrowth: number;
  const geoMeanGrowth = () => {
    if (Lc < 2) return Math.exp(lnDh[1] - lnDh[2]);
    const lo = L >= 4 ? 2 : 1;
    const hi = L >= 4 ? L - 1 : Math.max(1, L - 1);
    return Math.exp((lnDh[lo] - lnDh[Math.min(hi + 1, Lc)]) / (Math.min(hi + 1, Lc) - lo));
  };
  if (res !== null) {
    predictedGrowth = geoMeanGrowth();
    notes.push(`residual: the growth per block falls with depth (power law, not exponential); predictedGrowth is the geometric mean over blocks ${L >= 4 ? `2..${L - 1}` : `1..${Math.max(1, L - 1)}`}`);
  } else if (order === 'linear-bn-act') {
    predictedGrowth = bnGradientRate(act, B, bn, { sigmaW2: sw });
  } else if (order === 'linear-act-bn') {
    predictedGrowth = stationaryActBnGrowth(act, spec);
  } else if (sl) {
    predictedGrowth = sw * ((sl.a * sl.a + sl.b * sl.b) / 2);
  } else {
    const qs = qStar(act, sw, sb);
    if (Number.isFinite(qs)) predictedGrowth = chi1(act, sw, sb, qs);
    else {
      predictedGrowth = geoMeanGrowth();
      notes.push('the q-map has no finite fixed point here; predictedGrowth is the geometric mean of the per-layer growth');
    }
  }
  if (order === 'linear-act-bn' && B !== null) notes.push('linear-act-bn: gradient rates are the large-batch leading order (derived by us); the forward statistics include the finite-B terms');
  if (order !== 'linear-act' && bn.eps > 0 && B !== null) notes.push('ε > 0 enters through γ_eff = γ√(v/(v+ε)) with v the batch variance of h (approximate at finite B)');
  if (order === 'linear-act' && B === null) notes.push('no BatchNorm and no batch size: weight gradients are per sample (B = 1 convention)');
  const lnLog = Math.log(predictedGrowth);
  const depthScale = lnLog === 0 ? Number.POSITIVE_INFINITY : 1 / lnLog;

  // ---------- records ----------
  const fields = specFields(spec);
  const out: SPRecord[] = [];
  const emit = (quantity: string, layer: number, value: number, lnScale: number) => {
    // value·e^lnScale, or its log when that is not representable in float64
    if (lnScale === 0 || value === 0) {
      out.push(record(fields, 'theory', quantity, layer, value));
      return;
    }
    const ln = Math.log(Math.abs(value)) + lnScale;
    if (representable(ln)) out.push(record(fields, 'theory', quantity, layer, Math.sign(value) * Math.exp(ln)));
    else out.push(record(fields, 'theory', `log_${quantity}`, layer, ln, value < 0 ? { tags: { sign: -1 } } : {}));
  };
  const lnTopH = lnDh[L];
  const lnTopW = lnW[L];
  for (let l = 1; l <= L; l++) {
    const F = fwd[l - 1];
    emit('preact_var', l, F.preVar, F.sIn);
    emit('postact_mean', l, F.postMean, F.sIn / 2);
    emit('postact_var', l, F.postVar, F.sIn);
    out.push(record(fields, 'theory', 'corr', l, F.qOut > 0 ? F.qcOut / F.qOut : 1));
    emit('q', l, F.qOut, F.sOut);
    if (l < L) out.push(record(fields, 'theory', 'grad_growth', l, Math.exp(lnDh[l] - lnDh[l + 1])));
    out.push(record(fields, 'theory', 'log_grad_h_sq', l, lnDh[l] - lnTopH));
    out.push(record(fields, 'theory', 'log_grad_w_sq', l, lnW[l] - lnTopW));
    out.push(record(fields, 'theory', 'cum_log_growth', l, lnDh[l] - lnTopH));
  }
  out.push(record(fields, 'theory', 'growth', null, predictedGrowth));
  if (Number.isFinite(depthScale)) out.push(record(fields, 'theory', 'depth_scale', null, depthScale));
  return { records: out, predictedGrowth, depthScale, logGrowthTotal: lnDh[1] - lnTopH, notes };
}

/**
 * Stationary per-layer growth of ‖∂L/∂h‖² for Linear → φ → BN (derived by us): the BN output state
 * (q = β² + γ²κ̄, qc = β² − γ²κ̄/(B−1)) iterated to its fixed point, then σ_w²(τ + ρ_D/(B−1)) — the
 * second term from the within-batch anticorrelation of the projected gradient (0 at B = ∞).
 */
export function stationaryActBnGrowth(act: Activation, spec: Pick<NetworkSpec, 'batch' | 'bn' | 'init'>): number {
  const B = spec.batch;
  const { gamma, beta } = spec.bn;
  const sw = spec.init.sigmaW2;
  const sb = spec.init.sigmaB2;
  let kbar = 1;
  let blk: ActBnBlock | null = null;
  for (let it = 0; it < 200; it++) {
    const g2k = gamma * gamma * kbar;
    const qx = beta * beta + g2k;
    const qcx = beta * beta - (B === null ? 0 : g2k / (B - 1));
    blk = actBnBlock(act, spec.bn, sw * qx + sb, sw * qcx + sb, B);
    const done = Math.abs(blk.kappaBar - kbar) <= 1e-15;
    kbar = blk.kappaBar;
    if (done) break;
  }
  const b = blk!;
  return sw * (b.tau + (B === null ? 0 : b.rhoD / (B - 1)));
}
