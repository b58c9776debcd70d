// The block segments (src/theory/layers/blocks.ts): a layer list of identical Linear → BN → φ, Linear → φ → BN
// or Linear → φ blocks, written by hand as layers, is recognised from the list and gives exactly the records
// of the preset it spells out (bit for bit: the preset's own records are pinned by test/golden.test.ts, an
// independent check of the arithmetic; here the check is that the list, not the order field, selects it).
// A batchnorm anywhere else is refused on `layers`, in one line.
import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { makeSpec, type SpecInput, SpecError } from '../../src/network/index.js';
import type { SPRecord } from '../../src/records/index.js';
import { autoRunsGramDynamics, type Prediction, predict } from '../../src/theory/index.js';
import { BN_PREMISE } from '../../src/theory/layers/batchnorm.js';
import { blockSegmentOf, recogniseBlocks } from '../../src/theory/layers/blocks.js';

type Order = 'linear-bn-act' | 'linear-act-bn' | 'linear-act';

interface Net {
  order: Order;
  activation: string;
  depth: number;
  width: number;
  batch: number | null;
  sigmaW2: number;
  sigmaB2: number;
  gamma: number;
  beta: number;
  eps: number;
  residual: number | null;
}

/** The preset's spec. */
function presetInput(n: Net): SpecInput {
  return {
    order: n.order,
    activation: n.activation,
    depth: n.depth,
    width: n.width,
    batch: n.batch,
    init: { sigmaW2: n.sigmaW2, sigmaB2: n.sigmaB2 },
    bn: { gamma: n.gamma, beta: n.beta, eps: n.eps },
    residual: n.residual === null ? null : { scale: n.residual },
  };
}

/** The same net written as a layer list, as a user would (not through expandPreset). */
function listInput(n: Net): SpecInput {
  const dense = { kind: 'dense', width: n.width, sigmaW2: n.sigmaW2, sigmaB2: n.sigmaB2 };
  const bn = { kind: 'batchnorm', gamma: n.gamma, beta: n.beta, eps: n.eps };
  const act = { kind: 'act', activation: n.activation };
  const block = n.order === 'linear-bn-act' ? [dense, bn, act] : n.order === 'linear-act-bn' ? [dense, act, bn] : [dense, act];
  const one = n.residual === null ? block : [{ kind: 'residual', scale: n.residual, layers: block }];
  return { layers: Array.from({ length: n.depth }, () => one).flat(), batch: n.batch };
}

/** A record without the fields that name the spec (its id and order differ between the two specs). */
function strip(r: SPRecord): unknown {
  const { specId: _id, order: _order, ...rest } = r as SPRecord & { specId: string; order: string };
  return rest;
}

/** Everything predict returns, with every number as its exact bits (JSON keeps all 17 digits). */
function bits(p: Prediction): string {
  return JSON.stringify({
    records: p.records.map(strip),
    predictedGrowth: p.predictedGrowth,
    predictedGrowthSE: p.predictedGrowthSE,
    depthScale: p.depthScale,
    logGrowthTotal: p.logGrowthTotal,
    notes: p.notes,
    stability: p.stability,
    bsb1Growth: p.bsb1Growth,
    dynamics: p.dynamics === null ? null : p.dynamics.layers,
  });
}

const base: Net = {
  order: 'linear-bn-act',
  activation: 'relu',
  depth: 6,
  width: 32,
  batch: 16,
  sigmaW2: 2,
  sigmaB2: 0,
  gamma: 1,
  beta: 0,
  eps: 1e-5,
  residual: null,
};

describe('a layer list of identical segment blocks gives the preset it spells out, bit for bit', () => {
  const cases: [string, Net][] = [
    ['linear-bn-act relu', base],
    ['linear-bn-act tanh, γ, β, ε = 0.1', { ...base, activation: 'tanh', gamma: 1.5, beta: 0.2, eps: 0.1 }],
    ['linear-bn-act relu, B = ∞', { ...base, batch: null }],
    ['linear-bn-act relu, residual 1', { ...base, residual: 1 }],
    ['linear-bn-act tanh, residual 0.5', { ...base, activation: 'tanh', residual: 0.5 }],
    ['linear-bn-act gelu, B = 64 (BSB1 not attracting: the Gram dynamics run)', { ...base, depth: 4, batch: 64, activation: 'gelu' }],
    ['linear-act-bn relu (the finite-batch Monte Carlo rate)', { ...base, order: 'linear-act-bn' }],
    ['linear-act-bn tanh, B = ∞, σ_b²', { ...base, order: 'linear-act-bn', activation: 'tanh', batch: null, sigmaB2: 0.1 }],
    ['linear-act-bn relu, residual 1', { ...base, order: 'linear-act-bn', residual: 1 }],
    ['linear-act relu', { ...base, order: 'linear-act' }],
    ['linear-act tanh, σ_w² = 1.5, σ_b² = 0.05', { ...base, order: 'linear-act', activation: 'tanh', sigmaW2: 1.5, sigmaB2: 0.05 }],
    ['linear-act gelu, B = ∞', { ...base, order: 'linear-act', activation: 'gelu', batch: null }],
    ['linear-act tanh, residual 0.5', { ...base, order: 'linear-act', activation: 'tanh', residual: 0.5 }],
  ];
  test.each(cases)('%s', (_name, n) => {
    const preset = makeSpec(presetInput(n));
    const list = makeSpec(listInput(n));
    expect(list.order).toBe('custom');
    const a = predict(preset);
    const b = predict(list);
    expect(b.records.length).toBe(a.records.length);
    expect(bits(b)).toBe(bits(a));
    expect(autoRunsGramDynamics(list)).toBe(autoRunsGramDynamics(preset));
  });

  fcTest.prop(
    [
      fc.constantFrom<Order>('linear-bn-act', 'linear-act-bn', 'linear-act'),
      fc.constantFrom('relu', 'leaky-relu:0.1', 'identity'),
      fc.integer({ min: 2, max: 8 }),
      fc.constantFrom(null, 8, 32),
      fc.double({ min: 0.5, max: 3, noNaN: true }),
      fc.double({ min: 0, max: 0.3, noNaN: true }),
      fc.double({ min: 0.5, max: 2, noNaN: true }),
      fc.double({ min: -0.5, max: 0.5, noNaN: true }),
      fc.constantFrom(null, 0.5, 1),
    ],
    { numRuns: 12 },
  )('any σ², γ, β, depth, batch and residual (ReLU family: no quadrature)', (order, activation, depth, batch, sw, sb, gamma, beta, res) => {
    // (a linear-act list has no norm, so its spec's bn fields are the defaults: the preset's are set to them too)
    const norm = order === 'linear-act' ? {} : { gamma, beta };
    const n: Net = { ...base, order, activation, depth, batch, sigmaW2: sw, sigmaB2: sb, ...norm, residual: res };
    expect(bits(predict(makeSpec(listInput(n))))).toBe(bits(predict(makeSpec(presetInput(n)))));
  });
});

describe('what the segments recognise, and the refusal elsewhere', () => {
  test('the pattern of each segment, alone or as the whole inner list of a residual', () => {
    const d = { kind: 'dense' as const, width: 8, init: 'gaussian' as const, sigmaW2: 2, sigmaB2: 0 };
    const bn = { kind: 'batchnorm' as const, gamma: 1, beta: 0, eps: 1e-5 };
    const a = { kind: 'act' as const, activation: 'relu' };
    const ln = { kind: 'layernorm' as const, gamma: 1, beta: 0, eps: 1e-5 };
    expect(blockSegmentOf([d, bn, a])).toBe('dense-bn-act');
    expect(blockSegmentOf([d, a, bn])).toBe('dense-act-bn');
    expect(blockSegmentOf([d, a])).toBe('dense-act');
    expect(blockSegmentOf([{ kind: 'residual', scale: 1, layers: [d, bn, a] }])).toBe('dense-bn-act');
    expect(blockSegmentOf([d, ln, a])).toBeNull();
    expect(blockSegmentOf([d, bn])).toBeNull();
    // a post-norm after the residual is not the wrapped block
    expect(blockSegmentOf([{ kind: 'residual', scale: 1, layers: [d, a] }, bn])).toBeNull();
    // blocks that differ (σ_w² of the last one) are not a net of one segment
    expect(recogniseBlocks([d, bn, a, d, bn, a, { ...d, sigmaW2: 1 }, bn, a], { gamma: 1, beta: 0, eps: 1e-5 })).toBeNull();
    // widths may differ
    expect(recogniseBlocks([d, bn, a, { ...d, width: 16 }, bn, a], { gamma: 1, beta: 0, eps: 1e-5 })?.name).toBe('dense-bn-act');
  });

  const bnElsewhere: [string, unknown[]][] = [
    [
      'blocks that differ',
      [
        { kind: 'dense', width: 8 },
        { kind: 'batchnorm' },
        { kind: 'act', activation: 'relu' },
        { kind: 'dense', width: 8, sigmaW2: 1 },
        { kind: 'batchnorm' },
        { kind: 'act', activation: 'relu' },
      ],
    ],
    [
      'dense → batchnorm without an activation',
      [{ kind: 'dense', width: 8 }, { kind: 'batchnorm' }, { kind: 'dense', width: 8 }, { kind: 'batchnorm' }],
    ],
    [
      'two batchnorms in a block',
      [{ kind: 'dense', width: 8 }, { kind: 'batchnorm' }, { kind: 'act', activation: 'relu' }, { kind: 'batchnorm' }],
    ],
    [
      'a batchnorm after a residual (post-norm)',
      [
        {
          kind: 'residual',
          layers: [
            { kind: 'dense', width: 8 },
            { kind: 'act', activation: 'relu' },
          ],
        },
        { kind: 'batchnorm' },
      ],
    ],
    [
      'a BN block beside a LN block',
      [
        { kind: 'dense', width: 8 },
        { kind: 'batchnorm' },
        { kind: 'act', activation: 'relu' },
        { kind: 'dense', width: 8 },
        { kind: 'layernorm' },
        { kind: 'act', activation: 'relu' },
      ],
    ],
  ];
  test.each(bnElsewhere)('%s: SpecError on layers, one line naming the blocks the theory covers', (_n, layers) => {
    const spec = makeSpec({ layers, batch: 16 });
    let err: unknown;
    try {
      predict(spec);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SpecError);
    expect((err as SpecError).field).toBe('layers');
    expect((err as Error).message).toContain(BN_PREMISE);
    expect((err as Error).message).not.toContain('\n');
  });

  test('a plain list whose blocks differ still runs layer by layer (no segment, no refusal)', () => {
    const layers = [
      { kind: 'dense', width: 16, sigmaW2: 2 },
      { kind: 'act', activation: 'relu' },
      { kind: 'dense', width: 16, sigmaW2: 1.5 },
      { kind: 'act', activation: 'relu' },
      { kind: 'dense', width: 16, sigmaW2: 2 },
      { kind: 'act', activation: 'relu' },
    ];
    const p = predict(makeSpec({ layers, batch: 8 }));
    // ReLU: each block multiplies ‖∂L/∂h‖² by σ_w²·E φ′² = σ_w²/2 exactly, whatever q is (block 2 → 1: σ_w² of block 2)
    const g1 = p.records.find((r) => r.quantity === 'grad_growth' && r.layer === 1)!.value;
    const g2 = p.records.find((r) => r.quantity === 'grad_growth' && r.layer === 2)!.value;
    expect(g1).toBeCloseTo(1.5 / 2, 12);
    expect(g2).toBeCloseTo(2 / 2, 12);
  });
});
