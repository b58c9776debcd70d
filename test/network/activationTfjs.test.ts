// Every entry of the activation table has a tfjs form (TF_ACTIVATIONS, a compile error when one is
// missing) that computes the entry's float64 φ in float32, and whose tfjs gradient is φ′.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tfActivation } from '../../src/train/index.js';
import { everyActivation } from '../helpers/activations.js';

const U32 = 2 ** -24; // float32 unit round-off

// Points exactly representable in float32 (so φ is compared at the very input tf sees), off the kinks.
const XS = Array.from({ length: 161 }, (_, i) => Math.fround(-8 + 0.1 * i + 0.0137));

/**
 * Float32 tolerance: each tf op rounds its result to within u32 (transcendental kernels to a few
 * ulps; allow 4), an activation is at most 4 ops, and its intermediates are of size
 * ≤ max(1, |x|, |v|)·max(1, |arg|) (v the exact value: x·Φ(x) forms 1 + erf, ELU forms eˣ − 1,
 * an argument multiplies a branch), so |tf − exact| ≤ 16·u32·that size.
 */
function tol(x: number, v: number, arg: number | undefined): number {
  return 16 * U32 * Math.max(1, Math.abs(x), Math.abs(v)) * Math.max(1, Math.abs(arg ?? 1));
}

describe('tfjs forms of the activation table equal φ and φ′ (float32)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });
  for (const act of everyActivation()) {
    it(act.name, () => {
      const f = tfActivation(act.name);
      const x = tf.tensor1d(XS);
      const got = f(x).dataSync();
      // the gradient of Σ φ(xᵢ) is φ′(xᵢ) elementwise (the sum also gives identity an op to differentiate)
      const grad = tf
        .grad((t: tf.Tensor) => tf.sum(f(t)))(x)
        .dataSync();
      x.dispose();
      for (const [i, xi] of XS.entries()) {
        const v = act.phi(xi);
        expect(Math.abs(got[i] - v), `φ(${xi}): tf ${got[i]}, float64 ${v}`).toBeLessThanOrEqual(tol(xi, v, act.arg));
        if ((act.kinks ?? []).some((k) => Math.abs(xi - k) < 1e-3)) continue;
        const d = act.dphi(xi);
        expect(Math.abs(grad[i] - d), `φ′(${xi}): tf ${grad[i]}, float64 ${d}`).toBeLessThanOrEqual(tol(xi, d, act.arg));
      }
    });
  }
  it('the tolerance can fail: softplus against a φ off by 1e-5 at x = 1', () => {
    const sp = everyActivation().find((a) => a.name === 'softplus')!;
    expect(Math.abs(sp.phi(1) * (1 + 1e-5) - sp.phi(1))).toBeGreaterThan(tol(1, sp.phi(1), undefined));
  });
});
