// The image kinds (conv2d, gap, flatten, resblock) in the infinite-width table. The table's state (Law) is
// one unit of a flat layer; an image network's units are indexed by position too, and BatchNorm pools its
// statistics over batch and positions, so image networks do not run through this table: predict() sends
// them to ../conv.ts (the conv→BN→φ and ResNet-stage growth: effective batch and a Monte Carlo of the
// infinite-channel map, docs/theory.md §"Convolutional and residual BatchNorm nets").
import { type LayerKind, SpecError } from '../../network/index.js';
import type { TheoryLayer } from './types.js';

const WHY = 'image networks are predicted by theory/conv.ts (predict sends them there), not by the flat-unit table';

function refuse(kind: LayerKind): never {
  throw new SpecError('layers', kind, `a flat layer list for the layer table: ${WHY}`);
}

const entry = <K extends 'conv2d' | 'gap' | 'flatten' | 'resblock'>(kind: K, doc: string): TheoryLayer<K> => ({
  doc,
  forward: () => refuse(kind),
  records: [],
  exactness: `${kind}: ${WHY}`,
  spectrum: { unsupported: 'the free-probability spectrum covers dense nets' },
  unsupported: WHY,
});

export const conv2d = entry('conv2d', 'convolution on [B, H, W, C]: see theory/conv.ts');
export const gap = entry('gap', 'global average pooling: see theory/conv.ts');
export const flatten = entry('flatten', 'flatten an image: see theory/conv.ts');
export const resblock = entry('resblock', 'ResNet basic block: see theory/conv.ts');
