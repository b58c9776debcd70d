import { test as fcTest, fc } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { drawLinear, erf, gaussianInputs, lgamma, makeSpec, normCdf, parseActivation, SpecError, specId } from '../../src/network/index.js';

describe('spec validation', () => {
  test('defaults fill a complete spec', () => {
    const s = makeSpec();
    expect(s.order).toBe('linear-bn-act');
    expect(s.inputDim).toBe(512);
    expect(s.bn).toEqual({ gamma: 1, beta: 0, eps: 1e-5 });
  });
  test.each([
    [{ order: 'bn-first' }, 'order', 'linear-bn-act | linear-act-bn | linear-act'],
    [{ depth: 0 }, 'depth', 'integer from 1'],
    [{ width: [4, 4], depth: 3 }, 'width', 'length depth = 3'],
    [{ init: { kind: 'uniform' } }, 'init.kind', 'gaussian | orthogonal'],
    [{ bn: { eps: -1 } }, 'bn.eps', '>= 0'],
    [{ activation: 'swish' }, 'activation', 'relu, leaky-relu:<slope>'],
    [{ activation: 'leaky-relu:abc' }, 'activation', 'finite number'],
    [{ residual: { scale: 1 }, width: [4, 8], depth: 2 }, 'residual', 'equal widths'],
  ])('rejects %j naming the field, value and what is allowed', (input, field, allowed) => {
    try {
      makeSpec(input as any);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SpecError);
      expect((e as SpecError).field).toBe(field);
      expect((e as Error).message).toContain(allowed);
      expect((e as Error).message).toContain(field);
    }
  });
  test('spec id is stable and sensitive to every field', () => {
    expect(specId(makeSpec())).toBe(specId(makeSpec({})));
    expect(specId(makeSpec({ bn: { eps: 1e-3 } }))).not.toBe(specId(makeSpec()));
  });
});

describe('activations', () => {
  test('expr derivative matches a central difference', () => {
    const a = parseActivation('expr:x*tanh(x) + sin(x)/3');
    for (const x of [-2, -0.3, 0.4, 1.7]) {
      const h = 1e-6;
      expect(a.dphi(x)).toBeCloseTo((a.phi(x + h) - a.phi(x - h)) / (2 * h), 7);
    }
  });
  fcTest.prop([fc.constantFrom('tanh', 'gelu', 'silu', 'elu:0.7', 'leaky-relu:0.2'), fc.double({ min: -6, max: 6, noNaN: true })])(
    'every built-in dphi is the derivative of phi (central difference)',
    (name, x) => {
      const a = parseActivation(name);
      fc.pre(Math.abs(x) > 1e-3); // kinks at 0
      const h = 1e-6;
      expect(Math.abs(a.dphi(x) - (a.phi(x + h) - a.phi(x - h)) / (2 * h))).toBeLessThan(1e-6);
    },
  );
});

describe('special functions', () => {
  test('erf and normCdf against tabulated values (Abramowitz & Stegun table 7.1, 26.1)', () => {
    expect(erf(0.5)).toBeCloseTo(0.5204998778130465, 15);
    expect(erf(1)).toBeCloseTo(0.8427007929497149, 15);
    expect(normCdf(1.959963984540054)).toBeCloseTo(0.975, 14);
    expect(normCdf(-8) / 6.22096057427178e-16).toBeCloseTo(1, 9);
  });
  test('lgamma against factorials and Γ(1/2) = √π', () => {
    let lf = 0;
    for (let n = 1; n <= 170; n++) {
      lf += Math.log(n);
      expect(Math.abs(lgamma(n + 1) - lf)).toBeLessThan(1e-12 * Math.max(1, lf));
    }
    expect(lgamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 13);
  });
});

describe('random draws', () => {
  test('Gaussian weights have entry variance sigmaW2/fan_in; orthogonal weights have orthonormal rows', () => {
    const g = drawLinear(makeSpec({ width: 256, depth: 1, init: { sigmaW2: 2 } }), 7, 1);
    const v = g.W.reduce((a, b) => a + b * b, 0) / g.W.length;
    expect(Math.abs(v - 2 / 256)).toBeLessThan(4 * (2 / 256) * Math.sqrt(2 / g.W.length));
    const o = drawLinear(makeSpec({ width: 64, depth: 1, init: { kind: 'orthogonal', sigmaW2: 1 } }), 7, 1);
    for (const [i, j] of [
      [0, 0],
      [0, 5],
      [3, 40],
    ]) {
      let dot = 0;
      for (let k = 0; k < 64; k++) dot += o.W[i * 64 + k] * o.W[j * 64 + k];
      expect(dot).toBeCloseTo(i === j ? 1 : 0, 12);
    }
  });
  test('same seed, same draw; different layer, different draw', () => {
    const s = makeSpec({ width: 16, depth: 2 });
    expect(drawLinear(s, 3, 1).W).toEqual(drawLinear(s, 3, 1).W);
    expect(drawLinear(s, 3, 1).W[0]).not.toBe(drawLinear(s, 3, 2).W[0]);
  });
  test('inputs with a shared component have pairwise correlation rho', () => {
    const B = 4;
    const d = 20000;
    const x = gaussianInputs(B, d, 5, 0.6);
    let num = 0;
    let n0 = 0;
    let n1 = 0;
    for (let j = 0; j < d; j++) {
      num += x[j] * x[d + j];
      n0 += x[j] ** 2;
      n1 += x[d + j] ** 2;
    }
    expect(Math.abs(num / Math.sqrt(n0 * n1) - 0.6)).toBeLessThan(0.05);
  });
});
