// The trainer's layer table (src/train/layers/), kind by kind: the tfjs gradients of a small net (and its
// ‖∂L/∂h_l‖²) against central finite differences of the same function in float64, the float64 reference
// (reference.ts) against the same differences, eval mode of the per-sample norms, the parameter names and
// the condition for the exact gradient factors.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { type LayerKind, layersOf, makeSpec, normalStream, PRESET_NAMES, randomTargets, type SpecInput } from '../../src/network/index.js';
import { blasUnavailableReason } from '../../src/train/blas.js';
import { exactFactorsApply, gradientsOf, initBackend, Mlp } from '../../src/train/index.js';
import { forward64, relErr } from './reference.js';

const HAVE_BLAS = blasUnavailableReason() === null;
const BACKENDS = HAVE_BLAS ? (['wasm', 'blas', 'cpu'] as const) : (['wasm', 'cpu'] as const);
const U32 = 2 ** -24; // float32 unit round-off

const B = 8;
const IN = 5;

/** One small net per kind, with the kind in every position it can take; smooth φ (differences never cross a kink). */
/** The image kinds (conv2d, gap, flatten, resblock) are not in the trainer yet (src/train/layers/conv.ts says so). */
// groupnorm: its own tests (test/train/groupnorm.test.ts)
type FlatKind = Exclude<LayerKind, 'conv2d' | 'gap' | 'flatten' | 'resblock' | 'groupnorm'>;
const NETS: Record<FlatKind, unknown[]> = {
  dense: [
    { kind: 'dense', width: 7 },
    { kind: 'dense', width: 6, sigmaB2: 0.1 },
    { kind: 'act', activation: 'tanh' },
  ],
  batchnorm: [
    { kind: 'dense', width: 6 },
    { kind: 'batchnorm', gamma: 1.3, beta: 0.2 },
    { kind: 'act', activation: 'tanh' },
    { kind: 'dense', width: 7 },
    { kind: 'act', activation: 'tanh' },
    { kind: 'batchnorm', eps: 0.01 },
  ],
  layernorm: [
    { kind: 'dense', width: 6 },
    { kind: 'layernorm', gamma: 0.8, beta: -0.3 },
    { kind: 'act', activation: 'tanh' },
    { kind: 'dense', width: 7 },
    { kind: 'act', activation: 'tanh' },
    { kind: 'layernorm', eps: 0.01 },
  ],
  rmsnorm: [
    { kind: 'dense', width: 6 },
    { kind: 'rmsnorm', gamma: 1.2 },
    { kind: 'act', activation: 'tanh' },
    { kind: 'dense', width: 7 },
    { kind: 'act', activation: 'tanh' },
    { kind: 'rmsnorm', eps: 0.01 },
  ],
  act: [
    { kind: 'dense', width: 6 },
    { kind: 'act', activation: 'gelu' },
    { kind: 'dense', width: 6 },
    { kind: 'act', activation: 'silu' },
    { kind: 'act', activation: 'tanh' },
    { kind: 'dense', width: 6 },
    { kind: 'act', activation: 'identity' },
  ],
  residual: [
    { kind: 'dense', width: 6 },
    { kind: 'residual', scale: 0.7, layers: [{ kind: 'layernorm' }, { kind: 'dense', width: 6 }, { kind: 'act', activation: 'tanh' }] },
    { kind: 'residual', scale: 1.3, layers: [{ kind: 'dense', width: 6 }, { kind: 'act', activation: 'tanh' }, { kind: 'rmsnorm' }] },
    { kind: 'layernorm' },
  ],
};

/** The net of a list with every 1-D parameter (b, γ, β) moved off its initial value, so each enters with per-unit values. */
function netOf(
  layers: unknown[],
  seed: number,
): { model: Mlp; x: tf.Tensor2D; targets: { t: tf.Tensor2D; labels: null }; t: ReturnType<typeof randomTargets> } {
  const spec = makeSpec({ layers, inputDim: IN, batch: B } as SpecInput);
  const t = randomTargets('mse', B, seed);
  const model = Mlp.fromSeed(spec, t.nOut, seed);
  const rng = normalStream(seed, 'test-params');
  model.params = model.params.map((p, i) => {
    if (p.shape.length !== 1 || model.info[i].layer === null) return p;
    const v = Float32Array.from(p.dataSync(), (a) => a + 0.3 * rng());
    p.dispose();
    return tf.tensor1d(v);
  });
  const x = tf.tensor2d(
    Float32Array.from({ length: B * IN }, () => rng()),
    [B, IN],
  );
  return { model, x, targets: { t: tf.tensor2d(Float32Array.from(t.targets!), [B, t.nOut]), labels: null }, t };
}

/** Central differences of L(θ) in float64 at the given (float32-exact) parameters, entry by entry; step h. */
function centralDiff(f: (theta: Float64Array[]) => number, theta: Float64Array[], h: number): Float64Array[] {
  return theta.map((p) => {
    const g = new Float64Array(p.length);
    for (let j = 0; j < p.length; j++) {
      const v = p[j];
      p[j] = v + h;
      const up = f(theta);
      p[j] = v - h;
      const down = f(theta);
      p[j] = v;
      g[j] = (up - down) / (2 * h);
    }
    return g;
  });
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

// h = 1e-5: the truncation error h²/6·|L'''| and the rounding error 2⁻⁵³|L|/h are both ~1e-11 of the
// gradient's scale here, far below the float32 error being measured.
const H = 1e-5;

// The float32 bound: each gradient entry comes out of at most ~40 operations along the longest path of
// these nets (3 blocks of dense, norm, φ and their backwards, the readout and the loss), each a sum of at
// most n = 8 terms with relative error ≤ n·u (Higham 3.5), and a norm's backward subtracts two means,
// which can cancel up to a factor of the group size (8): 40 · 8·u · 8 ≈ 1.5e-4.
const TOL32 = 40 * 8 * U32 * 8;

/** The measured max relative errors, per kind and backend (printed at the end for the record). */
const measured: Record<string, number> = {};

for (const backend of BACKENDS) {
  describe(`each kind's tfjs gradient against central differences in float64 (${backend})`, () => {
    for (const kind of Object.keys(NETS) as FlatKind[]) {
      it(kind, async () => {
        await initBackend(backend);
        const { model, x, targets, t } = netOf(NETS[kind], 3);
        const L = model.spec.depth;
        const cap = { h: new Array(L), actIn: new Array(L), out: new Array(L), dhSq: new Array(L), dh: new Array(L) };
        const g = gradientsOf(model, 'mse', x, targets, cap);
        const theta = model.params.map((p) => Float64Array.from(p.dataSync()));
        const x64 = Float64Array.from(x.dataSync());
        const layers = model.spec.layers!;
        const f = (th: Float64Array[]) => forward64(layers, th, x64, B, t, { lossOnly: true }).loss;
        expect(Math.abs(g.loss.dataSync()[0] - f(theta)) / f(theta)).toBeLessThan(TOL32);
        const fd = centralDiff(f, theta, H);
        let worst = 0;
        const scale = Math.max(...fd.map((d) => maxAbs(d)));
        for (const [i, p] of g.grads.entries()) {
          if (maxAbs(fd[i]) < 1e-6 * scale) {
            // a gradient that is 0 by construction (a bias right before BN): round-off of the terms that cancel
            expect(maxAbs(p.dataSync()) / scale, model.info[i].name).toBeLessThan(TOL32);
            continue;
          }
          const e = relErr(p.dataSync(), fd[i]);
          expect(e, model.info[i].name).toBeLessThan(TOL32);
          worst = Math.max(worst, e);
        }
        // ∂L/∂h_l of every block (the probes' dh) against differences in h_l itself
        for (let l = 1; l <= L; l++) {
          const h0 = cap.h[l - 1].dataSync();
          const hd = new Float64Array(h0.length);
          for (let j = 0; j < h0.length; j++) {
            const at = (s: number) =>
              forward64(layers, theta, x64, B, t, { lossOnly: true, perturbH: (b, h) => b === l && (h[j] += s) }).loss;
            hd[j] = (at(H) - at(-H)) / (2 * H);
          }
          const e = relErr(cap.dh[l - 1].dataSync(), hd);
          expect(e, `dh of block ${l}`).toBeLessThan(TOL32);
          worst = Math.max(worst, e);
          const sq = hd.reduce((a, v) => a + v * v, 0);
          expect(Math.abs(cap.dhSq[l - 1].dataSync()[0] / sq - 1)).toBeLessThan(2 * TOL32);
        }
        measured[`${kind} (${backend})`] = worst;
        tf.dispose([...g.grads, g.loss, g.logits, x, targets.t, ...cap.h, ...cap.actIn, ...cap.out, ...cap.dhSq, ...cap.dh]);
        model.dispose();
      });
    }
  });
}

describe('the float64 reference (reference.ts) against central differences of its own forward', () => {
  for (const kind of Object.keys(NETS) as FlatKind[]) {
    it(kind, async () => {
      await initBackend('cpu');
      const { model, x, t } = netOf(NETS[kind], 4);
      const theta = model.params.map((p) => Float64Array.from(p.dataSync()));
      const x64 = Float64Array.from(x.dataSync());
      const layers = model.spec.layers!;
      const r = forward64(layers, theta, x64, B, t);
      const fd = centralDiff((th) => forward64(layers, th, x64, B, t, { lossOnly: true }).loss, theta, H);
      // float64 throughout: what is left is the differences' own error, ~1e-10 of the scale (above)
      const scale = Math.max(...fd.map((d) => maxAbs(d)));
      for (const [i, g] of r.grads.entries()) {
        if (maxAbs(fd[i]) < 1e-6 * scale) expect(maxAbs(g) / scale, model.info[i].name).toBeLessThan(1e-7);
        else expect(relErr(g, fd[i]), model.info[i].name).toBeLessThan(1e-7);
      }
      model.dispose();
    });
  }
});

describe('layernorm and rmsnorm', () => {
  it.each(BACKENDS)(
    'eval mode is training mode (no batch statistics), bit for bit; one sample alone gets its own output (%s)',
    async (backend) => {
      await initBackend(backend);
      const { model, x } = netOf(
        [
          { kind: 'dense', width: 6 },
          { kind: 'layernorm' },
          { kind: 'act', activation: 'tanh' },
          { kind: 'dense', width: 7 },
          { kind: 'rmsnorm' },
          { kind: 'act', activation: 'tanh' },
        ],
        5,
      );
      const a = model.forward(model.params, x, 'train').dataSync();
      const b = model.forward(model.params, x, 'eval').dataSync();
      expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
      const one = model.forward(model.params, tf.slice(x, [2, 0], [1, IN]), 'eval').dataSync();
      const n = one.length;
      expect(relErr(one, a.subarray(2 * n, 3 * n))).toBeLessThan(1e-6);
      model.dispose();
    },
  );

  it('their parameters start at the spec values and are named as BN’s, in list order', async () => {
    await initBackend('cpu');
    const names = (spec: SpecInput) => Mlp.fromSeed(makeSpec({ depth: 2, width: 4, batch: 4, ...spec }), 10, 1).info.map((p) => p.name);
    expect(names({ order: 'linear-bn-act' })).toEqual([
      'block1.W',
      'block1.b',
      'block1.gamma',
      'block1.beta',
      'block2.W',
      'block2.b',
      'block2.gamma',
      'block2.beta',
      'readout.W',
      'readout.b',
    ]);
    expect(names({ order: 'linear-ln-act' })).toEqual([
      'block1.W',
      'block1.b',
      'block1.gamma',
      'block1.beta',
      'block2.W',
      'block2.b',
      'block2.gamma',
      'block2.beta',
      'readout.W',
      'readout.b',
    ]);
    expect(names({ order: 'linear-rms-act' })).toEqual([
      'block1.W',
      'block1.b',
      'block1.gamma',
      'block2.W',
      'block2.b',
      'block2.gamma',
      'readout.W',
      'readout.b',
    ]);
    expect(names({ order: 'preln-residual' }).slice(0, 4)).toEqual(['block1.gamma', 'block1.beta', 'block1.W', 'block1.b']);
    expect(names({ order: 'postln-residual' }).slice(0, 4)).toEqual(['block1.W', 'block1.b', 'block1.gamma', 'block1.beta']);
    // a second norm in a block: its parameters are numbered
    expect(
      Mlp.fromSeed(
        makeSpec({
          layers: [{ kind: 'dense', width: 3 }, { kind: 'layernorm' }, { kind: 'act', activation: 'relu' }, { kind: 'rmsnorm' }],
          batch: 4,
        }),
        2,
        1,
      ).info.map((p) => p.name),
    ).toEqual(['block1.W', 'block1.b', 'block1.gamma', 'block1.beta', 'block1.gamma2', 'readout.W', 'readout.b']);
    const m = Mlp.fromSeed(makeSpec({ depth: 1, width: 4, batch: 4, order: 'linear-ln-act', bn: { gamma: 1.5, beta: -0.25 } }), 10, 1);
    expect(Array.from(m.params[2].dataSync())).toEqual([1.5, 1.5, 1.5, 1.5]);
    expect(Array.from(m.params[3].dataSync())).toEqual([-0.25, -0.25, -0.25, -0.25]);
    expect(m.runMean.length).toBe(0); // no running statistics without BN
  });
});

describe('the exact gradient factors apply where every block is Linear → BN → φ', () => {
  it('linear-bn-act (as a preset or as its own list), and nothing else', () => {
    const of = (spec: SpecInput) => exactFactorsApply(layersOf(makeSpec(spec.layers ? spec : { depth: 2, width: 4, ...spec })));
    expect(PRESET_NAMES.filter((order) => of({ order }))).toEqual(['linear-bn-act']);
    expect(of({ order: 'linear-bn-act', residual: { scale: 1 } })).toBe(false);
    const block = [{ kind: 'dense', width: 4 }, { kind: 'batchnorm' }, { kind: 'act', activation: 'tanh' }];
    expect(of({ layers: [...block, ...block] })).toBe(true);
    expect(of({ layers: [...block, { kind: 'act', activation: 'tanh' }] })).toBe(false);
  });
});

describe('measured errors', () => {
  it('prints the worst relative error per kind and backend', () => {
    console.log(
      Object.entries(measured)
        .map(([k, v]) => `${k}: ${v.toExponential(2)}`)
        .join('\n'),
    );
  });
});
