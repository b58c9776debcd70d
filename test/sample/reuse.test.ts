// Reused buffers and the memoized theory give the same bits as fresh ones: drawNetwork's `into` against a fresh
// draw (both generators, with and without biases, into arrays left dirty), forwardBackward's reuse of the last
// seed's weights against the same seed with its weights passed in (drawn fresh), and theoryGrowth's memo against
// predict itself and a run with the memo cleared. Every comparison is exact (Object.is per element): reuse must
// not change a bit.
import { describe, expect, it } from 'vitest';
import { drawNetwork, type LinearParams, makeSpec, RNGS } from '../../src/network/index.js';
import { clearTheoryMemo, forwardBackward, type LayerStats, sampleNetwork, theoryGrowth } from '../../src/sample/index.js';
import { predict } from '../../src/theory/index.js';

const sameBits = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) expect([i, a[i]]).toEqual([i, b[i]]);
};

const dirty = (ps: LinearParams[]) => {
  for (const p of ps) {
    p.W.fill(Number.NaN);
    p.b.fill(7);
  }
  return ps;
};

describe("drawNetwork's into", () => {
  for (const rng of RNGS) {
    for (const sigmaB2 of [0, 0.05]) {
      it(`${rng}, sigmaB2 ${sigmaB2}: into dirty arrays = a fresh draw, and the arrays are reused`, () => {
        const spec = makeSpec({ depth: 3, width: 24, inputDim: 10, batch: 8, init: { kind: 'gaussian', sigmaW2: 2, sigmaB2 } });
        const into = dirty(drawNetwork(spec, 5, { rng }));
        const got = drawNetwork(spec, 6, { rng }, into);
        const fresh = drawNetwork(spec, 6, { rng });
        got.forEach((p, l) => {
          expect(p.W).toBe(into[l].W);
          expect(p.b).toBe(into[l].b);
          sameBits(p.W, fresh[l].W);
          sameBits(p.b, fresh[l].b);
        });
      });
    }
  }

  it('orthogonal layers and arrays of another size are drawn fresh, with the same bits', () => {
    const spec = makeSpec({ depth: 2, width: 12, inputDim: 6, batch: 8, init: { kind: 'orthogonal', sigmaW2: 1, sigmaB2: 0 } });
    const other = dirty(drawNetwork(makeSpec({ depth: 2, width: 5, batch: 8 }), 1));
    for (const into of [dirty(drawNetwork(spec, 1)), other]) {
      const got = drawNetwork(spec, 2, {}, into);
      const fresh = drawNetwork(spec, 2);
      got.forEach((p, l) => {
        sameBits(p.W, fresh[l].W);
        sameBits(p.b, fresh[l].b);
      });
    }
  });
});

const STATS: (keyof LayerStats)[] = [
  'preactVar',
  'postactMean',
  'postactVar',
  'corr',
  'logGradHSq',
  'logGradWSq',
  'gradGrowth',
  'bnRetained',
];

describe("forwardBackward's reuse of the last seed's weights", () => {
  for (const rng of RNGS) {
    it(`${rng}: seed 3 after seed 2 (drawn into seed 2's arrays) = seed 3 with fresh weights passed in`, () => {
      const spec = makeSpec({ depth: 4, width: 32, batch: 8, init: { kind: 'gaussian', sigmaW2: 2, sigmaB2: 0.1 } });
      forwardBackward(spec, 2, { rng, backend: 'typescript' });
      const reused = forwardBackward(spec, 3, { rng, backend: 'typescript' });
      const fresh = forwardBackward(spec, 3, { rng, backend: 'typescript', params: drawNetwork(spec, 3, { rng }) });
      expect(Object.is(reused.loss, fresh.loss)).toBe(true);
      for (const q of STATS) sameBits(reused[q] as Float64Array, fresh[q] as Float64Array);
      for (const q of Object.keys(fresh.gram) as (keyof LayerStats['gram'])[]) sameBits(reused.gram[q], fresh.gram[q]);
    });
  }
});

describe("theoryGrowth's memo", () => {
  const spec = makeSpec({ depth: 6, width: 16, batch: 8 });

  it('returns predict(spec).predictedGrowth, cold and warm, and the same for a spec built in another field order', async () => {
    clearTheoryMemo();
    const g = predict(spec).predictedGrowth;
    expect(Number.isFinite(g)).toBe(true);
    expect(await theoryGrowth(spec)).toBe(g);
    expect(await theoryGrowth(spec)).toBe(g);
    expect(await theoryGrowth(makeSpec({ batch: 8, width: 16, depth: 6 }))).toBe(g);
    // another spec is another key
    const other = makeSpec({ depth: 6, width: 16, batch: 16 });
    expect(await theoryGrowth(other)).toBe(predict(other).predictedGrowth);
    expect(predict(other).predictedGrowth).not.toBe(g);
  });

  it("sampleNetwork's records and prediction are byte-identical with the memo cold and warm", async () => {
    clearTheoryMemo();
    const cold = await sampleNetwork(spec, { seeds: 3, threads: 1, backend: 'typescript' });
    const warm = await sampleNetwork(spec, { seeds: 3, threads: 1, backend: 'typescript' });
    expect(JSON.stringify(warm.records)).toBe(JSON.stringify(cold.records));
    expect(warm.predictedGrowth).toBe(cold.predictedGrowth);
    expect(cold.predictedGrowth).toBe(predict(spec).predictedGrowth);
  });
});
