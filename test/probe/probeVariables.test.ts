// probeVariables: a plain training step over tf.Variables (no LayersModel). A two-layer linear net
// y = (X W1) W2 with squared loss, whose gradients have a closed form (∂L/∂W2 = Hᵀ R / B, ∂L/∂W1 =
// Xᵀ R W2ᵀ / B with H = X W1, R = H W2 − Y): the records against it in float64, the weights bit-identical
// to optimizer.minimize's, and no tensor leaks.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/network/index.js';
import { probeVariables } from '../../src/probe/index.js';
import { blasUnavailableReason } from '../../src/train/blas.js';
import { initBackend } from '../../src/train/index.js';

const BACKEND = blasUnavailableReason() === null ? 'blas' : 'cpu';
beforeAll(async () => {
  await initBackend(BACKEND);
});

const B = 12;
const D = 5;
const H = 7;
const K = 3;

/** A variable from a seeded draw (the draw itself disposed: tf.variable keeps its own reference to the data). */
function variable(shape: [number, number], seed: number, name: string): tf.Variable {
  const init = tf.randomNormal(shape, 0, 0.5, 'float32', seed);
  const v = tf.variable(init, true, name);
  init.dispose();
  return v;
}
let made = 0;
function net(seed: number) {
  made++;
  return { W1: variable([D, H], seed, `W1_${made}`), W2: variable([H, K], seed + 1, `W2_${made}`) };
}
const lossOf = (n: { W1: tf.Variable; W2: tf.Variable }, x: tf.Tensor, y: tf.Tensor) => () =>
  tf.div(tf.mul(tf.sum(tf.square(tf.sub(tf.matMul(tf.matMul(x as tf.Tensor2D, n.W1), n.W2), y))), 0.5), B) as tf.Scalar;

const host = (t: tf.Tensor) => t.arraySync() as number[][];
const mm = (A: number[][], M: number[][]) => A.map((row) => M[0].map((_, j) => row.reduce((s, v, i) => s + v * M[i][j], 0)));
const T = (A: number[][]) => A[0].map((_, j) => A.map((r) => r[j]));
const sq = (A: number[][]) => A.flat().reduce((s, v) => s + v * v, 0);

describe('probeVariables', () => {
  it('grad_w_sq against the closed form, update_norm = lr·grad_w_norm, weight_norm against the host; bit-identical to minimize; no leaks', () => {
    const before = tf.memory().numTensors;
    const a = net(1);
    const b = net(1);
    const lr = 0.05;
    const optA = tf.train.sgd(lr);
    const optB = tf.train.sgd(lr);
    const p = probeVariables({ first: [b.W1], second: [b.W2] }, { steps: 4, seed: 2, tags: { run: 'v' } });
    const ref: { g1: number; g2: number; w1: number; w2: number; loss: number }[] = [];
    for (let t = 0; t < 4; t++) {
      const x = tf.randomNormal([B, D], 0, 1, 'float32', 10 + t);
      const y = tf.randomNormal([B, K], 0, 1, 'float32', 20 + t);
      // float64 reference at θ_t, from b's weights (equal to a's: checked below)
      const [X, Y, W1, W2] = [host(x), host(y), host(b.W1), host(b.W2)];
      const Hh = mm(X, W1);
      const R = mm(Hh, W2).map((row, i) => row.map((v, j) => v - Y[i][j]));
      const g2 = mm(T(Hh), R).map((r) => r.map((v) => v / B));
      const g1 = mm(mm(T(X), R), T(W2)).map((r) => r.map((v) => v / B));
      ref.push({ g1: sq(g1), g2: sq(g2), w1: sq(W1), w2: sq(W2), loss: (0.5 * sq(R)) / B });
      const c = optA.minimize(lossOf(a, x, y), true, [a.W1, a.W2])!;
      const la = c.dataSync()[0];
      c.dispose();
      const lb = p.step(lossOf(b, x, y), optB);
      expect(lb).toBe(la);
      tf.dispose([x, y]);
    }
    const same = (u: tf.Tensor, v: tf.Tensor) => {
      const [du, dv] = [u.dataSync(), v.dataSync()];
      return du.length === dv.length && du.every((z, i) => Object.is(z, dv[i]));
    };
    expect(same(a.W1, b.W1) && same(a.W2, b.W2)).toBe(true);
    const rs = p.records();
    const at = (q: string, layer: number | null, t: number) => rs.find((r) => r.quantity === q && r.layer === layer && r.step === t)!.value;
    const rel = (x: number, y: number) => Math.abs(x - y) / Math.abs(y);
    for (let t = 0; t < 4; t++) {
      // float32 chains of ≤ 3 matMuls over ≤ 12 terms, then a sum of ≤ 35 squares: ≲ (3·12 + 35)·u ≈ 4e-6
      expect(rel(at('grad_w_sq', 1, t), ref[t].g1)).toBeLessThan(2e-5);
      expect(rel(at('grad_w_sq', 2, t), ref[t].g2)).toBeLessThan(2e-5);
      expect(rel(at('weight_norm', 1, t), Math.sqrt(ref[t].w1))).toBeLessThan(1e-5);
      expect(rel(at('weight_norm', 2, t), Math.sqrt(ref[t].w2))).toBeLessThan(1e-5);
      expect(rel(at('loss', null, t), ref[t].loss)).toBeLessThan(2e-5);
      // SGD: ΔW = −lr·g, each entry rounded twice (w − lr·g, then the difference): ≲ 4u·‖W‖/‖ΔW‖ relative
      for (const l of [1, 2]) {
        const tol = (4 * 2 ** -24 * at('weight_norm', l, t)) / at('update_norm', l, t) + 1e-5;
        expect(rel(at('update_norm', l, t), lr * at('grad_w_norm', l, t))).toBeLessThan(tol);
        expect(rel(at('update_ratio', l, t), at('update_norm', l, t) / at('weight_norm', l, t))).toBeLessThan(1e-12);
      }
    }
    expect(
      rs.filter((r) => r.layer !== null).every((r) => r.tags?.name === (r.layer === 1 ? 'first' : 'second') && r.tags?.run === 'v'),
    ).toBe(true);
    expect(rs.every((r) => r.seed === 2 && r.source === 'trained')).toBe(true);
    p.dispose();
    optA.dispose();
    optB.dispose();
    tf.dispose([a.W1, a.W2, b.W1, b.W2]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('bad groups: an InputError naming the group', () => {
    const v = tf.variable(tf.zeros([2, 2]));
    const field = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(InputError);
        return (e as InputError).field;
      }
      return null;
    };
    expect(field(() => probeVariables({}, { steps: 3 }))).toBe('groups');
    expect(field(() => probeVariables({ a: [] }, { steps: 3 }))).toBe('groups.a');
    expect(field(() => probeVariables({ a: [v], b: [v] }, { steps: 3 }))).toBe('groups.b');
    expect(field(() => probeVariables({ a: [v] }, { steps: -1 }))).toBe('steps');
    v.dispose();
  });
});
