// The layer list: validation names the field, presets expand to lists that round-trip through JSON, and a
// custom list gives the flat fields that records carry.
import { test as fcTest, fc } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import {
  blocksOf,
  denseLayers,
  layersOf,
  layersToJSON,
  makeSpec,
  MLP_PRESET_NAMES,
  PRESETS,
  SpecError,
  specId,
  specToJSON,
} from '../../src/network/index.js';

describe('presets', () => {
  fcTest.prop([
    fc.constantFrom(...MLP_PRESET_NAMES),
    fc.integer({ min: 1, max: 6 }),
    fc.integer({ min: 1, max: 64 }),
    fc.option(fc.double({ min: 0.05, max: 2, noNaN: true }), { nil: null }),
  ])(
    'a preset expands to depth blocks of its parts, each with one dense layer, and round-trips as a custom list',
    (order, depth, width, scale) => {
      const s = makeSpec({ order, depth, width, residual: scale === null ? null : { scale } });
      const layers = layersOf(s);
      const blocks = blocksOf(layers);
      expect(blocks.length).toBe(depth);
      expect(denseLayers(layers).map((d) => d.width)).toEqual(new Array(depth).fill(width));
      const p = PRESETS[order];
      const parts = p.residual === 'post' ? p.block.length - 1 : p.block.length;
      const wrapped = p.residual !== 'wrap' || scale !== null;
      for (const b of blocks) {
        if (wrapped) {
          expect(b[0].kind).toBe('residual');
          if (b[0].kind === 'residual') expect(b[0].layers.length).toBe(parts);
        } else expect(b.length).toBe(parts);
      }
      const custom = makeSpec({ layers: JSON.parse(JSON.stringify(layersToJSON(layers))), batch: s.batch, inputDim: s.inputDim });
      expect(layersToJSON(layersOf(custom))).toEqual(layersToJSON(layers));
      expect(custom.depth).toBe(depth);
    },
  );
  test('the historical orders keep their spec id (no layers field in their JSON)', () => {
    const s = makeSpec({ order: 'linear-act-bn', depth: 4, width: 16 });
    expect(Object.keys(specToJSON(s))).not.toContain('layers');
    expect(specId(s)).toBe(specId(makeSpec({ order: 'linear-act-bn', depth: 4, width: 16 })));
  });
});

describe('custom layer lists', () => {
  const list = [
    { kind: 'dense', width: 16, sigmaW2: 1.5 },
    { kind: 'layernorm', gamma: 2 },
    { kind: 'act', activation: 'tanh' },
    { kind: 'residual', scale: 0.3, layers: [{ kind: 'rmsnorm' }, { kind: 'dense', width: 16 }, { kind: 'act', activation: 'gelu' }] },
  ];
  test('the flat fields are read from the list, and a specToJSON round-trip keeps the id', () => {
    const s = makeSpec({ layers: list, batch: 8 });
    expect([s.order, s.depth, s.width, s.inputDim, s.activation, s.init.sigmaW2, s.bn.gamma, s.residual?.scale]).toEqual([
      'custom',
      2,
      16,
      16,
      'tanh',
      1.5,
      2,
      0.3,
    ]);
    const back = makeSpec(JSON.parse(JSON.stringify(specToJSON(s))) as never);
    expect(specId(back)).toBe(specId(s));
    expect(specId(makeSpec({ layers: list, batch: 16 }))).not.toBe(specId(s));
  });
  test.each([
    [{ layers: [] }, 'layers', 'non-empty array'],
    [{ layers: [{ kind: 'act', activation: 'relu' }] }, 'layers[0].kind', 'dense or residual'],
    [{ layers: [{ kind: 'conv', width: 3 }] }, 'layers[0].kind', 'dense | batchnorm | layernorm | rmsnorm | act | residual'],
    [{ layers: [{ kind: 'dense', width: 4, sigmaW: 1 }] }, 'layers[0].sigmaW', 'sigmaW2'],
    [{ layers: [{ kind: 'dense', width: 0 }] }, 'layers[0].width', 'integer from 1'],
    [
      {
        layers: [
          { kind: 'dense', width: 4 },
          { kind: 'layernorm', eps: -1 },
        ],
      },
      'layers[1].eps',
      '>= 0',
    ],
    [
      {
        layers: [
          { kind: 'dense', width: 4 },
          { kind: 'rmsnorm', beta: 1 },
        ],
      },
      'layers[1].beta',
      'rmsnorm layer has',
    ],
    [{ layers: [{ kind: 'dense', width: 4 }, { kind: 'act' }] }, 'layers[1].activation', 'activation string'],
    [
      {
        layers: [
          { kind: 'dense', width: 4 },
          { kind: 'act', activation: 'swish' },
        ],
      },
      'layers[1].activation',
      'relu',
    ],
    [
      {
        layers: [
          { kind: 'dense', width: 4 },
          { kind: 'residual', layers: [{ kind: 'dense', width: 5 }] },
        ],
      },
      'layers[1].layers',
      'equal widths',
    ],
    [
      {
        layers: [
          { kind: 'dense', width: 4 },
          { kind: 'residual', layers: [{ kind: 'act', activation: 'relu' }] },
        ],
      },
      'layers[1].layers',
      'exactly one dense',
    ],
    [{ layers: [{ kind: 'dense', width: 4 }], depth: 3 }, 'depth', 'what layers says'],
    [{ layers: [{ kind: 'dense', width: 4 }, { kind: 'batchnorm' }], batch: 1 }, 'batch', 'from 2'],
    [{ order: 'custom' }, 'order', 'give layers'],
    [{ order: 'linear-rms-act', bn: { beta: 0.5 } }, 'bn.beta', 'no shift'],
    [{ order: 'preln-residual', width: 8, inputDim: 4 }, 'width', 'equal widths'],
  ])('rejects %j naming the field, value and what is allowed', (input, field, allowed) => {
    try {
      makeSpec(input as never);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SpecError);
      expect((e as SpecError).field).toBe(field);
      expect((e as Error).message).toContain(allowed);
    }
  });
});
