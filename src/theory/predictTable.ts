// predict over the theory table (layers/). A list of identical blocks that a block segment recognises
// (layers/blocks.ts: Linear → BN → φ, Linear → φ → BN, Linear → φ, each with or without the residual
// wrapper: the presets linear-bn-act, linear-act-bn, linear-act, or the same blocks as a layer list) runs on
// that segment (predictBlocks.ts); every other list (the LayerNorm and RMSNorm presets, pre-/post-LN
// residual blocks, custom lists of dense, act, layernorm, rmsnorm and residual) layer by layer through the
// per-kind entries: one forward pass of the infinite-width law block by block, one backward pass of the
// per-sample squared gradient (diagonal d and cross-sample o) in log space. A batchnorm outside those
// blocks is refused (layers/batchnorm.ts). Derivations: docs/derivations.md §17; docs/theory.md §7, §9.
import {
  activationName,
  blocksOf,
  denseLayers,
  fanIns,
  kindsOf,
  layersOf,
  type NetworkSpec,
  SpecError,
  specFields,
} from '../network/index.js';
import { type LogFormQuantity, record, type SPRecord } from '../records/index.js';
import { interiorLayers, noInteriorReason } from './interior.js';
import { BN_PREMISE } from './layers/batchnorm.js';
import { recogniseBlocks, sameBlock } from './layers/blocks.js';
import { type BlockRun, type Law, momentsOf, normProjectionNote, runBlock, THEORY_LAYERS } from './layers/index.js';
import { predictBlocks } from './predictBlocks.js';
import { DYNAMICS_MODES, type Prediction, type PredictOptions } from './predictTypes.js';

const LOG_BIG = 690;

/** ln of the growth d_l/d_{l+1} contributed at a block boundary: the stationary per-block factor. */
function stationaryFactor(b: BlockRun): number {
  const s = b.seg;
  const sw = s.dense.sigmaW2;
  if (b.residual === null) return sw * s.pre.d * s.post.d;
  return b.trailing.d * (1 + b.residual * b.residual * sw * s.pre.d * s.post.d);
}

/** Predict per-layer records of a spec through the theory table. */
export function predictTable(spec: NetworkSpec, opts: PredictOptions = {}): Prediction {
  const rec = recogniseBlocks(layersOf(spec), spec.bn);
  if (rec) return predictBlocks(spec, rec, opts);
  if (kindsOf(layersOf(spec)).has('batchnorm')) throw new SpecError('layers', 'batchnorm', BN_PREMISE);
  return predictLayers(spec, opts);
}

/**
 * Predict layer by layer through the per-kind entries, without recognising block segments (predictTable's
 * path for every list that is not a net of identical segment blocks; the tests run a plain dense → act list
 * here too, as a second implementation of the dense-act segment).
 */
export function predictLayers(spec: NetworkSpec, opts: PredictOptions = {}): Prediction {
  const inputVar = opts.inputVar ?? 1;
  const inputCorr = opts.inputCorr ?? 0;
  if (!(inputVar > 0 && Number.isFinite(inputVar))) throw new SpecError('inputVar', inputVar, 'a finite number > 0');
  if (!(inputCorr >= 0 && inputCorr < 1)) throw new SpecError('inputCorr', inputCorr, 'a number in [0, 1)');
  const topCorr = opts.topGradientCorr ?? 1;
  if (!(topCorr >= 0 && topCorr <= 1)) throw new SpecError('topGradientCorr', topCorr, 'a number in [0, 1]');
  const mode = opts.dynamics ?? 'auto';
  if (!(DYNAMICS_MODES as readonly string[]).includes(mode)) throw new SpecError('dynamics', mode, DYNAMICS_MODES.join(' | '));
  const layers = layersOf(spec);
  const kinds = kindsOf(layers);
  const blocks = blocksOf(layers);
  const L = blocks.length;
  const B = spec.batch;
  const fB = B === null ? 1 : (B - 1) / B;
  const fan = fanIns(spec);
  const widthOf = denseLayers(layers).map((d) => d.width);
  const notes: string[] = [];

  // ---------- forward ----------
  let law: Law = { kind: 'moments', mu: 0, q: inputVar, qc: inputVar * inputCorr };
  const runs: BlockRun[] = [];
  for (let l = 1; l <= L; l++) {
    const blk = blocks[l - 1];
    const r = runBlock(blk, law, { width: widthOf[l - 1], batch: B });
    law = r.law;
    const q = r.law.kind === 'moments' ? r.law.q : Number.NaN;
    if ((Number.isFinite(q) && q > 1e280) || !Number.isFinite(r.seg.qh) || r.seg.qh > 1e280) {
      throw new SpecError(
        'depth',
        L,
        `a depth at which the forward second moment stays within float64: it overflows at block ${l} (${activationName(spec)}, σ_w² = ${r.seg.dense.sigmaW2}); lower depth or σ_w²`,
      );
    }
    runs.push(r);
  }
  const outMoments = runs.map((r) => {
    const x = r.law;
    if (x.kind === 'moments') return { q: x.q, qc: x.qc };
    const m = momentsOf(x);
    return { q: m.q, qc: m.qc };
  });

  // ---------- backward ----------
  const runBackward = (top: number) => {
    const lnDh = new Float64Array(L + 1);
    const lnW = new Float64Array(L + 1);
    let d = 1;
    let o = top;
    let logS = 0;
    for (let l = L; l >= 1; l--) {
      const R = runs[l - 1];
      const s = R.seg;
      const sw = s.dense.sigmaW2;
      let dh: number;
      let oh: number;
      let dn: number;
      let on: number;
      if (R.residual === null) {
        dh = s.post.d * d;
        oh = s.post.o * o;
        dn = sw * s.pre.d * dh;
        on = sw * s.pre.o * oh;
      } else {
        const a2 = R.residual * R.residual;
        const dr = R.trailing.d * d;
        const or = R.trailing.o * o;
        dh = a2 * s.post.d * dr;
        oh = a2 * s.post.o * or;
        dn = dr + sw * s.pre.d * dh;
        on = or + sw * s.pre.o * oh;
      }
      if (!(dh > 0) || !Number.isFinite(dh)) return null;
      const r = B === null ? 0 : ((B - 1) * oh) / dh;
      lnDh[l] = Math.log(dh) + logS;
      const x = s.denseIn;
      lnW[l] = lnDh[l] + Math.log(fan[l - 1]) + Math.log(Math.max(x.q + x.qc * r, 1e-300 * Math.max(x.q, 1e-300)));
      logS += Math.log(dn);
      o = on / dn;
      d = 1;
    }
    return { lnDh, lnW };
  };
  const bw = runBackward(topCorr) ?? runBackward(0);
  if (!bw)
    throw new SpecError(
      'activation',
      activationName(spec),
      'an activation whose derivative is not zero almost everywhere (the predicted gradient vanishes identically)',
    );
  const { lnDh, lnW } = bw;

  // ---------- interior growth ----------
  const [lo, hi] = interiorLayers(L);
  const geoMean = () => {
    if (hi < lo || L < 2) return Number.NaN;
    const top = Math.min(hi + 1, L);
    return Math.exp((lnDh[lo] - lnDh[top]) / (top - lo));
  };
  let predictedGrowth: number;
  const uniform = blocks.every((b) => sameBlock(b, blocks[L - 1]));
  if (kinds.has('residual')) {
    predictedGrowth = geoMean();
    notes.push(
      `residual: the growth per block falls with depth (power law, not exponential); predictedGrowth is the geometric mean over blocks ${interiorLayers(L).join('..')}${noInteriorReason(L) ? ` (none: ${noInteriorReason(L)})` : ''}`,
    );
  } else if (uniform) {
    // identical blocks: iterate the block map to its fixed point and take the factor there
    let x = law;
    let g = stationaryFactor(runs[L - 1]);
    let done = false;
    for (let it = 0; it < 1000 && !done; it++) {
      const r = runBlock(blocks[L - 1], x, { width: widthOf[L - 1], batch: B });
      const g2 = stationaryFactor(r);
      const qh = r.seg.qh;
      if (!(qh > 1e-280 && qh < 1e280) || !Number.isFinite(g2)) break;
      done = Math.abs(g2 - g) <= 1e-14 * Math.abs(g);
      g = g2;
      x = r.law;
    }
    if (done) predictedGrowth = g;
    else {
      predictedGrowth = geoMean();
      notes.push('the block map has no finite fixed point reached here; predictedGrowth is the geometric mean of the per-layer growth');
    }
  } else {
    predictedGrowth = geoMean();
    notes.push(`blocks differ: predictedGrowth is the geometric mean of the per-layer growth over blocks ${lo}..${hi}`);
  }
  notes.push(
    'infinite-width theory, per sample: a LayerNorm/RMSNorm or plain net has no batch coupling, so B enters only the batch-variance and weight-gradient records',
  );
  for (const k of kinds) notes.push(THEORY_LAYERS[k].exactness);
  const pn = normProjectionNote(spec, layers);
  if (pn) notes.push(pn);
  if (mode === 'always')
    notes.push('no Gram dynamics for this spec (no BatchNorm): they follow the batch Gram of a BatchNorm block at a finite batch');
  if (B === null && !kinds.has('batchnorm'))
    notes.push('no BatchNorm and no batch size: weight gradients are per sample (B = 1 convention)');
  const shallow = noInteriorReason(L);
  if (shallow && !kinds.has('residual'))
    notes.push(
      `${shallow}: predictedGrowth is the stationary rate, but a sampled or trained net of this depth has no measured growth to compare it with`,
    );
  const lnLog = Math.log(predictedGrowth);
  const depthScale = lnLog === 0 ? Number.POSITIVE_INFINITY : 1 / lnLog;

  // ---------- records ----------
  const fields = specFields(spec);
  const out: SPRecord[] = [];
  const emit = (quantity: LogFormQuantity, layer: number, value: number) => {
    if (Number.isFinite(value) && Math.abs(value) < Math.exp(LOG_BIG)) out.push(record(fields, 'theory', quantity, layer, value));
    else out.push(record(fields, 'theory', `log_${quantity}`, layer, Math.log(Math.abs(value)), value < 0 ? { tags: { sign: -1 } } : {}));
  };
  const lnTopH = lnDh[L];
  const lnTopW = lnW[L];
  for (let l = 1; l <= L; l++) {
    const R = runs[l - 1];
    const s = R.seg;
    const m = outMoments[l - 1];
    emit('preact_var', l, fB * Math.max(0, s.qh - s.qh * s.ch));
    emit('postact_mean', l, s.actOut.mu);
    emit('postact_var', l, fB * Math.max(0, s.actOut.q - s.actOut.qc));
    out.push(record(fields, 'theory', 'corr', l, m.q > 0 ? m.qc / m.q : 1));
    emit('q', l, m.q);
    if (l < L) out.push(record(fields, 'theory', 'grad_growth', l, Math.exp(lnDh[l] - lnDh[l + 1])));
    out.push(record(fields, 'theory', 'log_grad_h_sq', l, lnDh[l] - lnTopH));
    out.push(record(fields, 'theory', 'log_grad_w_sq', l, lnW[l] - lnTopW));
    out.push(record(fields, 'theory', 'cum_log_growth', l, lnDh[l] - lnTopH));
  }
  if (Number.isFinite(predictedGrowth)) out.push(record(fields, 'theory', 'growth', null, predictedGrowth));
  if (Number.isFinite(depthScale)) out.push(record(fields, 'theory', 'depth_scale', null, depthScale));
  return {
    records: out,
    predictedGrowth,
    predictedGrowthSE: 0,
    depthScale,
    logGrowthTotal: lnDh[1] - lnTopH,
    notes,
    stability: null,
    bsb1Growth: null,
    dynamics: null,
  };
}
