// A fast Gaussian network draw for Monte Carlo checks that need many networks: xoshiro128** uniforms
// (seeded by splitmix32) and the Box–Muller transform, about ten times faster than the stdlib
// ziggurat streams of src/network/random.ts. Same distribution as drawNetwork for Gaussian init and
// zero bias (entries N(0, σ_w²/fan_in)); not the same numbers, so it never stands in for drawNetwork
// where reproducing a seed matters.
import { fanIns, type LinearParams, type NetworkSpec, widths } from '../../src/network/index.js';

function splitmix32(a: number): () => number {
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
}

/** Fill out with N(0, scale²) draws: xoshiro128** uniforms, Box–Muller pairs (state kept in locals). */
export function fillGaussian(out: Float64Array, seed: number, scale = 1): Float64Array {
  const sm = splitmix32(seed);
  let s0 = sm() | 0;
  let s1 = sm() | 0;
  let s2 = sm() | 0;
  let s3 = sm() | 0;
  const n = out.length;
  for (let i = 0; i < n; i += 2) {
    // two xoshiro128** outputs
    let m = Math.imul(s1, 5);
    const r1 = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    let t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    m = Math.imul(s1, 5);
    const r2 = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    const u1 = (r1 + 1) / 4294967297; // (0, 1)
    const a = 6.283185307179586 * (r2 / 4294967296);
    const r = scale * Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

export function fastGaussianNetwork(spec: NetworkSpec, seed: number): LinearParams[] {
  if (spec.init.kind !== 'gaussian' || spec.init.sigmaB2 !== 0) throw new Error('fastGaussianNetwork: Gaussian init with zero bias only');
  const ws = widths(spec);
  const fi = fanIns(spec);
  return ws.map((nOut, l) => {
    const nIn = fi[l];
    const W = fillGaussian(new Float64Array(nOut * nIn), (Math.imul(seed, 7919) + l * 104729) | 0, Math.sqrt(spec.init.sigmaW2 / nIn));
    return { nOut, nIn, W, b: new Float64Array(nOut) };
  });
}
