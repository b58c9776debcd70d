// oneDNN's direct convolution in the addon (native/blas/blas.c Conv2d; the blas backend's conv2d, resblock and
// projection shortcuts run on it, src/train/layers/conv.ts): forward, backward data and backward weights
// against a float64 direct loop written here, on random geometries (kernel 1–5, stride 1–2, padding 0–k/2,
// odd sizes). Each output is a sum of at most n = k²·C (forward), k²·C_out (backward data) or B·Ho·Wo
// (backward weights) products of float32 values, each product exact in float64; float32 accumulation of n
// terms in any order is within γ_n·Σ|a_i b_i| of the exact sum, γ_n = n·u/(1 − n·u), u = 2⁻²⁴ (Higham,
// "Accuracy and Stability of Numerical Algorithms", §3.1), plus the final rounding u·|sum|. A power check:
// the filter read transposed (dx and dy swapped) breaks that bound.
import { spawnSync } from 'node:child_process';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { addonPath } from '../../src/io/native.js';
import { loadF32Addon } from '../../src/train/blas.js';

const conv = loadF32Addon()?.conv2d ?? null;
const U = 2 ** -24;

interface G {
  B: number;
  H: number;
  W: number;
  C: number;
  Co: number;
  k: number;
  s: number;
  p: number;
}
const outSize = (n: number, g: G) => Math.floor((n + 2 * g.p - g.k) / g.s) + 1;

/** The exact (float64) result and, per output, Σ|a_i b_i| and the number of terms. */
function reference(op: 0 | 1 | 2, g: G, a: Float32Array, b: Float32Array, swapTaps = false) {
  const { B, H, W, C, Co, k, s, p } = g;
  const Ho = outSize(H, g);
  const Wo = outSize(W, g);
  const n = op === 0 ? B * Ho * Wo * Co : op === 1 ? B * H * W * C : k * k * C * Co;
  const sum = new Float64Array(n);
  const abs = new Float64Array(n);
  const terms = new Float64Array(n);
  for (let b0 = 0; b0 < B; b0++)
    for (let oy = 0; oy < Ho; oy++)
      for (let ox = 0; ox < Wo; ox++)
        for (let dy = 0; dy < k; dy++)
          for (let dx = 0; dx < k; dx++) {
            const y = oy * s + dy - p;
            const x = ox * s + dx - p;
            if (y < 0 || y >= H || x < 0 || x >= W) continue;
            const [ty, tx] = swapTaps ? [dx, dy] : [dy, dx];
            for (let c = 0; c < C; c++)
              for (let o = 0; o < Co; o++) {
                const xi = ((b0 * H + y) * W + x) * C + c;
                const yi = ((b0 * Ho + oy) * Wo + ox) * Co + o;
                const wi = ((ty * k + tx) * C + c) * Co + o;
                const [at, v] = op === 0 ? [yi, a[xi] * b[wi]] : op === 1 ? [xi, a[yi] * b[wi]] : [wi, a[xi] * b[yi]];
                sum[at] += v;
                abs[at] += Math.abs(v);
                terms[at]++;
              }
          }
  return { sum, abs, terms };
}

function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let st = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    st = (Math.imul(st, 1664525) + 1013904223) >>> 0;
    out[i] = st / 2 ** 31 - 1;
  }
  return out;
}

/** The largest |got − exact| / bound over the outputs of one op (≤ 1: within the rounding bound). */
function worst(op: 0 | 1 | 2, g: G, seed: number, swapTaps = false): number {
  const Ho = outSize(g.H, g);
  const Wo = outSize(g.W, g);
  const nx = g.B * g.H * g.W * g.C;
  const ny = g.B * Ho * Wo * g.Co;
  const nw = g.k * g.k * g.C * g.Co;
  const [na, nb, no] = op === 0 ? [nx, nw, ny] : op === 1 ? [ny, nw, nx] : [nx, ny, nw];
  const a = values(na, seed);
  const b = values(nb, seed + 1);
  const out = new Float32Array(no);
  conv!(op, g.B, g.H, g.W, g.C, g.Co, g.k, g.s, g.p, a, b, out);
  const ref = reference(op, g, a, b, swapTaps);
  let w = 0;
  for (let i = 0; i < no; i++) {
    const n = Math.max(ref.terms[i], 1);
    const bound = ((n * U) / (1 - n * U)) * ref.abs[i] + U * Math.abs(ref.sum[i]) + 1e-300;
    w = Math.max(w, Math.abs(out[i] - ref.sum[i]) / bound);
  }
  return w;
}

const geometry = fc
  .record({
    B: fc.integer({ min: 1, max: 3 }),
    H: fc.integer({ min: 1, max: 9 }),
    W: fc.integer({ min: 1, max: 9 }),
    C: fc.integer({ min: 1, max: 9 }),
    Co: fc.integer({ min: 1, max: 17 }),
    k: fc.constantFrom(1, 3, 5),
    s: fc.constantFrom(1, 2),
    p: fc.integer({ min: 0, max: 2 }),
  })
  .map((g) => ({ ...g, p: Math.min(g.p, Math.floor(g.k / 2)) }))
  .filter((g) => g.H + 2 * g.p >= g.k && g.W + 2 * g.p >= g.k);

describe.skipIf(!conv)('the addon’s oneDNN convolution against a float64 direct loop', () => {
  test.prop([geometry, fc.integer({ min: 1, max: 1000 })], { numRuns: 40 })(
    'forward, backward data and backward weights within the float32 accumulation bound',
    (g, seed) => {
      for (const op of [0, 1, 2] as const) expect(worst(op, g, seed)).toBeLessThanOrEqual(1);
    },
  );

  it('the training sizes: 3×3 same convolutions at 32 channels, and a stride-2 1×1 projection', () => {
    for (const g of [
      { B: 4, H: 14, W: 14, C: 32, Co: 32, k: 3, s: 1, p: 1 },
      { B: 4, H: 14, W: 14, C: 16, Co: 32, k: 1, s: 2, p: 0 },
      { B: 4, H: 14, W: 14, C: 16, Co: 32, k: 3, s: 2, p: 1 },
    ])
      for (const op of [0, 1, 2] as const) expect(worst(op, g, 7)).toBeLessThanOrEqual(1);
  });

  it('power: the filter read with its taps transposed is far outside the bound', () => {
    const g = { B: 2, H: 6, W: 6, C: 3, Co: 4, k: 3, s: 1, p: 1 };
    expect(worst(0, g, 3, true)).toBeGreaterThan(1e3);
  });

  it('refuses a bad geometry and arrays shorter than it', () => {
    const f = (n: number) => new Float32Array(n);
    expect(() => conv!(0, 1, 4, 4, 2, 3, 5, 1, 0, f(32), f(150), f(48))).toThrow(RangeError); // k > H + 2p
    expect(() => conv!(3, 1, 4, 4, 2, 3, 3, 1, 1, f(32), f(54), f(48))).toThrow(RangeError); // no op 3
    expect(() => conv!(0, 1, 4, 4, 2, 3, 3, 1, 1, f(31), f(54), f(48))).toThrow(RangeError); // x is 31 < 32
    expect(() => conv!(0, 1, 4, 4, 2, 3, 3, 1, 1, f(32), f(54), f(47))).toThrow(RangeError); // y is 47 < 48
  });

  // oneDNN 2.6's strided 1×1 backward-weights kernel corrupts the heap (blas.c conv_exec_1x1 routes around it);
  // glibc's checks (MALLOC_CHECK_=3) abort the process on a corrupted heap. Power: without the routing, each of
  // these three sequences aborted, every time (3 runs each, measured on this machine).
  it.each([1, 5, 9])('600 random geometries in a row, strided 1×1 ones among them, leave the heap intact (seed %i)', (seed) => {
    const script = `
      const m = require(${JSON.stringify(addonPath())});
      let st = ${seed};
      const rnd = (n) => { st = (Math.imul(st, 1664525) + 1013904223) >>> 0; return st % n; };
      for (let it = 0; it < 600; it++) {
        const k = [1, 1, 3, 5][rnd(4)], s = 1 + rnd(2), p = Math.min(rnd(3), k >> 1);
        const B = 1 + rnd(3), H = 1 + rnd(9), W = 1 + rnd(9), C = 1 + rnd(9), Co = 1 + rnd(17);
        if (H + 2 * p < k || W + 2 * p < k) continue;
        const Ho = Math.floor((H + 2 * p - k) / s) + 1, Wo = Math.floor((W + 2 * p - k) / s) + 1;
        const nx = B * H * W * C, ny = B * Ho * Wo * Co, nw = k * k * C * Co;
        for (const op of [0, 1, 2]) {
          const [na, nb, no] = op === 0 ? [nx, nw, ny] : op === 1 ? [ny, nw, nx] : [nx, ny, nw];
          m.conv2d(op, B, H, W, C, Co, k, s, p, new Float32Array(na).fill(1), new Float32Array(nb).fill(1), new Float32Array(no));
        }
      }
      console.log('ok');`;
    const r = spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      env: { ...process.env, MALLOC_CHECK_: '3' },
      timeout: 120_000,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ok');
    expect(r.status).toBe(0);
  });
});
