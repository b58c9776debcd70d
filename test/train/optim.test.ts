// Optimizers, clipping and schedules against hand-computed single steps and closed forms.
import { fc, test } from '@fast-check/vitest';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  clipFactors,
  initBackend,
  lalcFactor,
  lambTrust,
  larsTrust,
  makeClipConfig,
  makeOptimizerConfig,
  makeSchedule,
  Optimizer,
  type ParamInfo,
  ProbeSchedule,
  makeProbeConfig,
  scheduleFactor,
} from '../../src/train/index.js';

beforeAll(async () => {
  await initBackend('wasm');
});

// One 2-D weight w = [[3, 4]] (‖w‖ = 5) with gradient g = [[0.6, 0.8]] (‖g‖ = 1), and one 1-D bias.
const INFO: ParamInfo[] = [
  { name: 'block1.W', layer: 1, kind: 'W', shape: [1, 2], oneD: false },
  { name: 'block1.b', layer: 1, kind: 'b', shape: [2], oneD: true },
];
const W = [3, 4];
const G = [0.6, 0.8];
const Bv = [0.5, -1];
const GB = [2, 0];

function run(opt: Optimizer, lr: number, t: number, w = W, g = G) {
  const params = [tf.tensor2d([w], [1, 2]), tf.tensor1d(Bv)];
  const grads = [tf.tensor2d([g], [1, 2]), tf.tensor1d(GB)];
  const gsq = grads.map((x) => tf.sum(tf.square(x)).dataSync()[0]);
  const r = opt.step(params, grads, gsq, lr, t);
  return { w: Array.from(r.params[0].dataSync()), b: Array.from(r.params[1].dataSync()), factors: r.factors };
}

const close = (a: number[], b: number[], tol = 2e-7) => {
  for (const [i, v] of a.entries()) expect(Math.abs(v - b[i])).toBeLessThan(tol * Math.max(1, Math.abs(b[i])));
};

describe('single steps by hand', () => {
  it('SGD: w − lr·g', () => {
    const r = run(new Optimizer(makeOptimizerConfig({ kind: 'sgd', lr: 0.5 }), INFO), 0.5, 1);
    close(r.w, [3 - 0.3, 4 - 0.4]);
    close(r.b, [0.5 - 1, -1]);
  });
  it('momentum and Nesterov: two steps', () => {
    const o = new Optimizer(makeOptimizerConfig({ kind: 'momentum', lr: 0.1, momentum: 0.5 }), INFO);
    run(o, 0.1, 1);
    // second step from the same w, g: buf = 0.5·g + g = 1.5g, w − 0.1·1.5g
    close(run(o, 0.1, 2).w, [3 - 0.09, 4 - 0.12]);
    const n = new Optimizer(makeOptimizerConfig({ kind: 'momentum', lr: 0.1, momentum: 0.5, nesterov: true }), INFO);
    // first Nesterov step: buf = g, step = g + 0.5·buf = 1.5g
    close(run(n, 0.1, 1).w, [3 - 0.09, 4 - 0.12]);
  });
  it('Adam: the first step is lr·sign(g) up to ε', () => {
    const r = run(new Optimizer(makeOptimizerConfig({ kind: 'adam', lr: 0.01 }), INFO), 0.01, 1);
    // m̂ = g, v̂ = g², u = g/(|g| + 1e-8)
    close(r.w, [3 - 0.01 * (0.6 / (0.6 + 1e-8)), 4 - 0.01 * (0.8 / (0.8 + 1e-8))]);
    close(r.b, [0.5 - 0.01 * (2 / (2 + 1e-8)), -1]);
  });
  it('LARS: trust = η‖w‖/(‖g‖ + wd‖w‖ + ε); 1-D excluded', () => {
    const o = new Optimizer(
      makeOptimizerConfig({ kind: 'lars', lr: 2, trustCoefficient: 0.01, weightDecay: 0.1, momentum: 0.9, eps: 0 }),
      INFO,
    );
    const r = run(o, 2, 1);
    const trust = (0.01 * 5) / (1 + 0.1 * 5); // 1/30
    expect(r.factors[0]).toBeCloseTo(trust, 12);
    expect(r.factors[1]).toBeNull();
    // g' = g + wd·w = [0.9, 1.2]; buf = trust·g'; w − lr·buf
    close(r.w, [3 - 2 * trust * 0.9, 4 - 2 * trust * 1.2]);
    close(r.b, [0.5 - 2 * 2, -1]); // plain momentum SGD step, no decay, no trust ratio
  });
  it('LAMB: r = ‖w‖/‖u‖ with u = m̂/(√v̂+ε) + wd·w', () => {
    const eps = 1e-6;
    const o = new Optimizer(makeOptimizerConfig({ kind: 'lamb', lr: 0.1, weightDecay: 0.01, eps }), INFO);
    const r = run(o, 0.1, 1);
    const u = [0.6 / (0.6 + eps) + 0.03, 0.8 / (0.8 + eps) + 0.04]; // m̂/(√v̂ + ε) + wd·w, m̂ = g, v̂ = g²
    const ratio = 5 / Math.hypot(...u);
    expect(r.factors[0]).toBeCloseTo(ratio, 6);
    close(r.w, [3 - 0.1 * ratio * u[0], 4 - 0.1 * ratio * u[1]], 1e-6);
    close(r.b, [0.5 - (0.1 * 2) / (2 + eps), -1]); // 1-D: Adam step without trust ratio or decay
  });
  it('LALC: clip(η‖w‖/‖g‖, low, high) lowers a layer rate and never raises it', () => {
    const lo = new Optimizer(makeOptimizerConfig({ kind: 'lalc', lr: 1, trustCoefficient: 0.1, momentum: 0, eps: 0 }), INFO);
    const r = run(lo, 1, 1);
    expect(r.factors[0]).toBeCloseTo(0.5, 12); // 0.1·5/1
    close(r.w, [3 - 0.5 * 0.6, 4 - 0.5 * 0.8]);
    // a layer whose ratio exceeds 1 keeps the base rate (factor = clipHigh = 1)
    const hi = new Optimizer(makeOptimizerConfig({ kind: 'lalc', lr: 1, trustCoefficient: 10, momentum: 0, eps: 0 }), INFO);
    expect(run(hi, 1, 1).factors[0]).toBe(1);
    // and the lower clip bound holds
    const floor = new Optimizer(
      makeOptimizerConfig({ kind: 'lalc', lr: 1, trustCoefficient: 1e-4, clipLow: 0.2, momentum: 0, eps: 0 }),
      INFO,
    );
    expect(run(floor, 1, 1).factors[0]).toBe(0.2);
  });
});

describe('zero-norm guards', () => {
  it('trust ratio is 1 when ‖w‖ = 0 or ‖g‖ = 0 (LARS, LAMB); LALC keeps clipHigh', () => {
    expect(larsTrust(0, 3, 0.001, 0, 1e-8)).toBe(1);
    expect(larsTrust(2, 0, 0.001, 0, 1e-8)).toBe(1);
    expect(lambTrust(0, 1, 0, null)).toBe(1);
    expect(lambTrust(1, 0, 0, null)).toBe(1);
    expect(lalcFactor(0, 1, 0.1, 0, 0, 0, 0.8)).toBe(0.8);
    const o = new Optimizer(makeOptimizerConfig({ kind: 'lars', lr: 1, momentum: 0 }), INFO);
    const r = run(o, 1, 1, [0, 0], G);
    expect(r.factors[0]).toBe(1);
    close(r.w, [-0.6, -0.8]);
  });
  test.prop([
    fc.double({ min: 0, max: 1e6, noNaN: true }),
    fc.double({ min: 0, max: 1e6, noNaN: true }),
    fc.double({ min: 1e-4, max: 10, noNaN: true }),
    fc.double({ min: 0, max: 1, noNaN: true }),
    fc.double({ min: 0.01, max: 1, noNaN: true }),
  ])('LALC factor lies in [clipLow, clipHigh] ⊂ [0, 1]', (w, g, eta, a, b) => {
    const low = Math.min(a, b);
    const high = Math.max(a, b);
    const f = lalcFactor(w, g, eta, 0, 1e-8, low, high);
    expect(f).toBeGreaterThanOrEqual(low);
    expect(f).toBeLessThanOrEqual(high);
    expect(f).toBeLessThanOrEqual(1);
  });
});

describe('clipping', () => {
  it('global: factor c/‖g‖ over all tensors; layer: per tensor', () => {
    // ‖g‖ = √(9 + 16) = 5
    expect(clipFactors({ kind: 'global', maxNorm: 1 }, [9, 16])).toEqual([0.2, 0.2]);
    expect(clipFactors({ kind: 'global', maxNorm: 10 }, [9, 16])).toEqual([1, 1]);
    expect(clipFactors({ kind: 'layer', maxNorm: 2 }, [9, 1, 0])).toEqual([2 / 3, 1, 1]);
  });
  it('validates options', () => {
    expect(() => makeClipConfig({ kind: 'global', maxNorm: -1 })).toThrow(/clip.maxNorm: -1 .*> 0/);
    expect(() => makeClipConfig({ kind: 'row', maxNorm: 1 })).toThrow(/clip.kind: "row".*global \| layer/);
  });
});

describe('option validation names the option, the value and what is allowed', () => {
  it.each([
    [{ kind: 'lars', trustCoefficient: 0 }, /optimizer.trustCoefficient: 0 .*> 0/],
    [{ kind: 'sgd', momentum: 0.9 }, /optimizer.momentum: 0.9 .*no such option for optimizer "sgd"; its options are lr, weightDecay/],
    [{ kind: 'lalc', clipHigh: 1.5 }, /optimizer.clipHigh: 1.5 .*never raise it above the base rate/],
    [{ kind: 'lalc', clipLow: 0.9, clipHigh: 0.5 }, /optimizer.clipLow: 0.9 .*<= clipHigh \(0.5\)/],
    [{ kind: 'adam', beta2: 1 }, /optimizer.beta2: 1 .*\[0, 1\)/],
    [{ kind: 'rmsprop' }, /optimizer.kind: "rmsprop" .*sgd \| momentum \| adam \| lars \| lamb \| lalc/],
    [{ kind: 'momentum', nesterov: 'yes' }, /optimizer.nesterov: "yes" .*true or false/],
  ])('%o', (input, re) => {
    expect(() => makeOptimizerConfig(input)).toThrow(re);
  });
  it('a resolved config reads back unchanged', () => {
    for (const k of ['sgd', 'momentum', 'adam', 'lars', 'lamb', 'lalc']) {
      const c = makeOptimizerConfig({ kind: k });
      expect(makeOptimizerConfig(JSON.parse(JSON.stringify(c)))).toEqual(c);
    }
  });
});

describe('schedules', () => {
  it('linear warmup: (t+1)/W for t < W, then the base rate', () => {
    const s = makeSchedule({ kind: 'warmup', warmupSteps: 4 });
    expect([0, 1, 2, 3, 4, 10].map((t) => scheduleFactor(s, t, 100))).toEqual([0.25, 0.5, 0.75, 1, 1, 1]);
  });
  it('cosine after warmup: 1 at the end of warmup, minFactor at the last step, the midpoint halfway', () => {
    const s = makeSchedule({ kind: 'cosine', warmupSteps: 10, minFactor: 0.1 });
    expect(scheduleFactor(s, 0, 111)).toBeCloseTo(0.1, 15);
    expect(scheduleFactor(s, 10, 111)).toBeCloseTo(1, 15);
    expect(scheduleFactor(s, 60, 111)).toBeCloseTo(0.55, 15); // 0.1 + 0.9·(1 + cos(π/2))/2
    expect(scheduleFactor(s, 110, 111)).toBeCloseTo(0.1, 15);
  });
  it('step: γ^⌊t/stepSize⌋', () => {
    const s = makeSchedule({ kind: 'step', stepSize: 10, gamma: 0.5 });
    expect([0, 9, 10, 25].map((t) => scheduleFactor(s, t, 100))).toEqual([1, 1, 0.5, 0.25]);
  });
  it('validates', () => {
    expect(() => makeSchedule({ kind: 'warmup' })).toThrow(/schedule.warmupSteps: NaN|schedule.warmupSteps/);
    expect(() => makeSchedule({ kind: 'cosine', stepSize: 3 })).toThrow(/schedule.stepSize: 3 .*no such option for schedule "cosine"/);
  });
  test.prop([fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 200 })])(
    'warmup factor is in (0, 1] and non-decreasing',
    (W, t) => {
      const s = makeSchedule({ kind: 'warmup', warmupSteps: W });
      const a = scheduleFactor(s, t, 500);
      expect(a).toBeGreaterThan(0);
      expect(a).toBeLessThanOrEqual(1);
      expect(scheduleFactor(s, t + 1, 500)).toBeGreaterThanOrEqual(a);
    },
  );
});

describe('probe schedule', () => {
  it('every step for the first K, log-spaced after, and the last step', () => {
    const p = new ProbeSchedule(makeProbeConfig({ dense: 5, perDecade: 2 }), 200);
    // 5·10^(i/2) rounded: 5, 16, 50, 158
    expect(p.list()).toEqual([0, 1, 2, 3, 4, 5, 16, 50, 158, 199]);
    expect(new ProbeSchedule(makeProbeConfig({ dense: 2, every: 10 }), 30).list()).toEqual([0, 1, 2, 12, 22, 29]);
    expect(new ProbeSchedule(makeProbeConfig(false), 30).list()).toEqual([]);
  });
});
