// The native addon's Philox4x32-10 (native/blas/blas.c philoxNormal, philox4x32) against the TypeScript one
// (src/network/philox.ts): the Random123 known answers, and the same normals bit for bit, float64 and
// float32, at 1 to 5 threads and at offsets that split blocks, on both native kernels (AVX2, 8 blocks a step,
// and the portable one). Skipped only when the addon is not built (or predates the generator), with the reason.
import { readFileSync } from 'node:fs';
import { fc, test as fcTest } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeRandom, nativeUnavailableReason } from '../../src/io/native.js';
import { fillNormalPhilox, philox4x32, philoxKey, setPhiloxNormalFill } from '../../src/network/philox.js';

// src/io/native.ts hands fillNormalPhilox's bulk fills to the addon when it loads: unset that here, so that
// fillNormalPhilox is the TypeScript generator the addon is compared with
const registered = setPhiloxNormalFill(null);
afterAll(() => {
  setPhiloxNormalFill(registered);
});

const random = nativeRandom();
const why = random
  ? ''
  : ` (skipped: ${nativeUnavailableReason() ?? 'the built addon predates philoxNormal or philoxKernel; rebuild it with `node native/blas/build.cjs`'})`;

/** Whether the CPU has AVX2, from the kernel's own report (/proc/cpuinfo; null where there is none). */
function cpuHasAvx2(): boolean | null {
  try {
    return /^flags\s*:.*\bavx2\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return null;
  }
}

/** The index of the first element where a and b differ in bits (NaN-safe), or -1. */
function firstDiff(a: Float64Array | Float32Array, b: Float64Array | Float32Array): number {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return a.length === b.length ? -1 : a.length;
}

describe.skipIf(random === null)(`native Philox4x32-10 gives the TypeScript bits${why}`, () => {
  const r = random!;
  it('the Random123 known answers (tests/kat_vectors, commit 9545ff64: 10 rounds, zeros, ones and pi digits)', () => {
    expect(typeof registered).toBe('function');
    expect(setPhiloxNormalFill(null)).toBeNull(); // fillNormalPhilox draws every element in TypeScript here
    const cases: [number[], [number, number], number[]][] = [
      [
        [0, 0, 0, 0],
        [0, 0],
        [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
      ],
      [
        [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
        [0xffffffff, 0xffffffff],
        [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
      ],
      [
        [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
        [0xa4093822, 0x299f31d0],
        [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
      ],
    ];
    for (const [ctr, key, want] of cases) {
      const out = new Uint32Array(4);
      r.philox4x32(Uint32Array.from(ctr), key[0], key[1], 10, out);
      expect(Array.from(out)).toEqual(want);
      expect(Array.from(philox4x32(ctr, key))).toEqual(want);
    }
  });
  it('any round count 0 … 16 and key: the same block as TypeScript', () => {
    const ctr = [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344];
    for (let rounds = 0; rounds <= 16; rounds++) {
      const out = new Uint32Array(4);
      r.philox4x32(Uint32Array.from(ctr), 0xdeadbeef, 0x12345678, rounds, out);
      expect(Array.from(out), `${rounds} rounds`).toEqual(Array.from(philox4x32(ctr, [0xdeadbeef, 0x12345678], rounds)));
    }
  });
  it('runs the AVX2 kernel where the CPU has AVX2 (/proc/cpuinfo), else the portable one', () => {
    const has = cpuHasAvx2();
    if (has === null) expect(['avx2', 'portable']).toContain(r.philoxKernel());
    else expect(r.philoxKernel()).toBe(has ? 'avx2' : 'portable');
    expect(() => r.philoxKernel('sse' as 'avx2')).toThrow(/avx2, portable/);
  });
  const start = r.philoxKernel();
  const kernels = start === 'avx2' ? (['avx2', 'portable'] as const) : (['portable'] as const);
  for (const kernel of kernels)
    describe(`the ${kernel} kernel`, () => {
      beforeAll(() => {
        r.philoxKernel(kernel);
      });
      afterAll(() => {
        r.philoxKernel(start);
      });
      // 2^18 + 3 normals: every table segment of the log and the angle is hit many times
      const n = 2 ** 18 + 3;
      for (const [seed, offset, scale] of [
        [1, 0, 1],
        [2, 5, 0.0441941738241592],
        [3, 2 ** 40 + 2, 1.7],
        // blocks 2^32 − 9 … : the counter's high word changes inside an 8-block step
        [4, 2 ** 34 - 37, 1],
      ] as const)
        for (const threads of [1, 2, 3]) {
          const key = philoxKey(seed, 'W', 1);
          it(`float64 and float32, offset ${offset}, scale ${scale}, ${threads} thread(s): bit for bit`, () => {
            expect(r.philoxKernel()).toBe(kernel);
            const ts = fillNormalPhilox(new Float64Array(n), key, offset, scale);
            const nat = new Float64Array(n);
            r.philoxNormal(nat, key[0], key[1], offset, scale, threads);
            expect(firstDiff(nat, ts)).toBe(-1);
            const ts32 = fillNormalPhilox(new Float32Array(n), key, offset, scale);
            const nat32 = new Float32Array(n);
            r.philoxNormal(nat32, key[0], key[1], offset, scale, threads);
            expect(firstDiff(nat32, ts32)).toBe(-1);
          });
        }
      it('every length 0 … 80 at every offset mod 4 (the 8-block steps and the blocks around them): bit for bit', () => {
        const key = philoxKey(9, 'short');
        for (let len = 0; len <= 80; len++)
          for (const offset of [0, 1, 2, 3, 2 ** 34 - 41, 2 ** 34 - 42]) {
            const nat = new Float64Array(len);
            r.philoxNormal(nat, key[0], key[1], offset, 1, 1);
            expect(firstDiff(nat, fillNormalPhilox(new Float64Array(len), key, offset)), `length ${len}, offset ${offset}`).toBe(-1);
          }
      });
      fcTest.prop(
        [
          fc.integer({ min: 0, max: 2 ** 40 }),
          fc.oneof(fc.integer({ min: 0, max: 40_000 }), fc.integer({ min: 131_072, max: 400_000 })),
          fc.integer({ min: 1, max: 5 }),
        ],
        { numRuns: 30 },
      )(
        'any offset, length and thread count (a thread for each 65536 elements at most: runs split at any element, blocks across threads): the TypeScript bits',
        (offset, len, threads) => {
          const key = philoxKey(offset % 97, 'prop');
          const nat = new Float32Array(len);
          r.philoxNormal(nat, key[0], key[1], offset, 0.25, threads);
          expect(firstDiff(nat, fillNormalPhilox(new Float32Array(len), key, offset, 0.25))).toBe(-1);
        },
      );
    });
  it('the comparison can fail: another key or a shifted offset differs', () => {
    const key = philoxKey(1, 'W', 1);
    const ts = fillNormalPhilox(new Float64Array(64), key, 0);
    const other = new Float64Array(64);
    r.philoxNormal(other, key[0] ^ 1, key[1], 0, 1, 1);
    expect(firstDiff(other, ts)).toBe(0);
    r.philoxNormal(other, key[0], key[1], 1, 1, 1);
    expect(firstDiff(other, ts)).toBe(0);
  });
  it('refuses an offset that is not an integer in [0, 2^53 − length]; the last positions are drawn', () => {
    for (const bad of [-1, 0.5, 2 ** 53, 2 ** 53 - 1]) expect(() => r.philoxNormal(new Float64Array(2), 1, 2, bad, 1, 1)).toThrow(/offset/);
    const edge = new Float64Array(2);
    r.philoxNormal(edge, 1, 2, 2 ** 53 - 2, 1, 1);
    expect(Array.from(edge)).toEqual(Array.from(fillNormalPhilox(new Float64Array(2), [1, 2], 2 ** 53 - 2)));
  });
});
