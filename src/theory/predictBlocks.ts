// predict over the block segments (layers/blocks.ts): a net of identical Linear → BN → φ, Linear → φ → BN or
// Linear → φ blocks, with or without the residual wrapper (the presets linear-bn-act, linear-act-bn and
// linear-act, or the same blocks written as a layer list). One forward pass of the mean-field state (second
// moment q and cross-sample moment qc of each block's output, per unit) and one backward pass of the
// per-sample gradient covariance (diagonal d, off-diagonal o), both in log space where they can grow without
// bound; the segment's entry does what its block does past its dense layer, the dense and residual entries'
// maps (denseMoments, residualMoments) the dense layer and the wrapper's stream, and this driver the rest
// (the stationary rate, BSB1's stability, the Gram dynamics, the records). Definitions: docs/theory.md §7.
import { activationName, fanIns, layersOf, type NetworkSpec, SpecError, specFields } from '../network/index.js';
import { type LogFormQuantity, record, type SPRecord } from '../records/index.js';
import { type GramDynamicsResult, gramDynamics } from './gramDynamics.js';
import { interiorLayers, noInteriorReason, studentT975 } from './interior.js';
import { type BlockOut, type BlockParams, type RecognisedBlocks, recogniseBlocks } from './layers/blocks.js';
import { denseMoments } from './layers/dense.js';
import { residualMoments } from './layers/residual.js';
import { DYNAMICS_MODES, GRAM_RECORDS, PREDICT_DYNAMICS, type Prediction, type PredictOptions } from './predictTypes.js';
import { type Bsb1Stability, bsb1Stability } from './stability.js';

type BlockRecords = Omit<BlockOut, 'muO' | 'qO' | 'qcO'>;

interface Fwd extends BlockRecords {
  /** stream entering the block: second moment, cross moment, log scale */
  qIn: number;
  qcIn: number;
  sIn: number;
  qOut: number;
  qcOut: number;
  sOut: number;
}

const LOG_BIG = 690;

function representable(lnAbs: number): boolean {
  return lnAbs < LOG_BIG && lnAbs > -LOG_BIG;
}

function paramsOf(spec: NetworkSpec, rec: RecognisedBlocks): BlockParams {
  const { actLayer: _, ...p } = rec.params;
  return { ...p, B: spec.batch, L: spec.depth, actName: activationName(spec) };
}

/** Whether BSB1's stability applies: Linear → BN → φ blocks without the residual wrapper. */
function hasBsb1Stability(rec: RecognisedBlocks): boolean {
  return rec.segment.bsb1 && rec.params.res === null;
}

/** Whether the batch Gram dynamics can follow this net: BatchNorm blocks, a finite batch, no residual. */
function canRunDynamics(spec: NetworkSpec, rec: RecognisedBlocks): boolean {
  return spec.batch !== null && rec.params.res === null && rec.segment.gram !== null;
}

/**
 * BSB1's stability for the net, or the reason it has no fixed point (ε so large against the batch
 * variance that the variance map has no positive fixed point).
 */
function stabilityOf(spec: NetworkSpec, rec: RecognisedBlocks): Bsb1Stability | string {
  try {
    return bsb1Stability(rec.params.act, spec.batch, rec.params.bn, { sigmaW2: rec.params.sw });
  } catch (e) {
    if (!(e instanceof SpecError) || e.field !== 'bn.eps') throw e;
    return e.message;
  }
}

/**
 * Whether predict's 'auto' mode runs the Gram dynamics for this spec (where BSB1 is not attracting): asked
 * before predict runs, e.g. to estimate its memory. The same conditions predict applies.
 */
export function autoRunsGramDynamics(spec: NetworkSpec): boolean {
  if (spec.image) return false;
  const rec = recogniseBlocks(layersOf(spec), spec.bn);
  if (!rec || !canRunDynamics(spec, rec) || !hasBsb1Stability(rec)) return false;
  const st = stabilityOf(spec, rec);
  return typeof st !== 'string' && !st.attracting;
}

export function predictBlocks(spec: NetworkSpec, rec: RecognisedBlocks, opts: PredictOptions = {}): Prediction {
  const seg = rec.segment;
  const p = paramsOf(spec, rec);
  const { B, sw, sb, res } = p;
  const inputVar = opts.inputVar ?? 1;
  const inputCorr = opts.inputCorr ?? 0;
  if (!(inputVar > 0 && Number.isFinite(inputVar))) throw new SpecError('inputVar', inputVar, 'a finite number > 0');
  if (!(inputCorr >= 0 && inputCorr < 1)) throw new SpecError('inputCorr', inputCorr, 'a number in [0, 1)');
  const topCorr = opts.topGradientCorr ?? 1;
  if (!(topCorr >= 0 && topCorr <= 1)) throw new SpecError('topGradientCorr', topCorr, 'a number in [0, 1]');
  seg.check(p);
  const notes: string[] = [];
  const L = spec.depth;
  const Lc = Math.max(L, 2);
  const fan = fanIns(spec);
  const fanOf = (l: number) => fan[Math.min(l, L) - 1];
  const homogeneousScaling = seg.homogeneous(p);

  // ---------- forward ----------
  const run = seg.start(p);
  let mu = 0;
  let q = inputVar;
  let qc = inputVar * inputCorr;
  let scale = 0;
  let prevCh = inputCorr;
  const fwd: Fwd[] = [];
  for (let l = 1; l <= Lc; l++) {
    const sbScaled = scale === 0 || sb === 0 ? sb : scale > LOG_BIG ? 0 : sb * Math.exp(-scale);
    const { qh, qch } = denseMoments(sw, sbScaled, q, qc);
    const Vh = Math.max(0, qh - qch);
    const ch = qh > 1e-300 ? Math.max(-1, Math.min(1, qch / qh)) : prevCh;
    prevCh = ch;
    const { muO, qO, qcO, ...f } = run.block(qh, qch, Vh, ch);
    const sIn = scale;
    const qIn = q;
    const qcIn = qc;
    if (res === null) {
      mu = muO;
      q = qO;
      qc = qcO;
    } else ({ mu, q, qc } = residualMoments({ mu, q, qc }, { mu: muO, q: qO, qc: qcO }, res));
    if (homogeneousScaling && q > 0 && (q > 1e100 || q < 1e-100)) {
      scale += Math.log(q);
      qc /= q;
      mu /= Math.sqrt(q);
      q = 1;
      run.rescaled();
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
  run.settle();

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
      const { dh, oh, r } = F.back(dO, oO, l);
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
  } else ({ growth: predictedGrowth, collapsed } = run.growth(geoMeanGrowth, notes));
  run.notes(notes);

  // ---------- is BSB1 attracting? where not, follow the batch Gram ----------
  let stability: Bsb1Stability | null = null;
  let bsb1Growth: number | null = null;
  if (hasBsb1Stability(rec) && !collapsed) {
    bsb1Growth = predictedGrowth;
    const st = stabilityOf(spec, rec);
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
  const canDynamics = canRunDynamics(spec, rec);
  if (mode === 'always' && !canDynamics) {
    notes.push(
      `no Gram dynamics for this spec (${B === null ? 'no finite batch' : res !== null ? 'residual blocks' : 'no BatchNorm'}): they follow the batch Gram of a BatchNorm block at a finite batch`,
    );
  }
  let dynamics: GramDynamicsResult | null = null;
  let predictedGrowthSE = run.growthSE();
  let lnDhUse = lnDh;
  let lnWUse = lnW;
  if (canDynamics && (mode === 'always' || (mode === 'auto' && stability !== null && !stability.attracting))) {
    const dopts = { ...PREDICT_DYNAMICS, inputCorr, ...opts.dynamicsOptions, layers: L };
    dynamics = gramDynamics({ ...spec, order: rec.segment.gram! }, dopts);
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
