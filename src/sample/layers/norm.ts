// What the three normalizations share: z = normalize(v) with its statistics inv (z in place of v when
// the kernel owns its input), out = γz + β; backward g ← γ·g, then the kind's projection, then the
// cache goes back. Each kind (batchnorm.ts, layernorm.ts, rmsnorm.ts) gives its statistics, its
// projection and its readout rule.
import type { ImageShape, LayerOf, NormLayer } from '../../network/index.js';
import type { Backward, ReadoutContext, ReadoutState, SampleLayer, SampleNet } from './types.js';

export interface NormCache {
  /** The normalized input (ẑ, or v·s for RMSNorm), B × n. */
  z: Float64Array;
  /** 1/√(statistic + ε): per unit (BatchNorm) or per sample (LayerNorm, RMSNorm). */
  inv: Float64Array;
}

type NormKind = NormLayer['kind'];

export interface NormRule<K extends NormKind> {
  /** z = normalized v (z may be v); returns inv (a fresh buffer). `shape`: v is an image (else null). */
  normalize(net: SampleNet, v: Float64Array, z: Float64Array, n: number, eps: number, shape: ImageShape | null): Float64Array;
  /** g ← ∂L/∂v from g = ∂L/∂z, in place. */
  project(net: SampleNet, g: Float64Array, z: Float64Array, inv: Float64Array, b: Backward): void;
  /** Length of inv for a width n. */
  statLength(net: SampleNet, n: number): number;
  readout(layer: LayerOf<K>, s: ReadoutState, c: ReadoutContext): ReadoutState;
}

export function normLayer<K extends NormKind>(rule: NormRule<K>): SampleLayer<K, NormCache> {
  const release = (net: SampleNet, cache: NormCache) => {
    net.buf.give(cache.z);
    net.buf.give(cache.inv);
  };
  return {
    forward(net, layer, x, n, owned, f) {
      const { gamma, eps } = layer as NormLayer;
      const beta = 'beta' in layer ? layer.beta : 0;
      const z = owned ? x : net.buf.take(x.length);
      const inv = rule.normalize(net, x, z, n, eps, f.shape);
      const out = net.buf.take(x.length);
      for (let t = 0; t < out.length; t++) out[t] = gamma * z[t] + beta;
      return { out, n, cache: { z, inv } };
    },
    backward(net, layer, cache, g, b) {
      const { gamma } = layer as NormLayer;
      if (gamma !== 1) for (let t = 0; t < g.length; t++) g[t] *= gamma;
      rule.project(net, g, cache.z, cache.inv, b);
      release(net, cache);
      return g;
    },
    release: (net, _layer, cache) => release(net, cache),
    cacheBytes: (net, _layer, n) => 8 * (net.B * n + rule.statLength(net, n)),
    readout: rule.readout,
  };
}
