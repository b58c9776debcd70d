// The state the theory table passes from layer to layer at infinite width, and the shape of one entry.
// Derivations: docs/derivations.md §17 (LayerNorm and RMSNorm at infinite width); summary docs/theory.md §9.
import {
  type Activation,
  type DenseLayer,
  type Layer,
  type LayerKind,
  type LayerOf,
  type MaybeSupported,
  SpecError,
} from '../../network/index.js';
import type { Quantity } from '../../records/index.js';
import { gaussMoments, kinksOf, pairMoments } from '../moments.js';
import { gaussExpect2Split } from '../quadrature.js';

/** x ↦ a·x + b. */
export interface Affine {
  a: number;
  b: number;
}
export const IDENTITY: Affine = { a: 1, b: 0 };

/**
 * What the next layer sees, per unit of one sample and of a pair of samples, at infinite width.
 * - 'moments': only the unit mean μ, second moment q and cross-sample moment qc are known (the input, a
 *   residual stream): enough for a dense layer (which only reads q, qc) and for a norm (an affine map
 *   with coefficients fixed by μ and q).
 * - 'unit': every unit is u = post(φ(pre(h))) of a centred Gaussian pair (h^a, h^b) with second moment
 *   qh and correlation ch: what a dense layer makes, followed by norms (affine at infinite width, since
 *   the mean and variance over units self-average) and at most one activation.
 */
export type Law =
  | { kind: 'moments'; mu: number; q: number; qc: number }
  | { kind: 'unit'; qh: number; ch: number; pre: Affine; act: Activation | null; post: Affine };

/** The unit mean, second moment and cross-sample moment of a law. */
export interface Moments {
  mu: number;
  q: number;
  qc: number;
}

/** What one layer does to the backward signal: ‖∂L/∂in‖² = d·‖∂L/∂out‖², cross-sample products ×o. */
export interface BackFactor {
  d: number;
  o: number;
}

/** The moments of φ(y) for y = pre(h): mean, second moment, E φ′², and the pair moments. */
export interface ActStats {
  mean: number;
  second: number;
  d2: number;
  phiphi: number;
  dphidphi: number;
}

const statsMemo = new Map<string, ActStats>();

/** Moments of φ(a h + b), h ~ N(0, qh), and of a pair with correlation ch (closed forms for the ReLU family). */
export function actStats(act: Activation, pre: Affine, qh: number, ch: number): ActStats {
  const key = `${act.name}|${pre.a}|${pre.b}|${qh}|${ch}`;
  const hit = statsMemo.get(key);
  if (hit) return hit;
  const v = pre.a * pre.a * qh;
  const g = gaussMoments(act, pre.b, v);
  let phiphi: number;
  let dphidphi: number;
  if (pre.b === 0) ({ phiphi, dphidphi } = pairMoments(act, v, ch));
  else {
    // a shifted pair: the kinks move to k − b
    const kinks = kinksOf(act).map((k) => k - pre.b);
    const c = Math.max(-1, Math.min(1, ch));
    phiphi = gaussExpect2Split((u1, u2) => act.phi(u1 + pre.b) * act.phi(u2 + pre.b), v, v, c, kinks);
    dphidphi = gaussExpect2Split((u1, u2) => act.dphi(u1 + pre.b) * act.dphi(u2 + pre.b), v, v, c, kinks);
  }
  const out = { mean: g.mean, second: g.second, d2: g.d2, phiphi, dphidphi };
  if (statsMemo.size > 5000) statsMemo.clear();
  statsMemo.set(key, out);
  return out;
}

function affineMoments(m: Moments, t: Affine): Moments {
  const cross = 2 * t.a * t.b * m.mu + t.b * t.b;
  return { mu: t.a * m.mu + t.b, q: t.a * t.a * m.q + cross, qc: t.a * t.a * m.qc + cross };
}

/** μ, q, qc of a law. */
export function momentsOf(law: Law): Moments {
  if (law.kind === 'moments') return { mu: law.mu, q: law.q, qc: law.qc };
  const { qh, ch, pre, act, post } = law;
  let m: Moments;
  if (act === null) m = affineMoments({ mu: 0, q: qh, qc: qh * ch }, pre);
  else {
    const s = actStats(act, pre, qh, ch);
    m = { mu: s.mean, q: s.second, qc: s.phiphi };
  }
  return affineMoments(m, post);
}

/** The law after an affine map (a norm at infinite width). */
export function applyAffine(law: Law, t: Affine): Law {
  if (law.kind === 'moments') return { kind: 'moments', ...affineMoments(law, t) };
  if (law.act === null) return { ...law, pre: { a: t.a * law.pre.a, b: t.a * law.pre.b + t.b } };
  return { ...law, post: { a: t.a * law.post.a, b: t.a * law.post.b + t.b } };
}

/** Refuse a list the table cannot follow (e.g. an activation on a residual stream). */
export function unsupportedList(why: string): never {
  throw new SpecError(
    'layers',
    why,
    'a layer list the infinite-width theory follows: every activation comes after a dense layer (and at most one per block), norms anywhere',
  );
}

/** Context of one forward pass through a block. */
export interface LayerContext {
  /** Width of the block's dense layer (for the finite-width notes). */
  width: number;
  /** Batch size, or null (the large-batch limit). */
  batch: number | null;
  /** Runs an inner list (the residual wrapper's). */
  segment?: (layers: readonly Layer[], law: Law) => Segment;
}

/** One list of layers run forward: what the records of its block need. */
export interface Segment {
  /** Law at its output. */
  law: Law;
  /** Its dense layer (a block and a residual's inner list hold exactly one). */
  dense: DenseLayer;
  /** Moments entering the dense layer (its x, for the weight gradient). */
  denseIn: Moments;
  /** The dense output h: second moment and correlation of the Gaussian unit. */
  qh: number;
  ch: number;
  /** Moments at the activation's output (the block output where there is none). */
  actOut: Moments;
  /** Products of the backward factors of the layers before and after the dense layer. */
  pre: BackFactor;
  post: BackFactor;
}

/** The result of one layer on the forward state. */
export interface LayerStep {
  law: Law;
  back: BackFactor;
  /** The residual wrapper's inner list. */
  inner?: Segment;
}

/**
 * One kind's theory. `forward` maps the law of its input to the law of its output at infinite width and
 * says what the layer does to the backward signal there (`back`, evaluated at its own input law).
 * `records`: the per-layer records the kind contributes to a block. `exactness`: one line for the notes.
 * `spectrum`: whether the free-probability Jacobian spectrum supports the kind (read by checkSupported).
 */
export interface TheoryLayer<K extends LayerKind> extends MaybeSupported {
  doc: string;
  forward: (layer: LayerOf<K>, law: Law, ctx: LayerContext) => LayerStep;
  records: readonly Quantity[];
  exactness: string;
  spectrum: MaybeSupported;
}
