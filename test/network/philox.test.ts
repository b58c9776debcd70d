// Philox4x32-10 (src/network/philox.ts): the raw stream against the published known answers, its 32×32
// high product against BigInt, the stream layout (block = position / 4, word = position mod 4) against
// single blocks, random access, the normals against a second Box–Muller on the same words with JavaScript's
// Math.log/cos/sin, and the normals' distribution (moments, KS against Φ, tails), each check with the
// tolerance it states and a case it must reject.
import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  fillNormalPhilox,
  fillUniformPhilox,
  logUnit,
  mulhi32,
  philox4x32,
  philoxKey,
  sinCosTurn,
  unitOf,
} from '../../src/network/philox.js';
import { normCdf } from '../../src/network/special.js';

const hex = (a: ArrayLike<number>) => Array.from(a, (x) => (x >>> 0).toString(16).padStart(8, '0')).join(' ');
const words = (s: string) => s.split(' ').map((h) => Number.parseInt(h, 16) >>> 0);

// Known-answer vectors copied verbatim from Random123's tests/kat_vectors (github.com/DEShawResearch/random123,
// commit 9545ff6413f258be2f04c1d319d99aaef7521150, lines 24-29). Columns: name, rounds, CTR (4 words),
// KEY (2 words), EXPECTED (4 words).
const KAT = `
philox4x32 7 00000000 00000000 00000000 00000000 00000000 00000000   5f6fb709 0d893f64 4f121f81 4f730a48
philox4x32 7 ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff   5207ddc2 45165e59 4d8ee751 8c52f662
philox4x32 7 243f6a88 85a308d3 13198a2e 03707344 a4093822 299f31d0   4dfccaba 190a87f0 c47362ba b6b5242a
philox4x32 10 00000000 00000000 00000000 00000000 00000000 00000000   6627e8d5 e169c58d bc57ac4c 9b00dbd8
philox4x32 10 ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff   408f276d 41c83b0e a20bc7c6 6d5451fd
philox4x32 10 243f6a88 85a308d3 13198a2e 03707344 a4093822 299f31d0   d16cfe09 94fdcceb 5001e420 24126ea1
`
  .trim()
  .split('\n')
  .map((line) => {
    const f = line.trim().split(/\s+/);
    return {
      rounds: Number(f[1]),
      ctr: words(f.slice(2, 6).join(' ')),
      key: words(f.slice(6, 8).join(' ')) as [number, number],
      want: f.slice(8, 12).join(' '),
    };
  });

describe('Philox4x32 against the Random123 known answers', () => {
  it('has the six 4x32 vectors (7 and 10 rounds: zeros, ones, pi digits)', () => {
    expect(KAT.map((k) => k.rounds)).toEqual([7, 7, 7, 10, 10, 10]);
  });
  for (const k of KAT)
    it(`${k.rounds} rounds, counter ${hex(k.ctr)}, key ${hex(k.key)}`, () => {
      expect(hex(philox4x32(k.ctr, k.key, k.rounds))).toBe(k.want);
    });
  it('the stream generator (inlined rounds) gives the all-zero vector as block 0 of key (0, 0)', () => {
    // element i of the uniform stream is (w_i + 1/2)·2^-32 of block 0's words: invert it exactly
    const u = fillUniformPhilox(new Float64Array(4), [0, 0], 0);
    expect(hex(Array.from(u, (x) => x * 2 ** 32 - 0.5))).toBe(KAT[3].want);
  });
  it('a wrong round count or key word gives another block (the check can fail)', () => {
    expect(hex(philox4x32(KAT[5].ctr, KAT[5].key, 9))).not.toBe(KAT[5].want);
    expect(hex(philox4x32(KAT[5].ctr, [KAT[5].key[0] ^ 1, KAT[5].key[1]], 10))).not.toBe(KAT[5].want);
  });
});

describe('mulhi32: the high word of a 32×32 product', () => {
  const ref = (a: number, b: number) => Number((BigInt(a >>> 0) * BigInt(b >>> 0)) >> 32n);
  it('equals BigInt at the edges (0, 1, 2^16 ± 1, 2^31, 2^32 − 1 and the Philox multipliers)', () => {
    const edge = [0, 1, 0xffff, 0x10000, 0x10001, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0xd2511f53, 0xcd9e8d57];
    for (const a of edge) for (const b of edge) expect(mulhi32(a, b), `${a} × ${b}`).toBe(ref(a, b));
  });
  fcTest.prop([fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })], { numRuns: 2000 })(
    'equals BigInt for any two words',
    (a, b) => mulhi32(a, b) === ref(a, b),
  );
});

describe('the stream layout and random access', () => {
  const key = philoxKey(7, 'W', 3);
  it('uniform element i is word i mod 4 of the block at counter (b mod 2^32, floor(b / 2^32), 0, 0), b = floor(i / 4)', () => {
    for (const b of [0, 1, 5, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 3, 2 ** 45 + 17]) {
      const w = philox4x32([b % 2 ** 32, Math.floor(b / 2 ** 32), 0, 0], key);
      const u = fillUniformPhilox(new Float64Array(4), key, 4 * b);
      expect(Array.from(u)).toEqual(Array.from(w, unitOf));
    }
  });
  it('uniforms lie in (0, 1) at their extreme words', () => {
    expect(unitOf(0)).toBe(2 ** -33);
    expect(unitOf(0xffffffff)).toBe(1 - 2 ** -33);
  });
  fcTest.prop([fc.nat(5000), fc.nat(300)], { numRuns: 200 })('normals: drawing [a, b) directly equals the slice of [0, b)', (a, len) => {
    const whole = fillNormalPhilox(new Float64Array(a + len), key, 0);
    const part = fillNormalPhilox(new Float64Array(len), key, a);
    expect(Array.from(part)).toEqual(Array.from(whole.subarray(a)));
  });
  fcTest.prop([fc.integer({ min: 0, max: 2 ** 52 }), fc.nat(40), fc.nat(40)], { numRuns: 200 })(
    'normals far out (offsets to 2^52): [a, a + m + n) is [a, a + m) then [a + m, a + m + n); uniforms too',
    (a, m, n) => {
      const whole = fillNormalPhilox(new Float32Array(m + n), key, a, 0.5);
      const left = fillNormalPhilox(new Float32Array(m), key, a, 0.5);
      const right = fillNormalPhilox(new Float32Array(n), key, a + m, 0.5);
      expect(Array.from(whole)).toEqual([...left, ...right]);
      const uw = fillUniformPhilox(new Float64Array(m + n), key, a);
      expect(Array.from(uw)).toEqual([
        ...fillUniformPhilox(new Float64Array(m), key, a),
        ...fillUniformPhilox(new Float64Array(n), key, a + m),
      ]);
    },
  );
  it('keys: the same (seed, labels) give the same key, other labels or seeds another', () => {
    expect(philoxKey(7, 'W', 3)).toEqual(key);
    expect(philoxKey(7, 'W', 4)).not.toEqual(key);
    expect(philoxKey(8, 'W', 3)).not.toEqual(key);
    expect(philoxKey(7, 'b', 3)).not.toEqual(key);
  });
  it('refuses an offset that is not an integer in [0, 2^53 − length]; the last positions are drawn', () => {
    for (const bad of [-1, 0.5, 2 ** 53, 2 ** 53 - 1, Number.NaN])
      expect(() => fillNormalPhilox(new Float64Array(2), key, bad)).toThrow(/offset/);
    expect(fillNormalPhilox(new Float64Array(2), key, 2 ** 53 - 2).length).toBe(2);
  });
});

describe('the transcendental parts against JavaScript Math', () => {
  // words: the edges of every table segment's neighbourhood and 200k spread over the circle
  const ws: number[] = [0, 1, 2, 255, 256, 2 ** 23 - 1, 2 ** 23, 2 ** 31, 2 ** 32 - 2, 2 ** 32 - 1];
  for (let i = 0; i < 200_000; i++) ws.push(Math.imul(i, 0x9e3779b9) >>> 0);
  it('logUnit(w) = ln((w + 1/2)·2^-32) within 1e-15·max(1, |ln u|) (double rounding of a few operations)', () => {
    let worst = 0;
    for (const w of ws) {
      const ref = Math.log(unitOf(w));
      worst = Math.max(worst, Math.abs(logUnit(w) - ref) / Math.max(1, Math.abs(ref)));
    }
    expect(worst).toBeLessThan(1e-15);
  });
  it('sinCosTurn(w) = [cos, sin] of 2π(w + 1/2)·2^-32 within 2e-15 (the angle itself is rounded once, to 8e-16)', () => {
    let worst = 0;
    for (const w of ws) {
      const t = 2 * Math.PI * unitOf(w);
      const [c, s] = sinCosTurn(w);
      worst = Math.max(worst, Math.abs(c - Math.cos(t)), Math.abs(s - Math.sin(t)));
    }
    expect(worst).toBeLessThan(2e-15);
  });
  it('the normals are Box–Muller on the pairs (w0, w1), (w2, w3) of each block: a second implementation on Math agrees to 1e-10', () => {
    // the bound: ln u is within 3e-16 absolute, and sqrt(y) moves by at most dy / (2 sqrt(y_min)) with y_min = -2 ln(1 - 2^-33) ≈ 2^-32
    const key = philoxKey(11, 'inputs');
    const nBlocks = 20_000;
    const z = fillNormalPhilox(new Float64Array(4 * nBlocks), key, 0);
    let worst = 0;
    for (let b = 0; b < nBlocks; b++) {
      const w = philox4x32([b, 0, 0, 0], key);
      for (let p = 0; p < 2; p++) {
        const r = Math.sqrt(-2 * Math.log(unitOf(w[2 * p])));
        const t = 2 * Math.PI * unitOf(w[2 * p + 1]);
        worst = Math.max(worst, Math.abs(z[4 * b + 2 * p] - r * Math.cos(t)), Math.abs(z[4 * b + 2 * p + 1] - r * Math.sin(t)));
      }
    }
    expect(worst).toBeLessThan(1e-10);
  });
});

describe('the distribution of the normals (n = 2^21, tolerances 5 standard errors: two-sided p ≈ 6e-7 each)', () => {
  const n = 2 ** 21;
  const z = fillNormalPhilox(new Float64Array(n), philoxKey(20261202, 'W', 1), 12344);
  const mean = (f: (x: number) => number) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += f(z[i]);
    return s / n;
  };
  it('moments: E z = 0 (sd 1/√n), E z² = 1 (sd √(2/n)), E z³ = 0 (sd √(15/n)), E z⁴ = 3 (sd √(96/n))', () => {
    expect(Math.abs(mean((x) => x))).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(mean((x) => x * x) - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    expect(Math.abs(mean((x) => x ** 3))).toBeLessThan(5 * Math.sqrt(15 / n));
    expect(Math.abs(mean((x) => x ** 4) - 3)).toBeLessThan(5 * Math.sqrt(96 / n));
    // the variance check rejects a sample 1% too wide: E (1.01 z)² − 1 = 0.0201, 20 sd off
    expect(Math.abs(mean((x) => (1.01 * x) ** 2) - 1)).toBeGreaterThan(5 * Math.sqrt(2 / n));
  });
  it('neighbours are uncorrelated: E z_i z_(i+1) = 0 and E z_i z_(i+4) = 0 (sd 1/√n), both within a pair and across blocks', () => {
    for (const lag of [1, 2, 4]) {
      let s = 0;
      for (let i = 0; i + lag < n; i++) s += z[i] * z[i + lag];
      expect(Math.abs(s / (n - lag)), `lag ${lag}`).toBeLessThan(5 / Math.sqrt(n));
    }
    // and of the squares within a Box–Muller pair (cos² + sin² = 1 ties r to both): Cov(z0², z1²) = 0
    let s = 0;
    for (let i = 0; i < n; i += 2) s += (z[i] * z[i] - 1) * (z[i + 1] * z[i + 1] - 1);
    expect(Math.abs(s / (n / 2))).toBeLessThan(5 * Math.sqrt(4 / (n / 2)));
  });
  /** √n · sup |F_n − Φ| of the sample x·c. */
  const ks = (c: number) => {
    const s = Float64Array.from(z, (x) => x * c).sort();
    let d = 0;
    for (let i = 0; i < n; i++) {
      const f = normCdf(s[i]);
      d = Math.max(d, (i + 1) / n - f, f - i / n);
    }
    return Math.sqrt(n) * d;
  };
  // Kolmogorov: P(√n D > 2.5) ≈ 2 e^(-2·2.5²) = 7.5e-6
  it('KS against Φ: √n D < 2.5; and it rejects the same sample with variance 1.01² (√n D ≈ 1448 · 0.0024 ≈ 3.5)', () => {
    expect(ks(1)).toBeLessThan(2.5);
    expect(ks(1.01)).toBeGreaterThan(2.5);
  });
  it('tails: #(|z| > 3) and #(|z| > 4) within 5 binomial sd of n·2Φ(−3) ≈ 5662 and n·2Φ(−4) ≈ 133', () => {
    for (const t of [3, 4]) {
      const p = 2 * normCdf(-t);
      let k = 0;
      for (let i = 0; i < n; i++) if (Math.abs(z[i]) > t) k++;
      expect(Math.abs(k - n * p), `beyond ${t}σ`).toBeLessThan(5 * Math.sqrt(n * p * (1 - p)));
    }
    // the tail check rejects a sample 3% too wide (expected count beyond 3σ: n·2Φ(−3/1.03) ≈ 7500, 24 sd off)
    const p3 = 2 * normCdf(-3);
    let wide = 0;
    for (let i = 0; i < n; i++) if (Math.abs(1.03 * z[i]) > 3) wide++;
    expect(Math.abs(wide - n * p3)).toBeGreaterThan(5 * Math.sqrt(n * p3 * (1 - p3)));
  });
});
