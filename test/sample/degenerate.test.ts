// Degenerate top gradients (issue 11, item 5). A readout L = Σ_i r·x_L(i) after BatchNorm is constant
// when the last block's output is an affine function of ẑ (Σ_i ẑ_i = 0 per unit), so its "gradients"
// are round-off. Checked here: the a-priori rule (readoutConstantReason) and the run-time test
// (bnRetained against roundOffBound) agree on every degenerate case; the run-time test also catches
// cases the rule cannot see (an affine expr: activation; a projection loss whose rows are all equal,
// i.e. a readout in disguise, which bypasses checkLoss: that is our synthetic degenerate case), and it
// leaves real gradients alone, however small: a nearly affine leaky ReLU whose top gradient is 10⁻¹⁵ of
// its input and is measured to 10⁻³, a vanishing tanh net with BN, and a deep plain net.
import { describe, expect, it } from 'vitest';
import { drawReadout, makeSpec, type NetworkSpec, type SpecInput } from '../../src/network/index.js';
import { summarize } from '../../src/records/index.js';
import { forwardBackward, readoutConstantReason, RoundOffGradientError, roundOffBound } from '../../src/sample/network.js';
import { chooseLoss, sampleNetwork } from '../../src/sample/sampler.js';
import { runCli } from '../helpers/cli.js';
import { fillGaussian } from './fastDraws.js';
import { expectAgrees, expectExcludes, expectResolves } from '../helpers/agreement.js';

const WIDTH = 64;
const B = 16;
const REACH = Math.sqrt(B - 1); // max |ẑ| in a batch of B (biased variance)
// Standard errors allowed by the two sampled checks below (expectAgrees, the rule of compare and reproduce), above
// the default AGREEMENT_Z = 2: each SE is over 6 seeds, so the error is t with 5 degrees of freedom, whose
// two-sided tail is 3.0% at 3 (6% for both checks) but 10% at 2 (19% for both).
const Z_SEEDS = 3;

/** The readout r of the seed copied into every row: the projection loss then equals the readout loss. */
function readoutRows(spec: NetworkSpec, seed: number): Float64Array {
  const n = spec.width as number;
  const r = drawReadout(n, 1, seed);
  const P = new Float64Array(B * n);
  for (let i = 0; i < B; i++) P.set(r, i * n);
  return P;
}

function roundOffError(spec: NetworkSpec, seed: number, opts: Parameters<typeof forwardBackward>[2]): RoundOffGradientError {
  try {
    forwardBackward(spec, seed, opts);
  } catch (e) {
    if (e instanceof RoundOffGradientError) return e;
    throw e;
  }
  throw new Error('expected a RoundOffGradientError');
}

const base = { depth: 5, width: WIDTH, batch: B } as const;
const DEGENERATE: [string, SpecInput][] = [
  ['identity', { ...base, activation: 'identity' }],
  ['identity, γ = 1.7, β = −0.4', { ...base, activation: 'identity', bn: { gamma: 1.7, beta: -0.4 } }],
  ['leaky-relu:1', { ...base, activation: 'leaky-relu:1' }],
  ['relu, β = |γ|√(B−1)·1.001 (u > 0 always)', { ...base, activation: 'relu', bn: { gamma: 0.5, beta: 0.5 * REACH * 1.001 } }],
  [
    'leaky-relu:0.2, γ = −0.5, β = −|γ|√(B−1)·1.001 (u < 0 always)',
    { ...base, activation: 'leaky-relu:0.2', bn: { gamma: -0.5, beta: -0.5 * REACH * 1.001 } },
  ],
  ['identity, residual', { ...base, activation: 'identity', residual: { scale: 0.5 } }],
  ['linear-act-bn, tanh', { ...base, activation: 'tanh', order: 'linear-act-bn' }],
];

describe('a readout that is constant', () => {
  for (const [name, input] of DEGENERATE) {
    it(`${name}: refused a priori, and the run-time test agrees (round-off at the top layer)`, () => {
      const spec = makeSpec(input);
      expect(readoutConstantReason(spec)).not.toBeNull();
      expect(() => forwardBackward(spec, 1, { loss: 'readout' })).toThrow(
        /^loss: "readout" is not allowed; expected projection, mse or xent for order/,
      );
      // the same loss as a projection with equal rows passes checkLoss; the run-time test must catch it
      const e = roundOffError(spec, 1, { loss: 'projection', readout: readoutRows(spec, 1) });
      expect(e.name).toBe('SpecError');
      expect(e.field).toBe('loss');
      expect(e.layer).toBe(spec.depth);
      expect(e.retained).toBeLessThan(roundOffBound(B));
      expect(e.message).toContain(`at layer ${spec.depth} of ${spec.depth}`);
      expect(e.message).toContain(e.retained.toExponential(2));
      // and the default loss is one whose gradient is real
      const s = forwardBackward(spec, 1);
      expect(s.lossKind).toBe(spec.order === 'linear-act-bn' ? 'mse' : 'projection');
      expect(s.bnRetained[spec.depth - 1]).toBeGreaterThan(0.1);
    });
  }

  it('not refused where φ(γẑ + β) is not affine on the range of ẑ', () => {
    for (const input of [
      { ...base, activation: 'relu' },
      { ...base, activation: 'relu', bn: { gamma: 0.5, beta: 0.5 * REACH * 0.999 } },
      { ...base, activation: 'tanh' },
      { ...base, activation: 'identity', order: 'linear-act' as const },
    ]) {
      const spec = makeSpec(input);
      expect(readoutConstantReason(spec)).toBeNull();
      expect(chooseLoss(spec, undefined)).toEqual({ loss: 'readout', note: null });
    }
    // relu at β = 0 crosses the kink in every unit: the readout's top gradient is real. Per unit the
    // retained fraction is ‖P⊥ 1[ẑ>0]‖²/‖1[ẑ>0]‖² ≈ (1/4 − 1/(2π))/(1/2) = 0.18 for large B.
    const s = forwardBackward(makeSpec({ ...base, activation: 'relu' }), 2, { loss: 'readout' });
    expect(s.bnRetained[base.depth - 1]).toBeGreaterThan(0.05);
  });

  it('an affine expr: activation (invisible to the rule) is refused at run time, also from worker threads', async () => {
    const spec = makeSpec({ ...base, activation: 'expr:2*x + 1' });
    expect(readoutConstantReason(spec)).toBeNull();
    const e = roundOffError(spec, 3, {});
    expect(e.layer).toBe(base.depth);
    expect(e.retained).toBeLessThan(roundOffBound(B));
    // the worker's error comes back as a SpecError with the same message (the CLI prints it as one line)
    await expect(sampleNetwork(spec, { seeds: 2, threads: 2 })).rejects.toMatchObject({
      name: 'SpecError',
      message: expect.stringMatching(
        /^loss: "readout" is not allowed; expected a loss whose gradient survives BatchNorm's backward; at layer 5 of 5 only /,
      ),
    });
    // the same net with the projection loss is fine
    expect(forwardBackward(spec, 3, { loss: 'projection' }).bnRetained[base.depth - 1]).toBeGreaterThan(0.5);
  });

  it('the round-off bound sits far between round-off and a real gradient (B = 4, 32, 256)', () => {
    for (const b of [4, 32, 256]) {
      const spec = makeSpec({ depth: 3, width: 128, batch: b, activation: 'identity' });
      const n = 128;
      const r = drawReadout(n, 1, 1);
      const P = new Float64Array(b * n);
      for (let i = 0; i < b; i++) P.set(r, i * n);
      const e = roundOffError(spec, 1, { loss: 'projection', readout: P });
      // measured round-off: 7e-33, 2e-31, 1e-29; the derived bound 16(B+1)B²u² is ≥ 10³ above it
      expect(e.retained).toBeLessThan(roundOffBound(b) / 1000);
      expect(roundOffBound(b)).toBeCloseTo(16 * (b + 1) * b * b * 2 ** -106, 40);
      expect(roundOffBound(b)).toBeLessThan(1e-20);
    }
  });
});

describe('a projection with independent rows: its top gradient is real', () => {
  it('identity BN: BN keeps (B−2)/B of an isotropic gradient (6 seeds, width 256, B = 16)', () => {
    // g = ∂L/∂x_L has i.i.d. N(0, 1/N) rows independent of ẑ, so per unit g_k is isotropic in batch
    // space and the projection onto the complement of {1, ẑ_k} keeps (B−2)/B of ‖g_k‖² in expectation
    // (a Beta((B−2)/2, 1) fraction); the inv²-weighted ratio over 256 units has a ratio-of-sums bias of
    // O(1/256 · var) ≈ 10⁻⁵, far inside Z_SEEDS se.
    const spec = makeSpec({ depth: 4, width: 256, batch: B, activation: 'identity' });
    const top = [1, 2, 3, 4, 5, 6].map((s) => forwardBackward(spec, s).bnRetained[3]);
    const m = summarize(top);
    const se = m.sd / Math.sqrt(m.n);
    const want = (B - 2) / B;
    const opts = { relTol: 0, se, z: Z_SEEDS };
    expectResolves(opts, want, 0.02 * want); // the check can tell (B−2)/B from, e.g., (B−3)/B (−7%)
    expectAgrees(want, m.mean, opts, 'retained fraction');
    expectExcludes((B - 3) / B, m.mean, opts, '(B−3)/B');
  });
});

describe('genuinely small gradients are kept', () => {
  it('nearly affine leaky ReLU: a top gradient 10⁻¹⁵ of its input is kept and measured right', () => {
    // One block, inputs √B·I_B (orthogonal samples), so h_k = √B·W_k is i.i.d. N(0, σ²) over the batch
    // and ẑ_k is uniform on the sphere in the centred subspace. φ′ = a + δ·1[ẑ>0] with a = 1 − δ and the
    // readout gradient constant over samples, so BN's projection keeps exactly δ²‖P⊥ 1[ẑ>0]‖² of γ²a²B·…:
    // retained/δ² → q(B) = E‖P⊥ 1[ẑ>0]‖²/B (ẑ's direction is independent of inv and R), up to O(δ).
    const n = 2048;
    const X = new Float64Array(B * B);
    for (let i = 0; i < B; i++) X[i * B + i] = Math.sqrt(B);
    const ratio = (delta: number, seed: number) => {
      const spec = makeSpec({ depth: 1, width: n, inputDim: B, batch: B, activation: `leaky-relu:${1 - delta}`, bn: { eps: 0 } });
      expect(readoutConstantReason(spec)).toBeNull();
      const s = forwardBackward(spec, seed, { loss: 'readout', inputs: X });
      return s.bnRetained[0] / delta ** 2;
    };
    const seeds = [1, 2, 3, 4, 5, 6];
    const small = seeds.map((s) => ratio(1e-7, s));
    const large = seeds.map((s) => ratio(1e-4, s));
    // same weights, same sign pattern: retained ∝ δ² exactly up to O(δ) = 10⁻⁴ relative (×10 margin)
    for (let i = 0; i < seeds.length; i++) expect(Math.abs(small[i] / large[i] - 1)).toBeLessThan(1e-3);
    // q(B) by Monte Carlo on the sphere, independent of the network code
    const M = 40000;
    const z = new Float64Array(B);
    const qs: number[] = [];
    const g = fillGaussian(new Float64Array(M * B), 4242);
    for (let m = 0; m < M; m++) {
      let mu = 0;
      for (let i = 0; i < B; i++) mu += g[m * B + i] / B;
      let ss = 0;
      for (let i = 0; i < B; i++) {
        z[i] = g[m * B + i] - mu;
        ss += z[i] * z[i];
      }
      const sc = Math.sqrt(B / ss);
      let mi = 0;
      let mz = 0;
      for (let i = 0; i < B; i++) {
        z[i] *= sc;
        if (z[i] > 0) {
          mi += 1 / B;
          mz += z[i] / B;
        }
      }
      let r = 0;
      for (let i = 0; i < B; i++) r += ((z[i] > 0 ? 1 : 0) - mi - z[i] * mz) ** 2;
      qs.push(r / B);
    }
    const mc = summarize(qs);
    const net = summarize(small);
    const se = Math.sqrt(net.sd ** 2 / net.n + mc.sd ** 2 / mc.n);
    expect(mc.mean).toBeLessThan(0.25 - 1 / (2 * Math.PI)); // below its large-B limit 0.0908 (0.079 at B = 16)
    expectResolves({ relTol: 0, se, z: Z_SEEDS }, mc.mean, 0.05 * mc.mean);
    // ratio-of-sums over 2048 units: bias O(1/n) ≈ 5·10⁻⁴ relative, inside the 0.002·q allowance
    const opts = { relTol: 0, absTol: 0.002 * mc.mean, se, z: Z_SEEDS };
    expectAgrees(mc.mean, net.mean, opts, 'retained/δ²');
    // power: the network's q is that of B = 16, not the large-B limit (15% above)
    expectExcludes(0.25 - 1 / (2 * Math.PI), net.mean, opts, 'the large-B limit of q');
  });

  it('a vanishing BN net (saturated tanh) and a deep plain net are not refused', () => {
    // tanh at β = 10, γ = 0.6: φ′(u) ≈ 4e^{−2u} ∝ e^{−1.2ẑ}, tiny (u ∈ 10 ± 2.3) and far from affine in ẑ:
    // for Gaussian ẑ the part of e^{−cẑ} outside span{1, ẑ} is (e^{c²} − 1 − c²)/e^{c²} = 0.42 of its
    // square. The first block's gradient is ~10⁻¹⁵ of the second's (φ′² ~ 10⁻¹⁷). ε = 0: the block
    // outputs 1 − O(10⁻⁹) vary by ~10⁻⁹ over the batch, far below the default ε = 10⁻⁵, which would
    // flatten ẑ above and, a few blocks up, make the outputs equal to the last bit: such a loss really is
    // constant in float64 (and is refused).
    const sat = forwardBackward(
      makeSpec({ depth: 3, width: WIDTH, batch: B, activation: 'tanh', bn: { gamma: 0.6, beta: 10, eps: 0 } }),
      1,
    );
    expect(sat.logGradHSq[0] - sat.logGradHSq[1]).toBeLessThan(Math.log(1e-12));
    for (let l = 0; l < 3; l++) expect(sat.bnRetained[l]).toBeGreaterThan(0.1);
    // plain tanh, σ_w² = 0.25: the gradient shrinks by ≤ σ_w² per layer, to < 10⁻³⁰ at depth 60; no BN, no test
    const plain = forwardBackward(
      makeSpec({ depth: 60, width: WIDTH, batch: B, order: 'linear-act', activation: 'tanh', init: { sigmaW2: 0.25 } }),
      1,
    );
    expect(plain.logGradHSq[0]).toBeLessThan(Math.log(1e-30));
    expect(plain.bnRetained.every((v) => Number.isNaN(v))).toBe(true);
  });
});

describe('the default loss and an explicit readout', () => {
  it('sampleNetwork: the projection by default for linear BN, tagged; an explicit readout refused', async () => {
    const spec = makeSpec({ ...base, activation: 'identity' });
    const r = await sampleNetwork(spec, { seeds: 2, threads: 1 });
    expect(r.loss).toBe('projection');
    expect(r.lossNote).toMatch(/^default loss projection, not readout: for order linear-bn-act with activation identity/);
    expect(r.records.every((x) => x.tags?.loss === 'projection' && x.tags?.lossNote === r.lossNote)).toBe(true);
    await expect(sampleNetwork(spec, { seeds: 1, threads: 1, loss: 'readout' })).rejects.toMatchObject({
      name: 'SpecError',
      field: 'loss',
      value: 'readout',
    });
    const relu = await sampleNetwork(makeSpec({ ...base }), { seeds: 1, threads: 1 });
    expect(relu.loss).toBe('readout');
    expect(relu.lossNote).toBeNull();
    expect(relu.records.some((x) => 'lossNote' in (x.tags ?? {}))).toBe(false);
  });

  it('the CLI says which loss it used on stderr, and refuses --loss readout in one line', () => {
    const args = ['sample', '--depth', '4', '--width', '16', '--batch', '8', '--seeds', '1', '--threads', '1', '--activation', 'identity'];
    const ok = runCli([...args, '--json']);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toContain('loss projection');
    expect(ok.stderr).toContain('default loss projection, not readout');
    expect(JSON.parse(ok.stdout).loss).toBe('projection');
    const bad = runCli([...args, '--loss', 'readout']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(
      /^signalprop: --loss: "readout" is not allowed; expected projection, mse or xent for order linear-bn-act with activation identity/,
    );
  });
});
