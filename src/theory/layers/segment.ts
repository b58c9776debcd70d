// Run a list of layers forward through the table: the law from layer to layer and the products of the
// backward factors before and after its dense layer (what a block's records need).
import type { Layer } from '../../network/index.js';
import { THEORY_LAYERS } from './index.js';
import { type BackFactor, type Law, type LayerContext, type LayerStep, type Moments, momentsOf, type Segment } from './types.js';

/** One layer through its table entry. */
export function stepLayer(layer: Layer, law: Law, ctx: LayerContext): LayerStep {
  // each entry is typed for its own kind; the kind field picks the entry
  const entry = THEORY_LAYERS[layer.kind] as { forward: (l: Layer, x: Law, c: LayerContext) => LayerStep };
  return entry.forward(layer, law, ctx);
}

const times = (f: BackFactor, g: BackFactor): BackFactor => ({ d: f.d * g.d, o: f.o * g.o });

/** Run a list that holds exactly one dense layer (a block without its residual, or a residual's inner list). */
export function runSegment(layers: readonly Layer[], law: Law, ctx: LayerContext): Segment {
  let pre: BackFactor = { d: 1, o: 1 };
  let post: BackFactor = { d: 1, o: 1 };
  let seen = false;
  let denseIn: Moments | null = null;
  let qh = Number.NaN;
  let ch = Number.NaN;
  let actOut: Moments | null = null;
  let denseLayer: Segment['dense'] | null = null;
  for (const l of layers) {
    if (l.kind === 'dense') {
      denseIn = momentsOf(law);
      denseLayer = l;
    }
    const s = stepLayer(l, law, ctx);
    law = s.law;
    if (l.kind === 'dense') {
      seen = true;
      if (law.kind === 'unit') ({ qh, ch } = law);
    } else if (seen) post = times(post, s.back);
    else pre = times(pre, s.back);
    if (l.kind === 'act') actOut = momentsOf(law);
  }
  if (!denseLayer || !denseIn) throw new Error('runSegment: a block holds exactly one dense layer');
  return { law, dense: denseLayer, denseIn, qh, ch, actOut: actOut ?? momentsOf(law), pre, post };
}

/** A whole block: [dense, …] or [residual, …trailing layers]. */
export interface BlockRun {
  /** The dense part (the residual's inner list for a residual block). */
  seg: Segment;
  /** The residual's scale, or null. */
  residual: number | null;
  /** Factors of the layers after the residual (post-norm), 1 without. */
  trailing: BackFactor;
  law: Law;
}

export function runBlock(block: readonly Layer[], law: Law, ctx: LayerContext): BlockRun {
  const [first, ...rest] = block;
  if (first.kind !== 'residual') {
    const seg = runSegment(block, law, ctx);
    return { seg, residual: null, trailing: { d: 1, o: 1 }, law: seg.law };
  }
  const withSeg: LayerContext = { ...ctx, segment: (ls, x) => runSegment(ls, x, withSeg) };
  const r = stepLayer(first, law, withSeg);
  let out = r.law;
  let trailing: BackFactor = { d: 1, o: 1 };
  for (const l of rest) {
    const s = stepLayer(l, out, withSeg);
    out = s.law;
    trailing = times(trailing, s.back);
  }
  return { seg: r.inner!, residual: first.scale, trailing, law: out };
}
