// The generators of random.ts's draws: with { rng: 'philox4x32-10' } (the default) each draw equals the Philox
// stream it names (fillNormalPhilox of the stream's key, scaled as the init says); with { rng: 'mt19937' } it
// is what it was before the switch (its own stream, normalStream); one-at-a-time and bulk draws of a Philox
// stream agree, and a bad name is refused naming the field.
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/network/errors.js';
import { fillNormalPhilox, philoxKey } from '../../src/network/philox.js';
import {
  DEFAULT_RNG,
  drawConv,
  drawLinear,
  drawNetwork,
  drawReadout,
  fillNormal,
  gaussianInputs,
  normalStream,
  philoxNormalStream,
} from '../../src/network/random.js';
import { makeSpec } from '../../src/network/spec.js';

const PH = { rng: 'philox4x32-10' } as const;
const spec = makeSpec({ depth: 4, width: 24, batch: 8, init: { kind: 'gaussian', sigmaW2: 2, sigmaB2: 0.05 } });
const philox = (n: number, seed: number, scale: number, ...labels: (string | number)[]) =>
  Array.from(fillNormalPhilox(new Float64Array(n), philoxKey(seed, ...labels), 0, scale));

describe("draws with { rng: 'philox4x32-10' }", () => {
  it('a gaussian layer: W = Philox stream (seed, W, l)·sqrt(σ_w²/fan_in), b = stream (seed, b, l)·σ_b', () => {
    const n = spec.inputDim;
    for (let l = 1; l <= spec.depth; l++) {
      const p = drawLinear(spec, 5, l, PH);
      expect(Array.from(p.W)).toEqual(philox(24 * (l === 1 ? n : 24), 5, Math.sqrt(2 / (l === 1 ? n : 24)), 'W', l));
      expect(Array.from(p.b)).toEqual(philox(24, 5, Math.sqrt(0.05), 'b', l));
    }
  });
  it('drawNetwork is its layers drawn one by one, in any order', () => {
    const net = drawNetwork(spec, 9, PH);
    for (const l of [3, 1, 4, 2]) expect(Array.from(drawLinear(spec, 9, l, PH).W)).toEqual(Array.from(net[l - 1].W));
  });
  it('readout and inputs: their streams (readout; inputs, x; inputs-shared, x) with ρ mixing', () => {
    expect(Array.from(drawReadout(24, 3, 4, PH))).toEqual(philox(72, 4, Math.sqrt(1 / 24), 'readout'));
    const rho = 0.3;
    const x = gaussianInputs(5, 7, 4, rho, 'x', PH);
    const z = philox(35, 4, 1, 'inputs', 'x');
    const s = philox(7, 4, 1, 'inputs-shared', 'x');
    const want = z.map((v, i) => Math.sqrt(1 - rho) * v + Math.sqrt(rho) * s[i % 7]);
    expect(Array.from(x)).toEqual(want);
  });
  it('orthogonal weights (normal by normal from the stream): orthonormal rows scaled to entry variance σ_w²/fan_in', () => {
    const o = makeSpec({ depth: 2, width: 16, batch: 4, init: { kind: 'orthogonal', sigmaW2: 1.5, sigmaB2: 0 } });
    const { W, nIn, nOut } = drawLinear(o, 3, 2, PH);
    // W Wᵀ = (σ_w² max(n_out, n_in)/n_in) I for a square Haar matrix: 1.5 I, to rounding (1e-12)
    for (let i = 0; i < nOut; i++)
      for (let j = 0; j < nOut; j++) {
        let s = 0;
        for (let k = 0; k < nIn; k++) s += W[i * nIn + k] * W[j * nIn + k];
        expect(Math.abs(s - (i === j ? 1.5 : 0))).toBeLessThan(1e-12);
      }
    expect(Array.from(drawLinear(o, 3, 2, PH).W)).toEqual(Array.from(W));
    expect(Array.from(drawLinear(o, 3, 2, { rng: 'mt19937' }).W)).not.toEqual(Array.from(W));
  });
  it('a conv layer draws from the Philox stream too', () => {
    const rng = philoxNormalStream(2, 'W', 1);
    const W = drawConv('gaussian', 4, 3, 3, 2, rng);
    expect(Array.from(W)).toEqual(philox(4 * 27, 2, Math.sqrt(2 / 27), 'W', 1));
  });
  it('a stream read one normal at a time, then in bulk, then one at a time, is the stream in order', () => {
    const rng = philoxNormalStream(8, 'W', 2);
    const got: number[] = [];
    for (let i = 0; i < 70; i++) got.push(rng()); // across a refill of its 64-normal buffer
    got.push(...fillNormal(new Float64Array(100), rng));
    for (let i = 0; i < 10; i++) got.push(rng());
    expect(got).toEqual(philox(180, 8, 1, 'W', 2));
  });
});

describe('the default is Philox4x32-10 (DEFAULT_RNG); mt19937 is the old streams; a bad name is refused', () => {
  it("drawNetwork(spec, seed) = { rng: 'philox4x32-10' }; { rng: 'mt19937' } = the normalStream draws (seed, W, l) and (seed, b, l)", () => {
    expect(DEFAULT_RNG).toBe('philox4x32-10');
    const a = drawNetwork(spec, 6, { rng: 'mt19937' });
    const d = drawNetwork(spec, 6);
    const p = drawNetwork(spec, 6, PH);
    for (let l = 1; l <= spec.depth; l++) {
      const nIn = l === 1 ? spec.inputDim : 24;
      expect(Array.from(d[l - 1].W)).toEqual(Array.from(p[l - 1].W));
      expect(Array.from(d[l - 1].b)).toEqual(Array.from(p[l - 1].b));
      expect(Array.from(a[l - 1].W)).toEqual(
        Array.from(fillNormal(new Float64Array(24 * nIn), normalStream(6, 'W', l), Math.sqrt(2 / nIn))),
      );
      expect(Array.from(a[l - 1].b)).toEqual(Array.from(fillNormal(new Float64Array(24), normalStream(6, 'b', l), Math.sqrt(0.05))));
    }
    expect(Array.from(gaussianInputs(3, 4, 2, 0, 'x', { rng: 'mt19937' }))).toEqual(
      Array.from(fillNormal(new Float64Array(12), normalStream(2, 'inputs', 'x'))),
    );
    expect(Array.from(gaussianInputs(3, 4, 2))).toEqual(philox(12, 2, 1, 'inputs', 'x'));
    expect(Array.from(p[0].W)).not.toEqual(Array.from(a[0].W));
  });
  it("an unknown generator: InputError on field 'rng' naming the allowed ones", () => {
    const bad = { rng: 'pcg64' } as unknown as { rng: 'mt19937' };
    for (const f of [
      () => drawNetwork(spec, 1, bad),
      () => drawLinear(spec, 1, 1, bad),
      () => drawReadout(4, 2, 1, bad),
      () => gaussianInputs(2, 2, 1, 0, 'x', bad),
    ]) {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).message).toMatch(/rng/);
      expect((err as InputError).message).toMatch(/philox4x32-10/);
    }
  });
});
