// The conv presets' spec fields (image, conv): present only for them (the older presets' JSON and ids unchanged),
// a specToJSON round trip keeps the id, vgg/resnet carry their per-stage widths, and bad combinations are refused
// naming the field.
import { describe, expect, it } from 'vitest';
import { layersOf, makeSpec, MLP_PRESET_NAMES, SpecError, specId, specToJSON } from '../../src/network/index.js';

describe('conv preset specs', () => {
  it('the MLP presets have no image or conv field', () => {
    for (const order of MLP_PRESET_NAMES) {
      const keys = Object.keys(specToJSON(makeSpec({ order, depth: 3, width: 8 })));
      expect(keys).not.toContain('image');
      expect(keys).not.toContain('conv');
    }
  });
  it('conv-bn-act, vgg and resnet round-trip through specToJSON with the same id', () => {
    for (const order of ['conv-bn-act', 'vgg', 'resnet'] as const) {
      const s = makeSpec({ order, depth: 6, width: 4, batch: 2, image: [8, 8, 1], conv: { kernel: 3, init: 'delta-orthogonal' } });
      const back = makeSpec(JSON.parse(JSON.stringify(specToJSON(s))));
      expect(specId(back)).toBe(specId(s));
      expect(back.inputDim).toBe(64);
    }
  });
  it('vgg and resnet double the channels per stage (3 stages), with stride 2 at each new stage', () => {
    const s = makeSpec({ order: 'vgg', depth: 6, width: 4, batch: 2, image: [8, 8, 4] });
    expect(s.width).toEqual([4, 4, 8, 8, 16, 16]);
    const convs = layersOf(s).filter((l) => l.kind === 'conv2d');
    expect(convs.map((l) => (l.kind === 'conv2d' ? l.stride : 0))).toEqual([1, 1, 2, 1, 2, 1]);
    const r = layersOf(makeSpec({ order: 'resnet', depth: 3, width: 2, batch: 2, image: [8, 8, 2] }));
    expect(r.map((l) => l.kind)).toEqual(['resblock', 'resblock', 'resblock', 'gap']);
  });
  it('refuses --residual on a conv preset, conv on an MLP preset, an image on an MLP preset, and a wrong inputDim', () => {
    const field = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(SpecError);
        return (e as SpecError).field;
      }
      return null;
    };
    expect(field(() => makeSpec({ order: 'conv-bn-act', residual: { scale: 1 }, image: [4, 4, 2], width: 2 }))).toBe('residual');
    expect(field(() => makeSpec({ order: 'linear-bn-act', conv: { kernel: 3 } }))).toBe('conv');
    expect(field(() => makeSpec({ order: 'linear-bn-act', image: [4, 4, 2] }))).toBe('image');
    expect(field(() => makeSpec({ order: 'conv-bn-act', image: [4, 4, 2], width: 2, inputDim: 10 }))).toBe('inputDim');
    expect(field(() => makeSpec({ order: 'conv-bn-act', image: [4, 4, 2], width: 2, conv: { kernel: 2 } }))).toBe('conv.kernel');
  });
});
