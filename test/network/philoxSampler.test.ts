// fillNormalPhilox's bulk fill (setPhiloxNormalFill): src/io/native.ts registers the addon's philoxNormal in
// every Node process that loads it, so that every Philox draw in bulk (weights, biases, inputs, readouts; the
// sampler's) runs there. The routing is checked with a fake fill (no addon needed); the draws and the
// sampler's records are the same bits with the addon's fill as with the TypeScript generator (the fill
// unset), and a counting wrapper shows that the addon's fill is what ran.
import { afterAll, describe, expect, it } from 'vitest';
import { nativePhiloxFill, nativeRandom, nativeUnavailableReason } from '../../src/io/native.js';
import { fillNormalPhilox, type PhiloxNormalFill, philoxKey, setPhiloxNormalFill } from '../../src/network/philox.js';
import { drawNetwork, drawReadout, gaussianInputs } from '../../src/network/random.js';
import { makeSpec } from '../../src/network/spec.js';
import { forwardBackward, sampleNetwork } from '../../src/sample/index.js';

// what src/io/native.ts registered when it loaded (before any test here replaces it)
const registered = setPhiloxNormalFill(null);
afterAll(() => {
  setPhiloxNormalFill(registered);
});

/** Run f with `fill` as the bulk fill (null: the TypeScript generator alone), restoring the one before. */
function withFill<T>(fill: PhiloxNormalFill | null, f: () => T): T {
  const before = setPhiloxNormalFill(fill);
  try {
    return f();
  } finally {
    setPhiloxNormalFill(before);
  }
}

/** The index of the first element where a and b differ in bits, or -1. */
function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return a.length === b.length ? -1 : a.length;
}

describe('setPhiloxNormalFill: where fillNormalPhilox draws', () => {
  it('src/io/native.ts registered a fill when it loaded', () => {
    expect(typeof registered).toBe('function');
  });
  it('fills of 64 elements or more go to the fill (its key words, offset and scale), shorter ones stay here', () => {
    const calls: [number, number, number, number, number][] = [];
    const fake: PhiloxNormalFill = (out, k0, k1, offset, scale) => {
      calls.push([out.length, k0, k1, offset, scale]);
      out.fill(7);
    };
    const key = philoxKey(3, 'W', 2);
    const ts = withFill(null, () => fillNormalPhilox(new Float64Array(100), key, 5, 0.5));
    withFill(fake, () => {
      expect(Array.from(fillNormalPhilox(new Float64Array(64), key, 5, 0.5))).toEqual(new Array(64).fill(7));
      expect(calls).toEqual([[64, key[0], key[1], 5, 0.5]]);
      // 63 elements: drawn here, the TypeScript bits
      expect(firstDiff(fillNormalPhilox(new Float64Array(63), key, 5, 0.5), ts.subarray(0, 63))).toBe(-1);
      expect(calls.length).toBe(1);
      // a bad offset is refused before the fill is called
      expect(() => fillNormalPhilox(new Float64Array(64), key, -1)).toThrow(/offset/);
      expect(calls.length).toBe(1);
    });
    // unset again: the TypeScript bits
    expect(firstDiff(fillNormalPhilox(new Float64Array(100), key, 5, 0.5), ts)).toBe(-1);
  });
});

const random = nativeRandom();
const why = random ? '' : ` (skipped: ${nativeUnavailableReason() ?? 'the built addon predates philoxNormal or philoxKernel'})`;

describe.skipIf(random === null)(`the addon's fill gives the TypeScript draws${why}`, () => {
  const native = nativePhiloxFill()!;
  let calls = 0;
  let elements = 0;
  const counting: PhiloxNormalFill = (out, k0, k1, offset, scale) => {
    calls++;
    elements += out.length;
    native(out, k0, k1, offset, scale);
  };
  const PH = { rng: 'philox4x32-10' } as const;
  // Linear-BN-ReLU, fan-in 96, a bias: every draw kind of a dense net
  const spec = makeSpec({ depth: 6, width: 96, batch: 32, init: { kind: 'gaussian', sigmaW2: 2, sigmaB2: 0.05 } });
  it('drawNetwork, gaussianInputs (ρ > 0) and drawReadout: bit for bit, drawn by the addon', () => {
    const draw = () => [
      ...drawNetwork(spec, 11, PH).flatMap((p) => [p.W, p.b]),
      gaussianInputs(32, spec.inputDim, 11, 0.3, 'x', PH),
      drawReadout(96, 10, 11, PH),
    ];
    const ts = withFill(null, draw);
    const nat = withFill(counting, draw);
    expect(calls).toBeGreaterThanOrEqual(spec.depth * 2 + 2);
    expect(elements).toBeGreaterThan(spec.depth * 96 * 96);
    expect(ts.length).toBe(nat.length);
    for (let i = 0; i < ts.length; i++) expect(firstDiff(nat[i], ts[i]), `array ${i}`).toBe(-1);
    // the comparison can fail: another seed's draw differs at its first element
    const other = withFill(counting, () => drawNetwork(spec, 12, PH)[0].W);
    expect(firstDiff(other, ts[0])).toBe(0);
  });
  it("the sampler's per-seed statistics and records: the same bits with the addon's fill as without (1 thread)", async () => {
    const opts = { seeds: 3, threads: 1, rng: 'philox4x32-10', predictedGrowth: null } as const;
    const ts = await withFillAsync(null, () => sampleNetwork(spec, opts));
    const before = calls;
    const nat = await withFillAsync(counting, () => sampleNetwork(spec, opts));
    // each seed draws its weights and inputs (and readout) through the fill
    expect(calls - before).toBeGreaterThanOrEqual(3 * (spec.depth + 1));
    expect(nat.records.length).toBe(ts.records.length);
    expect(JSON.stringify(nat.records)).toBe(JSON.stringify(ts.records));
    expect(nat.measuredGrowth).toBe(ts.measuredGrowth);
    // and one seed's layer statistics, compared as numbers (JSON writes every double exactly)
    const one = (fill: PhiloxNormalFill | null) => withFill(fill, () => forwardBackward(spec, 5, { rng: 'philox4x32-10' }));
    expect(JSON.stringify(one(counting))).toBe(JSON.stringify(one(null)));
    // the records can differ: another base seed gives other numbers
    const shifted = await withFillAsync(counting, () => sampleNetwork(spec, { ...opts, baseSeed: 2 }));
    expect(JSON.stringify(shifted.records)).not.toBe(JSON.stringify(ts.records));
  });
  it('sampled on 2 worker threads (each loads src/io/native.ts, which registers the addon fill there): the records of 1 thread without it', async () => {
    const opts = { seeds: 2, rng: 'philox4x32-10', predictedGrowth: null } as const;
    const ts = await withFillAsync(null, () => sampleNetwork(spec, { ...opts, threads: 1 }));
    const workers = await sampleNetwork(spec, { ...opts, threads: 2 });
    expect(JSON.stringify(workers.records)).toBe(JSON.stringify(ts.records));
  });
});

/** withFill for an async f: the fill stays set until f's promise settles. */
async function withFillAsync<T>(fill: PhiloxNormalFill | null, f: () => Promise<T>): Promise<T> {
  const before = setPhiloxNormalFill(fill);
  try {
    return await f();
  } finally {
    setPhiloxNormalFill(before);
  }
}
