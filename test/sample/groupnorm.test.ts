// The sampler's groupnorm kernel (src/sample/layers/groupnorm.ts): its forward against a direct reference
// written here (a different summation order: channel-major within the group, PyTorch's [B, G, C/G·H·W] view) and
// against the layernorm kernel at G = 1; the per-(sample, group) output statistics as a fast-check property
// (mean β, variance γ²v/(v + ε)), instance norm at G = C; the backward against central differences, alone on flat
// and image activations and in a whole net (∂L/∂W and ∂L/∂h through the perturb hook); and the G checks.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { drawLinear, drawNetwork, type Layer, layersOf, makeSpec, type NetworkSpec } from '../../src/network/index.js';
import { gnNormalize, lnNormalize, SAMPLE_LAYERS } from '../../src/sample/layers/index.js';
import { forwardBackward, layerListCheck, sampleNet } from '../../src/sample/network.js';
import { runCli } from '../helpers/cli.js';
import { fillGaussian } from './fastDraws.js';
import { type Eval, fdCheck } from './fdCheck.js';

const U = 2 ** -53;
const randn = (len: number, seed: number, scale = 1) => fillGaussian(new Float64Array(len), seed, scale);

/**
 * The definition, directly: for sample b and group g, the entries (p, c) with c in [g·C/G, (g+1)·C/G), visited
 * channel-major (c outer, p inner: the order of PyTorch's NCHW view, unlike the kernel's NHWC walk). Also a
 * per-entry bound on |kernel − reference|. Each implementation's μ is off by ≤ γ_m·A (A = mean |v| of the group,
 * γ_m = m·u/(1 − m·u), Higham 3.5), so v − μ by ≤ u|v − μ| + γ_m·A; q = mean (v − μ)² then by ≤ 3γ_{m+1}·q +
 * 2γ_m·A·σ (mean |v − μ| ≤ σ), and s = √(q + ε) relatively by ≤ 1.5γ_{m+1} + γ_m·A/s + u (σ ≤ s). So
 * |δẑ| ≤ γ_{m+1}·(|ẑ|(3 + A/s) + A/s) for each, twice that between the two, times |γ|, plus u·|out| for γẑ + β.
 */
function directGroupNorm(v: Float64Array, B: number, P: number, C: number, G: number, gamma: number, beta: number, eps: number) {
  const out = new Float64Array(v.length);
  const tol = new Float64Array(v.length);
  const cg = C / G;
  const m = P * cg;
  const gm = ((m + 1) * U) / (1 - (m + 1) * U);
  for (let b = 0; b < B; b++)
    for (let g = 0; g < G; g++) {
      const idx: number[] = [];
      for (let c = g * cg; c < (g + 1) * cg; c++) for (let p = 0; p < P; p++) idx.push((b * P + p) * C + c);
      let mu = 0;
      let A = 0;
      for (const i of idx) {
        mu += v[i];
        A += Math.abs(v[i]);
      }
      mu /= m;
      A /= m;
      let q = 0;
      for (const i of idx) q += (v[i] - mu) ** 2;
      const s = Math.sqrt(q / m + eps);
      for (const i of idx) {
        const z = (v[i] - mu) / s;
        out[i] = gamma * z + beta;
        tol[i] = 2 * Math.abs(gamma) * gm * (Math.abs(z) * (3 + A / s) + A / s) + 2 * U * Math.abs(out[i]);
      }
    }
  return { out, tol };
}

/** A walker for B samples of width n (sizes the scratch; no weights are used by a groupnorm alone). */
const sizer = (n: number, B: number) => makeSpec({ depth: 2, width: n, inputDim: n, batch: B });

describe('groupnorm forward', () => {
  const cases = [
    { what: 'flat, n = 12, G = 3', B: 4, P: 1, C: 12, G: 3 },
    { what: 'flat, n = 12, G = 12 (one unit a group: ẑ = 0)', B: 3, P: 1, C: 12, G: 12 },
    { what: 'image 3×4×6, G = 2', B: 3, P: 12, C: 6, G: 2 },
    { what: 'image 2×3×4, G = 4 (instance norm)', B: 2, P: 6, C: 4, G: 4 },
  ];
  for (const { what, B, P, C, G } of cases) {
    it(`against the direct definition: ${what}`, () => {
      const [gamma, beta, eps] = [1.3, -0.2, 1e-3];
      const v = randn(B * P * C, 21 + G, 1.7).map((x, i) => x + 0.5 * (i % 3));
      const layer: Layer = { kind: 'groupnorm', groups: G, gamma, beta, eps };
      const shape = P === 1 ? null : { h: P === 12 ? 3 : 2, w: P === 12 ? 4 : 3, c: C };
      const spec = sizer(P * C, B);
      const out = layerListCheck(spec, [layer], v, new Float64Array(v.length), { shape: shape ?? undefined }).out;
      const ref = directGroupNorm(v, B, P, C, G, gamma, beta, eps);
      const m = P * (C / G);
      let zmax = 0;
      for (const r of ref.out) zmax = Math.max(zmax, Math.abs((r - beta) / gamma));
      for (let t = 0; t < out.length; t++) expect(Math.abs(out[t] - ref.out[t]), `entry ${t}`).toBeLessThanOrEqual(ref.tol[t]);
      // not vacuous: the outputs vary (m = 1 aside, where ẑ = 0 and out = β exactly)
      if (m > 1) expect(zmax).toBeGreaterThan(0.5);
      else for (const o of out) expect(o).toBe(beta);
    });
  }

  it('G = 1 is the layernorm kernel (flat, and over channels × positions of an image)', () => {
    for (const [B, n] of [
      [4, 10],
      [3, 2 * 3 * 4],
    ]) {
      const net = sampleNet(sizer(n, B), [], B, 'typescript');
      const v = randn(B * n, 5 + n, 2.1);
      const z1 = new Float64Array(v.length);
      const z2 = new Float64Array(v.length);
      const s1 = lnNormalize(net, v, z1, n, 1e-4);
      // flat: n channels at one position; image: 4 channels at 6 positions; one group either way
      const s2 = n === 10 ? gnNormalize(net, v, z2, n, 1, 1, 1e-4) : gnNormalize(net, v, z2, 4, 6, 1, 1e-4);
      // the same sums in the same order (NHWC row-major is one pass over the sample in both): equal bit for bit
      expect(Array.from(z2)).toEqual(Array.from(z1));
      expect(Array.from(s2)).toEqual(Array.from(s1));
    }
  });

  fcTest.prop(
    {
      B: fc.integer({ min: 2, max: 4 }),
      P: fc.integer({ min: 1, max: 5 }),
      cg: fc.integer({ min: 1, max: 4 }),
      G: fc.integer({ min: 1, max: 4 }),
      center: fc.double({ min: -50, max: 50, noNaN: true }),
      gamma: fc.double({ min: 0.1, max: 3, noNaN: true }).chain((g) => fc.constantFrom(g, -g)),
      beta: fc.double({ min: -3, max: 3, noNaN: true }),
      eps: fc.constantFrom(0, 1e-5, 1e-2, 1),
      seed: fc.integer({ min: 1, max: 1000 }),
    },
    { numRuns: 60 },
  )('each (sample, group) of the output has mean β and variance γ²v/(v + ε) (v: the group variance of the input)', (a) => {
    const C = a.cg * a.G;
    const n = a.P * C;
    const m = a.P * a.cg;
    // one value a group at ε = 0 is 0/0 (NaN, as in PyTorch and the layernorm of one unit): not a case of the property
    fc.pre(!(m === 1 && a.eps === 0));
    const net = sampleNet(sizer(n, a.B), [], a.B, 'typescript');
    const v = randn(a.B * n, a.seed).map((x) => x + a.center);
    const z = new Float64Array(v.length);
    gnNormalize(net, v, z, C, a.P, a.G, a.eps);
    for (let b = 0; b < a.B; b++)
      for (let g = 0; g < a.G; g++) {
        const idx: number[] = [];
        for (let p = 0; p < a.P; p++) for (let c = g * a.cg; c < (g + 1) * a.cg; c++) idx.push((b * a.P + p) * C + c);
        const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
        const mu = mean(idx.map((i) => v[i]));
        const vin = mean(idx.map((i) => (v[i] - mu) ** 2));
        const out = idx.map((i) => a.gamma * z[i] + a.beta);
        const mo = mean(out);
        const vo = mean(out.map((o) => (o - mo) ** 2));
        // |center| ≤ 50 against a spread ~1: centring loses ≲ m·u·50/σ relative in ẑ; 1e-10 covers it by 10³ for m ≤ 20
        expect(Math.abs(mo - a.beta)).toBeLessThan(1e-10 * (1 + Math.abs(a.gamma)));
        const want = m === 1 || vin + a.eps === 0 ? 0 : (a.gamma ** 2 * vin) / (vin + a.eps);
        expect(Math.abs(vo - want)).toBeLessThan(1e-9 * a.gamma ** 2);
      }
  });
});

describe('groupnorm backward against central differences (float64)', () => {
  /** ∂/∂x (and ∂/∂W of block 1's lead) of f = Σ G ⊙ list(x), the list on a flat input or an image. */
  function check(
    what: string,
    spec: NetworkSpec,
    layers: Layer[],
    inShape: { h: number; w: number; c: number } | null,
    n: number,
    seed = 5,
  ) {
    const B = spec.batch as number;
    const p1 = drawLinear(spec, seed, 1);
    for (let i = 0; i < p1.b.length; i++) p1.b[i] = 0.1 * (i + 1);
    const params = [p1, p1];
    const x = randn(B * n, seed, 1.1);
    const opts = { params, shape: inShape ?? undefined };
    const probe = layerListCheck(spec, layers, x, new Float64Array(0), opts);
    const G = randn(probe.out.length, seed + 100);
    const evalF = (): Eval => {
      const out = layerListCheck(spec, layers, x, G, opts).out;
      let f = 0;
      let F = 0;
      for (let t = 0; t < out.length; t++) {
        f += G[t] * out[t];
        F += Math.abs(G[t] * out[t]);
      }
      return { f, F };
    };
    const r = layerListCheck(spec, layers, x, G, opts);
    // rounding chain: f sums out.length terms; a dense/conv ≤ 9·C terms; a group's mean and variance ≤ B·n; a few more
    const chain = probe.out.length + 9 * 8 + 4 * B * n + 40;
    fdCheck(`${what}: ∂f/∂x`, x, evalF, r.dx!, chain);
    if (r.dW) fdCheck(`${what}: ∂f/∂W`, p1.W, evalF, r.dW, chain);
  }

  // G = n would leave one unit a group (ẑ = 0, no gradient at all), and G = 3 at ε = 0 two (ẑ = ±1, the
  // same): both have a zero Jacobian, so G = 3 runs at ε = 0.05 and the one-unit case is the image's instance norm
  it('flat: dense(6) → groupnorm (G = 1, 2 at ε = 10⁻³ and 0; G = 3 at ε = 0.05) → tanh', () => {
    for (const [groups, eps] of [
      [1, 1e-3],
      [2, 1e-3],
      [2, 0],
      [3, 0.05],
    ]) {
      const list = [
        { kind: 'dense', width: 6, sigmaB2: 0.1 },
        { kind: 'groupnorm', groups, gamma: 1.3, beta: 0.2, eps },
        { kind: 'act', activation: 'tanh' },
      ];
      const spec = makeSpec({ layers: list, inputDim: 5, batch: 3 });
      check(`dense → GN(${groups}) → tanh, ε = ${eps}`, spec, layersOf(spec), null, 5);
    }
  });

  it('image: conv2d(4) → groupnorm (G = 2; G = 4, instance norm) → tanh, on 3×3×2', () => {
    for (const groups of [2, 4]) {
      const list = [
        { kind: 'conv2d', channels: 4, kernel: 3 },
        { kind: 'groupnorm', groups, gamma: 0.9, beta: -0.1, eps: 1e-3 },
        { kind: 'act', activation: 'tanh' },
      ];
      const spec = makeSpec({ layers: list, image: [3, 3, 2], batch: 2 });
      check(`conv → GN(${groups}) → tanh`, spec, layersOf(spec), { h: 3, w: 3, c: 2 }, 18);
    }
  });

  it('a whole net: dense → GN(2) → gelu ×3, ∂L/∂W_l and ∂L/∂h_l (perturb hook) against differences of the loss', () => {
    // width 6, 3 units a group: with 2 a group (width 4) GN's output is ±√(v/(v+ε)) per pair, so ∂L/∂W of the
    // first block is of order ε/v and fell below the non-vacuity floor 1e-3 for most seeds (seed 3 under MT19937
    // was one of the few above it; 2 of 10 seeds under either generator): a property of the seed, not a check
    const layers = Array.from({ length: 3 }, () => [
      { kind: 'dense', width: 6, sigmaB2: 0.05 },
      { kind: 'groupnorm', groups: 2, gamma: 1.2, beta: 0.1, eps: 1e-3 },
      { kind: 'act', activation: 'gelu' },
    ]).flat();
    const spec = makeSpec({ layers, inputDim: 4, batch: 4 });
    const seed = 3;
    const ps = drawNetwork(spec, seed);
    const { dh, dW } = forwardBackward(spec, seed, { loss: 'xent', params: ps, keepGradients: true, backend: 'typescript' }).gradients!;
    // the loss sums B terms through 3 blocks of ≤ (B·n + 4n + 20)-long chains, relative to |L| + B
    const chain = 3 * (4 * 6 + 4 * 6 + 20);
    const lossAt = (perturb?: (l: number, h: Float64Array) => void): Eval => {
      const f = forwardBackward(spec, seed, { loss: 'xent', params: ps, perturb, backend: 'typescript' }).loss;
      return { f, F: Math.abs(f) + 4 };
    };
    for (let l = 0; l < 3; l++) {
      fdCheck(`block ${l + 1}: ∂L/∂W`, ps[l].W, () => lossAt(), dW[l], chain);
      const shift = new Float64Array(dh[l].length);
      fdCheck(
        `block ${l + 1}: ∂L/∂h`,
        shift,
        () =>
          lossAt((layer, h) => {
            if (layer === l + 1) for (let t = 0; t < h.length; t++) h[t] += shift[t];
          }),
        dh[l],
        chain,
      );
    }
  });
});

describe('groupnorm in the table and its G', () => {
  it('is in the sampler table', () => {
    expect(typeof SAMPLE_LAYERS.groupnorm.forward).toBe('function');
  });
  it('a groupnorm whose output is a constant is refused: one value a group, or instance norm before gap', () => {
    const flat = (groups: number) => () =>
      makeSpec({
        layers: [
          { kind: 'dense', width: 6 },
          { kind: 'groupnorm', groups },
          { kind: 'act', activation: 'tanh' },
        ],
        inputDim: 3,
        batch: 4,
      });
    expect(flat(6)).toThrow(/layers\[1\]\.groups: 6 .*a group of one value normalizes to 0/);
    expect(flat(3)).not.toThrow();
    const image = (groups: number, next: object[]) => () =>
      makeSpec({ layers: [{ kind: 'conv2d', channels: 4 }, { kind: 'groupnorm', groups }, ...next], image: [3, 3, 2], batch: 2 });
    expect(image(4, [{ kind: 'gap' }])).toThrow(/layers\[1\]\.groups: 4 .*global average pooling of an instance norm/);
    expect(image(2, [{ kind: 'gap' }])).not.toThrow();
    expect(image(4, [{ kind: 'act', activation: 'tanh' }, { kind: 'gap' }])).not.toThrow();
  });
  it('G must divide the channels (image) or the width (flat), named with its value and what is allowed', () => {
    expect(() =>
      makeSpec({
        layers: [
          { kind: 'dense', width: 10 },
          { kind: 'groupnorm', groups: 4 },
        ],
        inputDim: 3,
      }),
    ).toThrow(/layers\[1\]\.groups: 4 .*divisor of the width 10/);
    expect(() =>
      makeSpec({
        layers: [
          { kind: 'conv2d', channels: 6 },
          { kind: 'groupnorm', groups: 4 },
        ],
        image: [4, 4, 2],
      }),
    ).toThrow(/layers\[1\]\.groups: 4 .*channel count 6/);
    expect(() =>
      makeSpec({
        layers: [
          { kind: 'dense', width: 6 },
          { kind: 'groupnorm', groups: 0 },
        ],
        inputDim: 3,
      }),
    ).toThrow(/layers\[1\]\.groups: 0 .*integer from 1/);
    expect(() => makeSpec({ layers: [{ kind: 'dense', width: 6 }, { kind: 'groupnorm' }], inputDim: 3 })).toThrow(/layers\[1\]\.groups/);
    expect(() =>
      makeSpec({
        layers: [
          { kind: 'dense', width: 8 },
          {
            kind: 'residual',
            layers: [
              { kind: 'groupnorm', groups: 3 },
              { kind: 'dense', width: 8 },
            ],
          },
        ],
        inputDim: 3,
      }),
    ).toThrow(/layers\[1\]\.layers\[0\]\.groups: 3/);
    // the allowed values pass: G = 1 and G = C on an image, G = n on a flat one
    for (const groups of [1, 2, 3, 6])
      expect(() =>
        makeSpec({
          layers: [
            { kind: 'conv2d', channels: 6 },
            { kind: 'groupnorm', groups },
          ],
          image: [4, 4, 2],
        }),
      ).not.toThrow();
  });
  it('on the command line: a G that does not divide the width exits 2 with one line naming the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sp-gn-'));
    const file = join(dir, 'layers.json');
    writeFileSync(
      file,
      JSON.stringify({
        inputDim: 4,
        layers: [
          { kind: 'dense', width: 10 },
          { kind: 'groupnorm', groups: 4 },
          { kind: 'act', activation: 'relu' },
        ],
      }),
    );
    const r = runCli(['sample', '--layers', file, '--seeds', '1']);
    expect(r.code, r.stderr).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/layers\[1\]\.groups: 4 .*divisor of the width 10/);
  });
});
