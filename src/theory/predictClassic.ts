// The historical predict path of the presets linear-bn-act, linear-act-bn and linear-act (with or without
// residual), kept bit for bit: the finite-batch BatchNorm theory is the premise of the batchnorm entry of
// the theory table (layers/batchnorm.ts), and predict (predict.ts) sends these presets here. Every other
// net goes through the table (predictTable.ts).
//
// Per-layer predictions for a network spec, as tidy records. One forward pass of the mean-field state
// (second moment q and cross-sample moment qc of each block's output, per unit) and one backward pass of
// the per-sample gradient covariance (diagonal d, off-diagonal o), both in log space where they can
// grow without bound. Definitions of every record: docs/theory.md §7.
import { type Activation, activationName, activationOf, fanIns, type NetworkSpec, SpecError, specFields } from '../network/index.js';
import { type LogFormQuantity, record, type SPRecord } from '../records/index.js';
import { actBnGradientRate } from './actBnFinite.js';
import { type ActBnBlock, actBnBlock, bnEpsLayer, bnGradientRate } from './batchnorm.js';
import { type GramDynamicsOptions, type GramDynamicsResult, gramDynamics } from './gramDynamics.js';
import { interiorLayers, noInteriorReason, studentT975 } from './interior.js';
import { gaussMoments, layerMomentsFn, pairMoments, slopesOf } from './moments.js';
import { chi1, qStar } from './meanField.js';
import { type Bsb1Stability, bsb1Stability } from './stability.js';
import { type SphereMoments, sphereMoments } from './sphere.js';

/**
 * When predict iterates the batch Gram dynamics (gramDynamics): 'auto' where the BSB1 fixed point is not
 * attracting (λ(B) there is not the rate a net follows), 'always' for every BatchNorm spec at a finite batch,
 * 'never' to report BSB1's λ(B) with its stability flag only.
 */
export const DYNAMICS_MODES = ['auto', 'always', 'never'] as const;
export type DynamicsMode = (typeof DYNAMICS_MODES)[number];

/** Monte Carlo settings predict uses for the Gram dynamics unless given (docs/theory.md §4.7). */
export const PREDICT_DYNAMICS: GramDynamicsOptions = { samples: 1024, replicas: 4, seed: 1 };

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
  /** When to iterate the batch Gram dynamics (default 'auto': where BSB1 is not attracting). */
  dynamics?: DynamicsMode;
  /** Monte Carlo settings of the dynamics (default PREDICT_DYNAMICS; progress reports each layer). */
  dynamicsOptions?: GramDynamicsOptions;
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
  /** Stability of the BSB1 fixed point (Linear → BN → φ; null for other orders and residual nets). */
  stability: Bsb1Stability | null;
  /** λ(B) at the BSB1 fixed point (Linear → BN → φ), whether or not it attracts; null otherwise. */
  bsb1Growth: number | null;
  /** The batch Gram dynamics, where they were iterated (see PredictOptions.dynamics); else null. */
  dynamics: GramDynamicsResult | null;
  /** Standard error of predictedGrowth where it is a Monte Carlo estimate (the dynamics); else 0. */
  predictedGrowthSE: number;
}

type Back = { kind: 'yang'; M: SphereMoments; Vh: number } | { kind: 'actbn'; blk: ActBnBlock } | { kind: 'plain'; S1: number; K0: number };

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

/** Predict per-layer quantities for a BN-preset or linear-act spec (see docs/theory.md §7 for the definitions). */
/** Whether BSB1's stability applies: a Linear → BN → φ net without residual blocks. */
function hasBsb1Stability(spec: NetworkSpec): boolean {
  return spec.order === 'linear-bn-act' && spec.residual === null;
}

/** Whether the batch Gram dynamics can follow this net: BatchNorm blocks, a finite batch, no residual. */
function canRunDynamics(spec: NetworkSpec): boolean {
  return spec.batch !== null && spec.residual === null && spec.order !== 'linear-act';
}

/**
 * BSB1's stability for the spec, or the reason it has no fixed point (ε so large against the batch
 * variance that the variance map has no positive fixed point).
 */
function stabilityOf(spec: NetworkSpec): Bsb1Stability | string {
  try {
    return bsb1Stability(activationOf(spec), spec.batch, spec.bn, { sigmaW2: spec.init.sigmaW2 });
  } catch (e) {
    if (!(e instanceof SpecError) || e.field !== 'bn.eps') throw e;
    return e.message;
  }
}

/**
 * Whether predict's 'auto' mode runs the Gram dynamics for this spec (where BSB1 is not attracting): asked
 * before predict runs, e.g. to estimate its memory. The same conditions predictClassic applies.
 */
export function autoRunsGramDynamics(spec: NetworkSpec): boolean {
  if (!canRunDynamics(spec) || !hasBsb1Stability(spec)) return false;
  const st = stabilityOf(spec);
  return typeof st !== 'string' && !st.attracting;
}

export function predictClassic(spec: NetworkSpec, opts: PredictOptions = {}): Prediction {
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
    throw new SpecError(
      'batch',
      B,
      'at least 4 for BatchNorm theory (Yang et al. Thm 7: the expected gradient rate involves E[1/χ²_(B−1)] = 1/(B−3), infinite for B ≤ 3), or omit it for the large-batch limit',
    );
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
    return {
      B: A.B,
      m1: mix(A.m1, C.m1),
      m2: mix(A.m2, C.m2),
      pair: mix(A.pair, C.pair),
      S1: mix(A.S1, C.S1),
      T1: mix(A.T1, C.T1),
      S2: mix(A.S2, C.S2),
      T2: mix(A.T2, C.T2),
      D1: mix(A.D1, C.D1),
      ND1: mix(A.ND1, C.ND1),
    };
  };
  if (order !== 'linear-act') {
    const m = yangMoments(bn.gamma);
    if (!(m.m2 - (B === null ? m.m1 * m.m1 : m.pair) > 1e-300)) {
      throw new SpecError(
        'activation',
        activationName(spec),
        'a non-constant activation: its output has zero batch variance, so BatchNorm divides by zero',
      );
    }
  }
  const exactEps = order === 'linear-bn-act' && bn.eps > 0 && B !== null && res === null;
  const epsMemo = new Map<string, SphereMoments>();
  const epsMoments = (Vh: number): SphereMoments => {
    const key = Vh.toPrecision(13);
    let m = epsMemo.get(key);
    if (!m) {
      const e = bnEpsLayer(act, B!, bn, Vh);
      m = { B, m1: e.m1, m2: e.m2, pair: e.pair, S1: e.S1, T1: e.T1, S2: e.S2, T2: e.T2, D1: Number.NaN, ND1: Number.NaN };
      epsMemo.set(key, m);
    }
    return m;
  };
  const plainMoments = layerMomentsFn(act, L); // the Mehler series past 16 blocks (moments.ts)
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
      // ε > 0 at a finite batch: each unit's batch variance is Vh·χ²_(B−1)/B, averaged exactly (bnEpsLayer);
      // residual streams keep the self-averaging γ_eff (their Vh changes at every block)
      const M = exactEps ? epsMoments(Vh) : res === null || kappa === 1 || g <= 0 ? yangMoments(g) : yangInterp(g);
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
      const { gm, pm } = plainMoments(qh, ch);
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

  // ---------- Linear → φ → BN at a finite batch: the exact GIA rate at its fixed point ----------
  // (a Monte Carlo, actBnFinite.ts); the per-layer blocks past the first, which sit at that fixed point, are
  // scaled from the large-batch block to it.
  let actBnExact: { rate: number; se: number } | null = null;
  let actBnScale = 1;
  if (order === 'linear-act-bn' && B !== null && res === null) {
    actBnExact = cachedActBnRate(act, B, bn, sw, sb);
    const lead = stationaryActBnGrowth(act, spec);
    if (lead > 0 && Number.isFinite(lead)) actBnScale = actBnExact.rate / lead;
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
        const sc = l >= 2 ? actBnScale : 1;
        dh = sc * bk.blk.tau * a;
        oh = B === null ? 0 : (-sc * bk.blk.rhoD * a) / (B - 1);
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
    if (bw)
      notes.push(
        'the readout loss has zero gradient here (it sums a BatchNorm output, or a φ of one with constant φ′, over the batch, which is constant); gradients are given for a per-sample-independent top gradient instead',
      );
  }
  if (!bw) {
    throw new SpecError(
      'activation',
      activationName(spec),
      'an activation whose derivative is not zero almost everywhere (the predicted gradient vanishes identically)',
    );
  }
  const { lnDh, lnW } = bw;

  // ---------- interior growth ----------
  let predictedGrowth: number;
  let collapsed = false;
  const geoMeanGrowth = () => {
    // the window of the measurement (interiorLayers), so that both average the same layers
    const [lo, hi] = interiorLayers(L);
    if (hi < lo || Lc < 2) return Number.NaN;
    const top = Math.min(hi + 1, Lc);
    return Math.exp((lnDh[lo] - lnDh[top]) / (top - lo));
  };
  if (res !== null) {
    predictedGrowth = geoMeanGrowth();
    notes.push(
      `residual: the growth per block falls with depth (power law, not exponential); predictedGrowth is the geometric mean over blocks ${interiorLayers(L).join('..')}${noInteriorReason(L) ? ` (none: ${noInteriorReason(L)})` : ''}`,
    );
  } else if (order === 'linear-bn-act') {
    try {
      predictedGrowth = bnGradientRate(act, B, bn, { sigmaW2: sw });
    } catch (e) {
      // ε so large against the batch variance that no fixed point with a positive variance exists: the
      // per-layer recursion still holds, and its geometric mean is all there is to report
      if (!(e instanceof SpecError) || (e.field !== 'eps' && e.field !== 'bn.eps')) throw e;
      collapsed = true;
      predictedGrowth = geoMeanGrowth();
      notes.push(
        `no BSB1 fixed point with a positive batch variance (ε = ${bn.eps} against σ_w² = ${sw} at B = ${B}: the variance decays layer after layer); predictedGrowth is the geometric mean of the per-layer growth`,
      );
    }
  } else if (order === 'linear-act-bn') {
    predictedGrowth = actBnExact ? actBnExact.rate : stationaryActBnGrowth(act, spec);
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
  if (actBnExact) {
    notes.push(
      `linear-act-bn: the growth is the exact gradient-independence rate at the fixed point at B = ${B} (Monte Carlo, ± ${actBnExact.se.toPrecision(2)}; derived by us); per-layer rates past block 1 are the large-batch blocks scaled to it by ${actBnScale.toFixed(4)}`,
    );
  } else if (order === 'linear-act-bn' && B !== null)
    notes.push(
      'linear-act-bn with residual blocks: gradient rates are the large-batch leading order (derived by us); the forward statistics include the finite-B terms',
    );
  if (exactEps)
    notes.push(
      "ε > 0: each unit's batch variance is χ²-distributed at the fixed point and ε enters unit by unit (exact under mean field and gradient independence; docs/theory.md §4.4)",
    );
  else if (order === 'linear-bn-act' && bn.eps > 0 && B !== null)
    notes.push(
      'ε > 0 enters through γ_eff = γ√(v/(v+ε)) with v the batch variance of h, treated as self-averaging (approximate at finite B for residual streams)',
    );
  if (order === 'linear-act' && B === null)
    notes.push('no BatchNorm and no batch size: weight gradients are per sample (B = 1 convention)');

  // ---------- is BSB1 attracting? where not, follow the batch Gram ----------
  let stability: Bsb1Stability | null = null;
  let bsb1Growth: number | null = null;
  if (hasBsb1Stability(spec) && !collapsed) {
    bsb1Growth = predictedGrowth;
    const st = stabilityOf(spec);
    if (typeof st === 'string') notes.push(`no BSB1 fixed point: ${st}`);
    else stability = st;
  }
  if (stability) {
    const ev = `λ_L = ${stability.lambdaL.toFixed(4)}, λ_M = ${stability.lambdaM.toFixed(4)}`;
    if (!stability.attracting)
      notes.push(
        `the BSB1 fixed point is not attracting (${ev}; an eigenvalue above 1): the batch leaves it with depth, and λ(B) = ${predictedGrowth.toFixed(5)} there is not the rate the net follows`,
      );
    else if (stability.marginal)
      notes.push(`the BSB1 fixed point is marginally stable (${ev}): perturbations along the larger direction decay slowly`);
  }
  const mode = opts.dynamics ?? 'auto';
  if (!(DYNAMICS_MODES as readonly string[]).includes(mode)) throw new SpecError('dynamics', mode, DYNAMICS_MODES.join(' | '));
  const canDynamics = canRunDynamics(spec);
  if (mode === 'always' && !canDynamics) {
    notes.push(
      `no Gram dynamics for this spec (${B === null ? 'no finite batch' : res !== null ? 'residual blocks' : 'no BatchNorm'}): they follow the batch Gram of a BatchNorm block at a finite batch`,
    );
  }
  let dynamics: GramDynamicsResult | null = null;
  let predictedGrowthSE = actBnExact ? actBnExact.se : 0;
  let lnDhUse = lnDh;
  let lnWUse = lnW;
  if (canDynamics && (mode === 'always' || (mode === 'auto' && stability !== null && !stability.attracting))) {
    const dopts = { ...PREDICT_DYNAMICS, inputCorr, ...opts.dynamicsOptions, layers: L };
    dynamics = gramDynamics(spec, dopts);
    const rates = dynamics.layers.map((x) => x.rate);
    // carry a missing rate (rateEvery > 1) from the layer above, where there is one
    for (let l = L - 1; l >= 1; l--) if (!Number.isFinite(rates[l])) rates[l] = Number.isFinite(rates[l + 1]) ? rates[l + 1] : Number.NaN;
    if (rates.slice(1, L).every((r) => r > 0 && Number.isFinite(r))) {
      lnDhUse = new Float64Array(Lc + 1);
      lnWUse = new Float64Array(Lc + 1);
      lnDhUse[L] = lnDh[L];
      for (let l = L - 1; l >= 1; l--) lnDhUse[l] = lnDhUse[l + 1] + Math.log(rates[l]);
      for (let l = 1; l <= L; l++) lnWUse[l] = lnW[l] - lnDh[l] + lnDhUse[l];
      const [a, b] = interiorLayers(L);
      const perRep = dynamics.perReplica.map((p) => {
        let s = 0;
        let n = 0;
        for (let l = a; l <= b; l++) {
          const r = Number.isFinite(p.rate[l]) ? p.rate[l] : rates[l];
          s += Math.log(r);
          n++;
        }
        return Math.exp(s / n);
      });
      const mean = perRep.reduce((x, y) => x + y, 0) / perRep.length;
      const sd = perRep.length > 1 ? Math.sqrt(perRep.reduce((x, y) => x + (y - mean) ** 2, 0) / (perRep.length - 1)) : Number.NaN;
      predictedGrowth = mean;
      predictedGrowthSE = sd / Math.sqrt(perRep.length);
      const at = dynamics.attractor;
      notes.push(
        `gradient growth from the batch Gram dynamics (infinite width by Monte Carlo: ${dynamics.samples} samples per layer, ${dynamics.replicas} replicas, gradient independence): ${mean.toFixed(4)} ± ${predictedGrowthSE.toFixed(4)} over layers ${a}..${b}; ` +
          `the state it flows to is ${at.state === 'broken' ? 'symmetry-broken' : 'BSB1'}${at.settled ? '' : ' (not settled by the last layer)'}, with rate ${at.rate.toFixed(4)} ± ${at.rateSE.toFixed(4)} over layers ${at.from}..${at.to}`,
      );
    } else {
      notes.push('the Gram dynamics gave no finite rate at some layer; the per-layer gradients are those of the BSB1 recursion');
    }
  }
  // a net this shallow has no interior: the stationary rate is a prediction no measurement can check
  const shallow = noInteriorReason(L);
  if (shallow && res === null)
    notes.push(
      `${shallow}: predictedGrowth is the stationary rate, but a sampled or trained net of this depth has no measured growth to compare it with`,
    );
  const lnLog = Math.log(predictedGrowth);
  const depthScale = lnLog === 0 ? Number.POSITIVE_INFINITY : 1 / lnLog;

  // ---------- records ----------
  const fields = specFields(spec);
  const out: SPRecord[] = [];
  const emit = (quantity: LogFormQuantity, layer: number, value: number, lnScale: number) => {
    // value·e^lnScale, or its log when that is not representable in float64
    if (lnScale === 0 || value === 0) {
      out.push(record(fields, 'theory', quantity, layer, value));
      return;
    }
    const ln = Math.log(Math.abs(value)) + lnScale;
    if (representable(ln)) out.push(record(fields, 'theory', quantity, layer, Math.sign(value) * Math.exp(ln)));
    else out.push(record(fields, 'theory', `log_${quantity}`, layer, ln, value < 0 ? { tags: { sign: -1 } } : {}));
  };
  const lnTopH = lnDhUse[L];
  const lnTopW = lnWUse[L];
  const dynTags = dynamics ? { tags: { method: 'gram-dynamics', samples: dynamics.samples } } : {};
  // a Monte Carlo mean over the replicas: sd, n and the Student-t 95% interval
  const mc = (mean: number, se: number, extra: Record<string, unknown> = {}) => {
    const R = dynamics!.replicas;
    const half = R > 1 && Number.isFinite(se) ? studentT975(R - 1) * se : 0;
    return {
      sd: R > 1 ? se * Math.sqrt(R) : 0,
      n: R,
      lo: mean - half,
      hi: mean + half,
      tags: { method: 'gram-dynamics', samples: dynamics!.samples },
      ...extra,
    };
  };
  for (let l = 1; l <= L; l++) {
    const F = fwd[l - 1];
    emit('preact_var', l, F.preVar, F.sIn);
    emit('postact_mean', l, F.postMean, F.sIn / 2);
    emit('postact_var', l, F.postVar, F.sIn);
    if (dynamics) {
      const D = dynamics.layers[l];
      out.push(record(fields, 'theory', 'corr', l, D.corr, mc(D.corr, D.se.corr)));
      for (const [q, k] of GRAM_RECORDS) out.push(record(fields, 'theory', q, l, D[k], mc(D[k], D.se[k])));
    } else out.push(record(fields, 'theory', 'corr', l, F.qOut > 0 ? F.qcOut / F.qOut : 1));
    emit('q', l, F.qOut, F.sOut);
    if (l < L) {
      const D = dynamics?.layers[l];
      const g = Math.exp(lnDhUse[l] - lnDhUse[l + 1]);
      out.push(record(fields, 'theory', 'grad_growth', l, g, D && Number.isFinite(D.rate) ? mc(D.rate, D.rateSE) : {}));
    }
    out.push(record(fields, 'theory', 'log_grad_h_sq', l, lnDhUse[l] - lnTopH, dynTags));
    out.push(record(fields, 'theory', 'log_grad_w_sq', l, lnWUse[l] - lnTopW, dynTags));
    out.push(record(fields, 'theory', 'cum_log_growth', l, lnDhUse[l] - lnTopH, dynTags));
  }
  // no growth record where there is no interior window to average (a residual net shallower than 3 blocks): NaN is no record
  if (Number.isFinite(predictedGrowth))
    out.push(record(fields, 'theory', 'growth', null, predictedGrowth, dynamics ? mc(predictedGrowth, predictedGrowthSE) : {}));
  if (Number.isFinite(depthScale)) out.push(record(fields, 'theory', 'depth_scale', null, depthScale, dynTags));
  if (stability) {
    const st = { tags: { attracting: stability.attracting, marginal: stability.marginal } };
    out.push(record(fields, 'theory', 'bsb1_lambda_l', null, stability.lambdaL, st));
    out.push(record(fields, 'theory', 'bsb1_lambda_m', null, stability.lambdaM, st));
  }
  if (bsb1Growth !== null)
    out.push(record(fields, 'theory', 'growth_bsb1', null, bsb1Growth, stability ? { tags: { attracting: stability.attracting } } : {}));
  if (dynamics) {
    const at = dynamics.attractor;
    out.push(
      record(
        fields,
        'theory',
        'growth_attractor',
        null,
        at.rate,
        mc(at.rate, at.rateSE, {
          tags: { method: 'gram-dynamics', samples: dynamics.samples, state: at.state, settled: at.settled, from: at.from, to: at.to },
        }),
      ),
    );
  }
  return {
    records: out,
    predictedGrowth,
    predictedGrowthSE,
    depthScale,
    logGrowthTotal: lnDhUse[1] - lnTopH,
    notes,
    stability,
    bsb1Growth,
    dynamics,
  };
}

/** Per-layer diagnostics of the batch Gram emitted as records (theory dynamics and sampled nets alike). */
export const GRAM_RECORDS = [
  ['norm_spread', 'normSpread'],
  ['distinct', 'distinct'],
  ['eff_rank', 'effRank'],
  ['gram_dev_l', 'devL'],
  ['gram_dev_m', 'devM'],
] as const satisfies readonly (readonly [string, keyof import('./gramDynamics.js').GramDiagnostics])[];

const actBnCache = new Map<string, { rate: number; se: number }>();
/** actBnGradientRate memoised by its arguments (a seeded Monte Carlo: the same arguments give the same bits). */
function cachedActBnRate(
  act: Activation,
  B: number,
  bn: NetworkSpec['bn'],
  sigmaW2: number,
  sigmaB2: number,
): { rate: number; se: number } {
  const key = `${act.name}|${B}|${bn.gamma}|${bn.beta}|${bn.eps}|${sigmaW2}|${sigmaB2}`;
  let r = actBnCache.get(key);
  if (!r) {
    const x = actBnGradientRate(act, B, bn, { sigmaW2, sigmaB2 });
    r = { rate: x.rate, se: x.se };
    if (actBnCache.size > 1000) actBnCache.clear();
    actBnCache.set(key, r);
  }
  return r;
}

/**
 * Large-batch leading order of the stationary per-layer growth of ‖∂L/∂h‖² for Linear → φ → BN (derived by us): the BN output state
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
