// Block segments: theory that belongs to a whole block rather than to its layers one by one. BatchNorm
// couples the samples of a batch, so its finite-batch mean field (λ(B), BSB1 stability, the Gram dynamics,
// the sphere moments: ../batchnorm.ts, ../sphere.ts, ../stability.ts, ../gramDynamics.ts, ../actBnFinite.ts)
// is a property of Linear → BN → φ and Linear → φ → BN, not of a batchnorm entry alone; and a net of
// identical Linear → φ blocks has the classic q-map with its fixed-point rate χ₁. The table recognises
// these blocks from the layer list (blockSegmentOf: the kinds of a block, inside a residual wrapper or
// not, against each entry's pattern) and runs them with the entry's arithmetic (../predictBlocks.ts);
// a batchnorm anywhere else is refused (batchnorm.ts). Definitions: docs/theory.md §3–§7.
import {
  type Activation,
  activationOfLayer,
  type BnSpec,
  blocksOf,
  type Layer,
  type LayerKind,
  layersToJSON,
  SpecError,
} from '../../network/index.js';
import { actBnGradientRate } from '../actBnFinite.js';
import { type ActBnBlock, actBnBlock, bnEpsLayer, bnGradientRate, stationaryActBnGrowth } from '../batchnorm.js';
import type { GramOrder } from '../gramDynamics.js';
import { chi1, qStar } from '../meanField.js';
import { gaussMoments, layerMomentsFn, pairMoments, slopesOf } from '../moments.js';
import { type SphereMoments, sphereMoments } from '../sphere.js';

/** The parameters of a net of identical blocks of one segment (read from its first block). */
export interface BlockParams {
  act: Activation;
  /** Batch size, or null (the large-batch limit). */
  B: number | null;
  /** The block's norm (γ, β, ε); the spec's bn for a block without one (unused there). */
  bn: BnSpec;
  sw: number;
  sb: number;
  /** The residual wrapper's scale, or null. */
  res: number | null;
  /** Number of blocks. */
  L: number;
  /** For messages: the activation's name. */
  actName: string;
}

/** One block backward: ‖∂L/∂h‖² (dh), its cross-sample part (oh) and the ratio r the weight gradient uses. */
export interface BackStep {
  dh: number;
  oh: number;
  r: number;
}

/** One block forward, from its dense output (qh, qch) to its output moments and per-layer records. */
export interface BlockOut {
  muO: number;
  qO: number;
  qcO: number;
  preVar: number;
  postMean: number;
  postVar: number;
  /** The block backward, from the gradient at its output (dO, oO, wrapper's α² already applied). */
  back: (dO: number, oO: number, l: number) => BackStep;
}

/** A segment's forward and backward over one net (memos live here). */
export interface SegmentRun {
  /** Block l forward at the dense output: qh, qch, Vh = max(0, qh − qch), ch = qch/qh clamped. */
  block(qh: number, qch: number, Vh: number, ch: number): BlockOut;
  /** After the forward pass (Linear → φ → BN: the exact finite-batch rate at its fixed point). */
  settle(): void;
  /** The driver rescaled a homogeneous stream: forget a reused fixed point. */
  rescaled(): void;
  /** The stationary per-layer growth of a net of these blocks without residual (geoMean: the fallback). */
  growth(geoMean: () => number, notes: string[]): { growth: number; collapsed: boolean };
  /** Notes after the growth: what is exact at this batch and ε. */
  notes(notes: string[]): void;
  /** Standard error of the growth where it is a Monte Carlo, else 0. */
  growthSE(): number;
}

export interface BlockSegment {
  doc: string;
  /** The kinds of one block, in order (inside the residual wrapper where there is one): data the table matches. */
  pattern: readonly LayerKind[];
  /** The Gram dynamics' block (a finite batch couples the samples), or null. */
  gram: GramOrder | null;
  /** Whether BSB1's stability applies (without residual). */
  bsb1: boolean;
  /** Whether the forward stream of a net without residual may be rescaled (a positively homogeneous φ). */
  homogeneous: (p: BlockParams) => boolean;
  /** Refuse what the segment's theory does not cover (before the forward pass). */
  check: (p: BlockParams) => void;
  start: (p: BlockParams) => SegmentRun;
}

function checkBnBatch(p: BlockParams): void {
  if (p.B !== null && p.B < 4) {
    throw new SpecError(
      'batch',
      p.B,
      'at least 4 for BatchNorm theory (Yang et al. Thm 7: the expected gradient rate involves E[1/χ²_(B−1)] = 1/(B−3), infinite for B ≤ 3), or omit it for the large-batch limit',
    );
  }
}

/** The sphere moments of a BN output (memoised on γ_eff), with the non-constant check both BN segments make. */
function yangMomentsOf(p: BlockParams): (g: number) => SphereMoments {
  const yangMemo = new Map<string, SphereMoments>();
  const yangMoments = (g: number): SphereMoments => {
    const key = g.toPrecision(13);
    let m = yangMemo.get(key);
    if (!m) {
      m = sphereMoments(p.act, g, p.bn.beta, p.B);
      yangMemo.set(key, m);
    }
    return m;
  };
  const m = yangMoments(p.bn.gamma);
  if (!(m.m2 - (p.B === null ? m.m1 * m.m1 : m.pair) > 1e-300)) {
    throw new SpecError(
      'activation',
      p.actName,
      'a non-constant activation: its output has zero batch variance, so BatchNorm divides by zero',
    );
  }
  return yangMoments;
}

const noop = () => {};

/** Linear → BN → φ (Yang et al. 2019): the sphere moments at γ_eff, λ(B), BSB1 stability. */
const denseBnAct: BlockSegment = {
  doc: 'dense → batchnorm → act: the BN output lies on a sphere of radius √B; λ(B) per layer (Yang et al. 2019, Thm 7)',
  pattern: ['dense', 'batchnorm', 'act'],
  gram: 'linear-bn-act',
  bsb1: true,
  homogeneous: () => false,
  check: checkBnBatch,
  start(p) {
    const { B, bn, res } = p;
    const fB = B === null ? 1 : (B - 1) / B;
    const yangMoments = yangMomentsOf(p);
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
    const exactEps = bn.eps > 0 && B !== null && res === null;
    const epsMemo = new Map<string, SphereMoments>();
    const epsMoments = (Vh: number): SphereMoments => {
      const key = Vh.toPrecision(13);
      let m = epsMemo.get(key);
      if (!m) {
        const e = bnEpsLayer(p.act, B!, bn, Vh);
        m = { B, m1: e.m1, m2: e.m2, pair: e.pair, S1: e.S1, T1: e.T1, S2: e.S2, T2: e.T2, D1: Number.NaN, ND1: Number.NaN };
        epsMemo.set(key, m);
      }
      return m;
    };
    return {
      block(_qh, _qch, Vh) {
        const vhat = fB * Vh;
        const kappa = bn.eps > 0 ? vhat / (vhat + bn.eps) : 1;
        const g = bn.gamma * Math.sqrt(kappa);
        // ε > 0 at a finite batch: each unit's batch variance is Vh·χ²_(B−1)/B, averaged exactly (bnEpsLayer);
        // residual streams keep the self-averaging γ_eff (their Vh changes at every block)
        const M = exactEps ? epsMoments(Vh) : res === null || kappa === 1 || g <= 0 ? yangMoments(g) : yangInterp(g);
        return {
          muO: M.m1,
          qO: M.m2,
          qcO: M.pair,
          preVar: fB * Vh,
          postMean: M.m1,
          postVar: fB * (M.m2 - M.pair),
          back(dO, oO) {
            const a = dO - oO;
            const b = oO;
            let dh: number;
            let oh: number;
            if (B !== null) {
              dh = (a * ((B - 1) * M.S1 - M.T1) + b * ((B - 1) * (M.S1 - M.S2) - M.T1 - (B - 1) * M.T2)) / ((B - 3) * Vh);
              oh = -dh / (B - 1);
            } else {
              const w = M.S1 - M.D1 * M.D1 - M.ND1 * M.ND1;
              dh = (M.S1 * a + w * b) / Vh;
              oh = 0;
            }
            return { dh, oh, r: -1 };
          },
        };
      },
      settle: noop,
      rescaled: noop,
      growth(geoMean, notes) {
        try {
          return { growth: bnGradientRate(p.act, B, bn, { sigmaW2: p.sw }), collapsed: false };
        } catch (e) {
          // ε so large against the batch variance that no fixed point with a positive variance exists: the
          // per-layer recursion still holds, and its geometric mean is all there is to report
          if (!(e instanceof SpecError) || (e.field !== 'eps' && e.field !== 'bn.eps')) throw e;
          notes.push(
            `no BSB1 fixed point with a positive batch variance (ε = ${bn.eps} against σ_w² = ${p.sw} at B = ${B}: the variance decays layer after layer); predictedGrowth is the geometric mean of the per-layer growth`,
          );
          return { growth: geoMean(), collapsed: true };
        }
      },
      notes(notes) {
        if (exactEps)
          notes.push(
            "ε > 0: each unit's batch variance is χ²-distributed at the fixed point and ε enters unit by unit (exact under mean field and gradient independence; docs/theory.md §4.4)",
          );
        else if (bn.eps > 0 && B !== null)
          notes.push(
            'ε > 0 enters through γ_eff = γ√(v/(v+ε)) with v the batch variance of h, treated as self-averaging (approximate at finite B for residual streams)',
          );
      },
      growthSE: () => 0,
    };
  },
};

const actBnCache = new Map<string, { rate: number; se: number }>();
/** actBnGradientRate memoised by its arguments (a seeded Monte Carlo: the same arguments give the same bits). */
function cachedActBnRate(act: Activation, B: number, bn: BnSpec, sigmaW2: number, sigmaB2: number): { rate: number; se: number } {
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

/** Linear → φ → BN (derived by us): the large-batch block, and at a finite batch the exact GIA rate at its fixed point. */
const denseActBn: BlockSegment = {
  doc: 'dense → act → batchnorm: the BN output state q = β² + γ²κ̄, qc = β² − γ²κ̄/(B−1); the exact finite-batch rate at the fixed point (Monte Carlo)',
  pattern: ['dense', 'act', 'batchnorm'],
  gram: 'linear-act-bn',
  bsb1: false,
  homogeneous: () => false,
  check: checkBnBatch,
  start(p) {
    const { act, B, bn, res } = p;
    const fB = B === null ? 1 : (B - 1) / B;
    yangMomentsOf(p);
    const actBnMemo = new Map<string, { blk: ActBnBlock; pm: ReturnType<typeof pairMoments>; gm: ReturnType<typeof gaussMoments> }>();
    let actBnExact: { rate: number; se: number } | null = null;
    let actBnScale = 1;
    return {
      block(qh, qch, Vh, ch) {
        const key = `${qh.toPrecision(14)}|${qch.toPrecision(14)}`;
        let memo = actBnMemo.get(key);
        if (!memo) {
          memo = { blk: actBnBlock(act, bn, qh, qch, B), pm: pairMoments(act, qh, ch), gm: gaussMoments(act, 0, qh) };
          actBnMemo.set(key, memo);
        }
        const { blk, pm, gm } = memo;
        const g2k = bn.gamma * bn.gamma * blk.kappaBar;
        return {
          muO: bn.beta,
          qO: bn.beta * bn.beta + g2k,
          qcO: bn.beta * bn.beta - (B === null ? 0 : g2k / (B - 1)),
          preVar: fB * Vh,
          postMean: blk.postMean,
          postVar: fB * Math.max(0, gm.second - pm.phiphi),
          back(dO, oO, l) {
            const a = dO - oO;
            const sc = l >= 2 ? actBnScale : 1;
            return {
              dh: sc * blk.tau * a,
              oh: B === null ? 0 : (-sc * blk.rhoD * a) / (B - 1),
              r: blk.tau > 0 ? -blk.rhoD / blk.tau : 0,
            };
          },
        };
      },
      settle() {
        // at a finite batch: the exact GIA rate at its fixed point (a Monte Carlo, actBnFinite.ts); the
        // per-layer blocks past the first, which sit at that fixed point, are scaled from the large-batch block to it
        if (B === null || res !== null) return;
        actBnExact = cachedActBnRate(act, B, bn, p.sw, p.sb);
        const lead = stationaryActBnGrowth(act, { batch: B, bn, init: { sigmaW2: p.sw, sigmaB2: p.sb } });
        if (lead > 0 && Number.isFinite(lead)) actBnScale = actBnExact.rate / lead;
      },
      rescaled: noop,
      growth: () => ({
        growth: actBnExact ? actBnExact.rate : stationaryActBnGrowth(act, { batch: B, bn, init: { sigmaW2: p.sw, sigmaB2: p.sb } }),
        collapsed: false,
      }),
      notes(notes) {
        if (actBnExact) {
          notes.push(
            `linear-act-bn: the growth is the exact gradient-independence rate at the fixed point at B = ${B} (Monte Carlo, ± ${actBnExact.se.toPrecision(2)}; derived by us); per-layer rates past block 1 are the large-batch blocks scaled to it by ${actBnScale.toFixed(4)}`,
          );
        } else if (B !== null)
          notes.push(
            'linear-act-bn with residual blocks: gradient rates are the large-batch leading order (derived by us); the forward statistics include the finite-B terms',
          );
      },
      growthSE: () => (actBnExact ? actBnExact.se : 0),
    };
  },
};

/** Linear → φ without a norm: the q/c-map (Poole et al. 2016), its fixed point q* and rate χ₁. */
const denseAct: BlockSegment = {
  doc: 'dense → act: the q/c-map and χ₁ at its fixed point q* (Poole et al. 2016; Schoenholz et al. 2017)',
  pattern: ['dense', 'act'],
  gram: null,
  bsb1: false,
  homogeneous: (p) => p.res === null && slopesOf(p.act) !== null,
  check: noop,
  start(p) {
    const { act, B, sw, sb } = p;
    const fB = B === null ? 1 : (B - 1) / B;
    const plainMoments = layerMomentsFn(act, p.L); // the Mehler series past 16 blocks (moments.ts)
    let prev: { qh: number; ch: number; out: BlockOut } | null = null;
    return {
      block(qh, _qch, Vh, ch) {
        // the state has converged to a fixed point: reuse the block's moments
        if (prev && Math.abs(prev.qh - qh) <= 1e-15 * qh && Math.abs(prev.ch - ch) <= 1e-15) return prev.out;
        const { gm, pm } = plainMoments(qh, ch);
        const S1 = gm.d2;
        const K0 = pm.dphidphi;
        const out: BlockOut = {
          muO: gm.mean,
          qO: gm.second,
          qcO: pm.phiphi,
          preVar: fB * Vh,
          postMean: gm.mean,
          postVar: fB * Math.max(0, gm.second - pm.phiphi),
          back(dO, oO) {
            const dh = S1 * dO;
            const oh = K0 * oO;
            return { dh, oh, r: B === null ? 0 : dh > 0 ? ((B - 1) * oh) / dh : 0 };
          },
        };
        prev = { qh, ch, out };
        return out;
      },
      settle: noop,
      rescaled() {
        prev = null;
      },
      growth(geoMean, notes) {
        const sl = slopesOf(act);
        if (sl) return { growth: sw * ((sl.a * sl.a + sl.b * sl.b) / 2), collapsed: false };
        const qs = qStar(act, sw, sb);
        if (Number.isFinite(qs)) return { growth: chi1(act, sw, sb, qs), collapsed: false };
        notes.push('the q-map has no finite fixed point here; predictedGrowth is the geometric mean of the per-layer growth');
        return { growth: geoMean(), collapsed: false };
      },
      notes(notes) {
        if (B === null) notes.push('no BatchNorm and no batch size: weight gradients are per sample (B = 1 convention)');
      },
      growthSE: () => 0,
    };
  },
};

/** The block segments, by name. */
export const BLOCK_SEGMENTS = { 'dense-bn-act': denseBnAct, 'dense-act-bn': denseActBn, 'dense-act': denseAct } as const satisfies Record<
  string,
  BlockSegment
>;
export type BlockSegmentName = keyof typeof BLOCK_SEGMENTS;

/** A list of identical blocks of one segment: the segment and its parameters. */
export interface RecognisedBlocks {
  name: BlockSegmentName;
  segment: BlockSegment;
  params: Omit<BlockParams, 'B' | 'L' | 'actName'> & { actLayer: Layer & { kind: 'act' } };
}

/** A block's layers without its width, so that blocks of different widths compare equal. */
function blockKey(block: readonly Layer[]): string {
  let k = blockKeys.get(block);
  if (k === undefined) {
    k = JSON.stringify(layersToJSON(block), (key, v) => (key === 'width' ? undefined : v));
    blockKeys.set(block, k);
  }
  return k;
}
const blockKeys = new WeakMap<readonly Layer[], string>();

const isPrimitive = (v: unknown) => v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean';

/**
 * Whether two layers have the same own keys in the same order and the same primitive value under every key
 * but width (=== : NaN and objects fail), a residual's inner layers compared the same way. Where it holds
 * their JSON (layersToJSON, width dropped) is the same text; where it fails, sameBlock compares that text.
 */
function sameFields(a: Layer, b: Layer): boolean {
  if (a === b) return true;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i];
    if (k !== kb[i]) return false;
    if (k === 'width') continue;
    const va = (a as unknown as Record<string, unknown>)[k];
    const vb = (b as unknown as Record<string, unknown>)[k];
    if (k === 'layers' && a.kind === 'residual' && b.kind === 'residual') {
      if (!sameLayers(a.layers, b.layers)) return false;
    } else if (!isPrimitive(va) || va !== vb) return false;
  }
  return true;
}

const sameLayers = (a: readonly Layer[], b: readonly Layer[]) => a.length === b.length && a.every((l, i) => sameFields(l, b[i]));

/**
 * blockKey(a) === blockKey(b), without the JSON where the layers' fields already agree (a net of 1,000
 * identical blocks compared layer by layer costs 1,000 JSON texts otherwise).
 */
export function sameBlock(a: readonly Layer[], b: readonly Layer[]): boolean {
  return sameLayers(a, b) || blockKey(a) === blockKey(b);
}

/** The segment of one block (its kinds, in a residual wrapper or not), or null. */
export function blockSegmentOf(block: readonly Layer[]): BlockSegmentName | null {
  const inner = block[0].kind === 'residual' ? (block.length === 1 ? block[0].layers : null) : block;
  if (!inner) return null;
  const kinds = inner.map((l) => l.kind).join(',');
  for (const [name, s] of Object.entries(BLOCK_SEGMENTS)) if (s.pattern.join(',') === kinds) return name as BlockSegmentName;
  return null;
}

/**
 * The segment of a list whose blocks are all the same block of one segment (widths may differ), with the
 * parameters read from its first block; null for any other list (the per-kind table runs it).
 */
export function recogniseBlocks(layers: readonly Layer[], specBn: BnSpec): RecognisedBlocks | null {
  const blocks = blocksOf(layers);
  if (blocks.length === 0) return null;
  const name = blockSegmentOf(blocks[0]);
  if (name === null) return null;
  if (!blocks.every((b) => sameBlock(b, blocks[0]))) return null;
  const first = blocks[0][0];
  const inner = first.kind === 'residual' ? first.layers : blocks[0];
  const res = first.kind === 'residual' ? first.scale : null;
  const dense = inner.find((l) => l.kind === 'dense')!;
  const actLayer = inner.find((l) => l.kind === 'act')!;
  const norm = inner.find((l) => l.kind === 'batchnorm');
  if (dense.kind !== 'dense' || actLayer.kind !== 'act') return null;
  const bn = norm && norm.kind === 'batchnorm' ? { gamma: norm.gamma, beta: norm.beta, eps: norm.eps } : specBn;
  return {
    name,
    segment: BLOCK_SEGMENTS[name],
    params: { act: activationOfLayer(actLayer), bn, sw: dense.sigmaW2, sb: dense.sigmaB2, res, actLayer },
  };
}
