// LayerNorm and RMSNorm theory at infinite width (the theory table, src/theory/layers/) against closed forms
// derived by hand (docs/derivations.md §17) and against an independent quadrature written here (composite
// Simpson on [−12, 12], a different rule from the code's Gauss–Legendre panels and closed forms).
import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { makeSpec, normCdf, normPdf, parseActivation, SpecError } from '../../src/network/index.js';
import type { SPRecord } from '../../src/records/index.js';
import { normProjection, predict, radialWeight, spectrumProblem } from '../../src/theory/index.js';
import { predictLayers } from '../../src/theory/predictTable.js';

/**
 * E f(z), z ~ N(0, 1), composite Simpson with 24000 panels on [−12, 12]. Error: h⁴/180·max|(fφ)⁗| with
 * h = 1e-3 is < 1e-13 for the smooth integrands here; the tail beyond 12 is < e^{−72}. Integrands with a
 * kink (ReLU) are not given to it.
 */
function simpson(f: (z: number) => number): number {
  const N = 24000;
  const a = -12;
  const h = 24 / N;
  let s = 0;
  for (let i = 0; i <= N; i++) {
    const z = a + i * h;
    const w = i === 0 || i === N ? 1 : i % 2 ? 4 : 2;
    s += w * f(z) * Math.exp(-0.5 * z * z);
  }
  return (s * h) / 3 / Math.sqrt(2 * Math.PI);
}

const growth = (order: string, activation: string, extra: Record<string, unknown> = {}) =>
  predict(makeSpec({ order: order as any, activation, depth: 12, width: 256, batch: 32, bn: { gamma: 1, beta: 0, eps: 0 }, ...extra }))
    .predictedGrowth;

const val = (recs: SPRecord[], q: string, layer: number | null) => {
  const r = recs.find((x) => x.quantity === q && x.layer === layer);
  if (!r) throw new Error(`no record ${q} at ${layer}`);
  return r.value;
};

// Tolerances: the closed forms and the Simpson values are accurate to ~1e-13 (above); the code's
// quadrature to ~1e-12 (docs/theory.md §1); 1e-10 leaves two orders of margin over both and is still four
// orders below the 1e-6 the issue asks for.
const TOL = 1e-10;

describe('Linear → LN → φ and Linear → RMSNorm → φ, infinite width', () => {
  test.each(['linear-ln-act', 'linear-rms-act'])('%s, ReLU, γ = 1, β = 0, ε = 0: growth exactly 1 (E φ′² = E φ² = 1/2)', (order) => {
    const p = predict(makeSpec({ order: order as any, depth: 12, width: 256, batch: 32, bn: { gamma: 1, beta: 0, eps: 0 } }));
    expect(Math.abs(p.predictedGrowth - 1)).toBeLessThan(1e-14);
    for (let l = 2; l <= 11; l++) expect(Math.abs(val(p.records, 'grad_growth', l) - 1)).toBeLessThan(1e-14);
    // block 1's ‖∂L/∂h_1‖² is divided by the input's σ_w²·1 = 2 instead of σ_w² E φ² = 1
    expect(val(p.records, 'grad_growth', 1)).toBeCloseTo(0.5, 14);
    expect(val(p.records, 'q', 5)).toBeCloseTo(0.5, 14);
    expect(val(p.records, 'corr', 5)).toBeGreaterThan(0);
  });

  test.each(['tanh', 'gelu', 'silu'])('linear-ln-act, %s: growth = E φ′(z)²/E φ(z)² (Simpson) to 1e-10', (a) => {
    const phi = parseActivation(a);
    const want = simpson((z) => phi.dphi(z) ** 2) / simpson((z) => phi.phi(z) ** 2);
    expect(Math.abs(growth('linear-ln-act', a) - want)).toBeLessThan(TOL * want);
    expect(Math.abs(growth('linear-rms-act', a) - want)).toBeLessThan(TOL * want);
  });

  test.each(['tanh', 'gelu', 'silu'])('linear-ln-act, %s, γ = 0.7, β = 0.2: growth = γ² E φ′(γz+β)²/E φ(γz+β)² (Simpson)', (a) => {
    const phi = parseActivation(a);
    const g = 0.7;
    const b = 0.2;
    const want = (g * g * simpson((z) => phi.dphi(g * z + b) ** 2)) / simpson((z) => phi.phi(g * z + b) ** 2);
    expect(Math.abs(growth('linear-ln-act', a, { bn: { gamma: g, beta: b, eps: 0 } }) - want)).toBeLessThan(TOL * want);
  });

  test('ReLU with a shift β: γ² Φ(t)/((γ² + β²)Φ(t) + βγ ϕ(t)), t = β/γ (closed form)', () => {
    for (const [g, b] of [
      [1, 0.5],
      [1.3, -0.4],
      [0.8, 1.5],
    ]) {
      const t = b / g;
      const want = (g * g * normCdf(t)) / ((g * g + b * b) * normCdf(t) + b * g * normPdf(t));
      expect(growth('linear-ln-act', 'relu', { bn: { gamma: g, beta: b, eps: 0 } })).toBeCloseTo(want, 11);
    }
  });

  test('ReLU with ε and σ_b²: q_h solves q² + (ε − A − σ_b²)q − σ_b²ε = 0, A = σ_w²γ²/2; growth = A/(q_h + ε)', () => {
    for (const [sw, sb, eps, g] of [
      [2, 0, 0.3, 1],
      [1.5, 0.2, 0.1, 1.2],
      [3, 0.5, 0.05, 0.6],
    ]) {
      const A = (sw * g * g) / 2;
      const c = A + sb - eps;
      const qh = (c + Math.sqrt(c * c + 4 * sb * eps)) / 2;
      const want = A / (qh + eps);
      const got = growth('linear-ln-act', 'relu', { init: { sigmaW2: sw, sigmaB2: sb }, bn: { gamma: g, beta: 0, eps } });
      expect(got).toBeCloseTo(want, 11);
      if (sb === 0) expect(got).toBeCloseTo(1, 12); // ε drops out at the fixed point without a bias
    }
  });
});

describe('Linear → φ → LN (the norm after the activation divides by Var φ, like BN)', () => {
  test('ReLU, ε = 0: growth π/(π−1), the large-batch BN value', () => {
    expect(growth('linear-act-ln', 'relu')).toBeCloseTo(Math.PI / (Math.PI - 1), 12);
  });
  test.each(['tanh', 'gelu', 'silu'])('%s, σ_w² = 1: E φ′(z)²/Var φ(z) (Simpson)', (a) => {
    const phi = parseActivation(a);
    const m = simpson((z) => phi.phi(z));
    const want = simpson((z) => phi.dphi(z) ** 2) / (simpson((z) => phi.phi(z) ** 2) - m * m);
    expect(Math.abs(growth('linear-act-ln', a, { init: { sigmaW2: 1, sigmaB2: 0 } }) - want)).toBeLessThan(TOL * want);
  });
});

describe('pre-LN and post-LN residual blocks', () => {
  test('post-LN ReLU, ε = 0: growth (1 + α²σ_w²/2)/(1 + α²σ_w²/2 − α²σ_w²/(2π)), every block (closed form)', () => {
    for (const [al, sw] of [
      [1, 2],
      [0.5, 2],
      [1, 1.2],
    ]) {
      const p = predict(
        makeSpec({
          order: 'postln-residual',
          depth: 10,
          width: 64,
          batch: 16,
          residual: { scale: al },
          init: { sigmaW2: sw },
          bn: { eps: 0 },
        }),
      );
      const a2 = al * al * sw;
      const want = (1 + a2 / 2) / (1 + a2 / 2 - a2 / (2 * Math.PI));
      for (let l = 2; l <= 9; l++) expect(val(p.records, 'grad_growth', l)).toBeCloseTo(want, 12);
    }
  });
  test('pre-LN ReLU, ε = 0, α = 1: the stream variance grows by Var φ(h) = 1 − 1/π per block, growth 1 + 1/v_l (harmonic)', () => {
    // x_l = x_{l−1} + φ(W LN(x_{l−1})): the branch sees LN(x) of second moment 1 → h ~ N(0, 2), E φ(h) = 1/√π,
    // Var φ(h) = 1 − 1/π, independent of x_{l−1}: v_l = 1 + l(1 − 1/π), μ_l = l/√π, q_l = v_l + μ_l².
    // Backward: ‖∂L/∂x_{l−1}‖² = ‖∂L/∂x_l‖²(1 + σ_w²·E φ′²/v_{l−1}) = (1 + 1/v_{l−1})‖∂L/∂x_l‖², and
    // ∂L/∂h_l = φ′ ⊙ ∂L/∂x_l, so grad_growth_l = 1 + 1/v_l.
    const L = 12;
    const p = predict(makeSpec({ order: 'preln-residual', depth: L, width: 64, batch: 16, bn: { eps: 0 } }));
    for (let l = 1; l < L; l++) {
      const v = 1 + l * (1 - 1 / Math.PI);
      expect(val(p.records, 'grad_growth', l)).toBeCloseTo(1 + 1 / v, 11);
      expect(val(p.records, 'q', l)).toBeCloseTo(v + (l * l) / Math.PI, 11);
    }
  });
});

describe('properties', () => {
  fcTest.prop([fc.double({ min: 0.05, max: 20, noNaN: true }), fc.constantFrom('tanh', 'gelu', 'silu', 'relu', 'leaky-relu:0.2')], {
    numRuns: 20,
  })('LN with ε = 0, σ_b² = 0: the growth does not depend on σ_w² (LN removes the scale)', (sw, a) => {
    const g1 = growth('linear-ln-act', a, { init: { sigmaW2: sw, sigmaB2: 0 } });
    const g2 = growth('linear-ln-act', a, { init: { sigmaW2: 2, sigmaB2: 0 } });
    expect(Math.abs(g1 - g2)).toBeLessThan(1e-11 * g2);
  });
  fcTest.prop(
    [
      fc.double({ min: 0.1, max: 10, noNaN: true }),
      fc.double({ min: 0.2, max: 3, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
    ],
    { numRuns: 30 },
  )('ReLU-family LN, β = σ_b² = 0: growth 1 for any σ_w², γ and ε < σ_w²γ²/2', (sw, g, f) => {
    const eps = 0.9 * f * ((sw * g * g) / 2);
    expect(growth('linear-ln-act', 'relu', { init: { sigmaW2: sw, sigmaB2: 0 }, bn: { gamma: g, beta: 0, eps } })).toBeCloseTo(1, 10);
  });
  fcTest.prop(
    [
      fc.constantFrom('tanh', 'gelu', 'silu', 'relu'),
      fc.double({ min: 0.5, max: 3, noNaN: true }),
      fc.double({ min: 0, max: 0.5, noNaN: true }),
      fc.double({ min: 0, max: 0.5, noNaN: true }),
    ],
    { numRuns: 10 },
  )('β = 0: LN and RMSNorm agree at infinite width before φ (the dense output is centred)', (a, sw, sb, eps) => {
    const x = { init: { sigmaW2: sw, sigmaB2: sb }, bn: { gamma: 1, beta: 0, eps } };
    const g1 = growth('linear-ln-act', a, x);
    expect(Math.abs(growth('linear-rms-act', a, x) - g1)).toBeLessThan(1e-12 * g1);
  });
  test.each(['tanh', 'gelu', 'silu'])(
    '%s: LN with ε ≫ v and γ = √ε is the identity, so linear-ln-act reduces to the no-norm χ₁ (classic path)',
    (a) => {
      // LN(h) = √ε·h/√(v + ε) = h(1 − v/(2ε) + …): relative change ~ v/ε = 1e-8 per block
      const sw = 1.3;
      const sb = 0.1;
      const plain = predict(
        makeSpec({ order: 'linear-act', activation: a, depth: 40, batch: 32, init: { sigmaW2: sw, sigmaB2: sb } }),
      ).predictedGrowth;
      const eps = 1e8;
      const ln = growth('linear-ln-act', a, { depth: 40, init: { sigmaW2: sw, sigmaB2: sb }, bn: { gamma: Math.sqrt(eps), beta: 0, eps } });
      expect(Math.abs(ln - plain)).toBeLessThan(1e-6 * plain);
    },
  );
  // growth: whether predictLayers' fixed-point iteration of the block map reaches the rate; at the critical
  // point of tanh (σ_w² = 1, σ_b² = 0: q* = 0, approached as 1/l) 1000 iterations do not settle to 1e-14, and
  // the table reports the geometric mean of the per-layer growth instead (a note says so), so only the records
  // are compared there
  test.each([
    ['relu', 2, 0.05, true],
    ['tanh', 1.4, 0.05, true],
    ['gelu', 1.4, 0.05, true],
    ['tanh', 1, 0, false],
  ] as const)(
    '%s, σ_w² = %d, σ_b² = %d: a dense → act list layer by layer through the per-kind entries gives the records of the linear-act preset (its block segment) to 1e-10',
    (a, sw, sb, growthToo) => {
      // two implementations: the dense-act block segment (layers/blocks.ts, what predict runs for both) and the
      // per-kind dense and act entries with the block map iterated to its fixed point (predictLayers)
      const classic = predict(
        makeSpec({ order: 'linear-act', activation: a, depth: 10, width: 64, batch: 16, init: { sigmaW2: sw, sigmaB2: sb } }),
      );
      const layers = Array.from({ length: 10 }, () => [
        { kind: 'dense', width: 64, sigmaW2: sw, sigmaB2: sb },
        { kind: 'act', activation: a },
      ]).flat();
      const table = predictLayers(makeSpec({ layers, batch: 16 }));
      // per-layer records; the run-level ones (growth, depth_scale) follow predictedGrowth, compared below
      const perLayer = (rs: SPRecord[]) => rs.filter((r) => r.layer !== null);
      expect(perLayer(table.records).length).toBe(perLayer(classic.records).length);
      for (const r of perLayer(classic.records)) {
        const t = table.records.find((x) => x.quantity === r.quantity && x.layer === r.layer);
        expect(t, `${r.quantity} ${r.layer}`).toBeDefined();
        expect(Math.abs(t!.value - r.value)).toBeLessThanOrEqual(1e-10 * Math.max(1, Math.abs(r.value)));
      }
      if (growthToo) expect(table.predictedGrowth).toBeCloseTo(classic.predictedGrowth, 10);
      else expect(table.notes.join('\n')).toMatch(/no finite fixed point reached here/);
    },
  );
});

describe('finite width: the projection coefficient c of E‖∂L/∂x‖² ∝ 1 − c/n', () => {
  test('ReLU after the norm, ε = 0: ρ = E[z²·1{z>0}]/P(z>0) = 1, so c = 2 (LN: mean and radial directions) and 1 (RMSNorm)', () => {
    const relu = parseActivation('relu');
    expect(radialWeight(relu, 1, 0, 1)).toBeCloseTo(1, 12);
    expect(normProjection('layernorm', 1, 1)).toBe(2);
    expect(normProjection('rmsnorm', 1, 1)).toBe(1);
  });
  test.each(['tanh', 'gelu'])('%s: ρ = E[z²φ′(z)²]/E[φ′(z)²] (Simpson)', (a) => {
    const phi = parseActivation(a);
    const want = simpson((z) => z * z * phi.dphi(z) ** 2) / simpson((z) => phi.dphi(z) ** 2);
    expect(radialWeight(phi, 1, 0, 1)).toBeCloseTo(want, 10);
  });
});

describe('what the table refuses', () => {
  test.each(['linear-ln-act', 'linear-rms-act', 'preln-residual'])(
    'the free-probability spectrum refuses %s (data on the table entry)',
    (order) => {
      const spec = makeSpec({ order: order as any, depth: 4, width: 32, batch: 32 });
      expect(() => spectrumProblem(spec)).toThrow(SpecError);
      expect(() => spectrumProblem(spec)).toThrow(/does not support (layernorm|rmsnorm|residual) layers/);
    },
  );
  test('a batchnorm in a custom list: SpecError naming the BN presets', () => {
    const spec = makeSpec({
      layers: [
        { kind: 'dense', width: 16 },
        { kind: 'batchnorm' },
        { kind: 'act', activation: 'relu' },
        { kind: 'dense', width: 16 },
        { kind: 'layernorm' },
      ],
      batch: 16,
    });
    expect(() => predict(spec)).toThrow(/linear-bn-act and linear-act-bn/);
  });
  test('an activation on a residual stream: SpecError on layers', () => {
    const spec = makeSpec({
      layers: [
        { kind: 'residual', layers: [{ kind: 'dense', width: 8 }] },
        { kind: 'act', activation: 'tanh' },
      ],
      inputDim: 8,
      batch: 8,
    });
    try {
      predict(spec);
      throw new Error('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(SpecError);
      expect((e as SpecError).field).toBe('layers');
    }
  });
});
