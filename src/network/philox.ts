// Philox4x32-10, the counter-based generator of Salmon, Moraes, Dror and Shaw (2011), "Parallel random
// numbers: as easy as 1, 2, 3" (SC11; Random123), on 32-bit integer arithmetic, browser-safe (no Node
// imports). A stream is a 64-bit key derived from (seed, labels) like deriveSeed's; its element i lies in
// block floor(i/4) (the 128-bit counter (block mod 2^32, floor(block / 2^32), 0, 0)), word i mod 4, so any
// element of any stream is drawn directly, in any order, on any thread, with the same bits.
//
// Normals: Box–Muller on a fixed pairing, block b's words (w0, w1) and (w2, w3) give normals 4b, 4b+1 and
// 4b+2, 4b+3 (r cos θ, r sin θ with r = sqrt(-2 ln u(w0)), θ = 2π u(w1)). Its log, sin and cos are our own
// tables and polynomials on +, −, ×, ÷ and sqrt (IEEE-exact operations), written in the same order here and
// in the native addon (native/blas/blas.c ph_log_unit, ph_polar), so that both give the same bits;
// JavaScript's Math.log/sin/cos (fdlibm in V8) and glibc's may differ in the last bit. docs/random.md says
// why and how it is checked.
import { stableHash } from './spec.js';

/** The generator's name, as records and manifests give it. */
export const PHILOX = 'philox4x32-10';

/** A Philox4x32 key: two unsigned 32-bit words. */
export type PhiloxKey = readonly [number, number];

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO_M32 = 1 / 4294967296;
const M0H = M0 >>> 16;
const M0L = M0 & 0xffff;
const M1H = M1 >>> 16;
const M1L = M1 & 0xffff;

/** The 64-bit key of the stream (seed, ...labels): both words of stableHash([seed, ...labels]). */
export function philoxKey(seed: number, ...labels: (string | number)[]): PhiloxKey {
  const h = stableHash([seed, ...labels]);
  return [Number.parseInt(h.slice(0, 8), 16) >>> 0, Number.parseInt(h.slice(8, 16), 16) >>> 0];
}

/**
 * The high 32 bits of the 64-bit product of two unsigned 32-bit words, on int32 arithmetic: a and b in 16-bit
 * halves, a·b = ah·bh·2^32 + (ah·bl + al·bh)·2^16 + al·bl, the carries of the middle terms summed below 2^18.
 * The generator's rounds inline this formula.
 */
export function mulhi32(a: number, b: number): number {
  const ah = a >>> 16;
  const al = a & 0xffff;
  const bh = b >>> 16;
  const bl = b & 0xffff;
  const lh = Math.imul(al, bh);
  const hl = Math.imul(ah, bl);
  const mid = ((Math.imul(al, bl) >>> 16) + (lh & 0xffff) + (hl & 0xffff)) >>> 16;
  return (Math.imul(ah, bh) + (lh >>> 16) + (hl >>> 16) + mid) >>> 0;
}

/** One Philox4x32 block: rounds (10 for Philox4x32-10) of the Random123 round function, written into out (unsigned words). */
export function philox4x32(ctr: ArrayLike<number>, key: PhiloxKey, rounds = 10, out: Uint32Array = new Uint32Array(4)): Uint32Array {
  let c0 = ctr[0] >>> 0;
  let c1 = ctr[1] >>> 0;
  let c2 = ctr[2] >>> 0;
  let c3 = ctr[3] >>> 0;
  let k0 = key[0] >>> 0;
  let k1 = key[1] >>> 0;
  for (let r = 0; r < rounds; r++) {
    if (r > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulhi32(c0, M0);
    const lo0 = Math.imul(c0, M0) >>> 0;
    const hi1 = mulhi32(c2, M1);
    const lo1 = Math.imul(c2, M1) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
  return out;
}

// ---- the block of words that holds stream element i ----------------------------------------------

const words = new Uint32Array(4);

/** Block b (< 2^53) of the stream `key`: counter (b mod 2^32, floor(b / 2^32), 0, 0), ten rounds, into `words`. */
function block(b: number, k0: number, k1: number): void {
  let c0 = (b % 4294967296) | 0;
  let c1 = Math.floor(b * TWO_M32) | 0;
  let c2 = 0;
  let c3 = 0;
  let ka = k0 | 0;
  let kb = k1 | 0;
  for (let r = 0; r < 10; r++) {
    if (r > 0) {
      ka = (ka + W0) | 0;
      kb = (kb + W1) | 0;
    }
    // mulhi32(c0, M0) and mulhi32(c2, M1), inlined
    let ah = c0 >>> 16;
    let al = c0 & 0xffff;
    let lh = Math.imul(al, M0H);
    let hl = Math.imul(ah, M0L);
    let mid = ((Math.imul(al, M0L) >>> 16) + (lh & 0xffff) + (hl & 0xffff)) >>> 16;
    const hi0 = (Math.imul(ah, M0H) + (lh >>> 16) + (hl >>> 16) + mid) | 0;
    const lo0 = Math.imul(c0, M0);
    ah = c2 >>> 16;
    al = c2 & 0xffff;
    lh = Math.imul(al, M1H);
    hl = Math.imul(ah, M1L);
    mid = ((Math.imul(al, M1L) >>> 16) + (lh & 0xffff) + (hl & 0xffff)) >>> 16;
    const hi1 = (Math.imul(ah, M1H) + (lh >>> 16) + (hl >>> 16) + mid) | 0;
    const lo1 = Math.imul(c2, M1);
    c0 = hi1 ^ c1 ^ ka;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ kb;
    c3 = lo0;
  }
  words[0] = c0;
  words[1] = c1;
  words[2] = c2;
  words[3] = c3;
}

function checkOffset(offset: number, n: number): void {
  if (!Number.isInteger(offset) || offset < 0 || offset > 2 ** 53 - n)
    throw new RangeError(`philox: offset ${offset} is not an integer in [0, 2^53 − ${n}] (the stream positions of ${n} elements)`);
}

/** The word of a 32-bit uniform as a double in (0, 1): (w + 1/2)·2^-32 (exact; never 0 or 1). */
export function unitOf(w: number): number {
  return ((w >>> 0) + 0.5) * TWO_M32;
}

/** Elements offset … offset + out.length − 1 of the uniform stream `key`: element i = unitOf(word i mod 4 of block floor(i/4)). */
export function fillUniformPhilox(out: Float64Array, key: PhiloxKey, offset = 0): Float64Array {
  checkOffset(offset, out.length);
  const k0 = key[0] >>> 0;
  const k1 = key[1] >>> 0;
  const n = out.length;
  let i = 0;
  while (i < n) {
    const pos = offset + i;
    const j = pos % 4;
    block((pos - j) / 4, k0, k1);
    for (let w = j; w < 4 && i < n; w++, i++) out[i] = (words[w] + 0.5) * TWO_M32;
  }
  return out;
}

// ---- log, sin and cos on IEEE-exact operations (the same order as native/blas/blas.c) -------------
// Each is a table lookup and a short polynomial. The tables are computed at load by long series (on the
// same operations), so they too are the same bits in both languages.

const SQRT_HALF = Math.SQRT1_2; // 0.7071067811865476, as blas.c spells it
const LN2 = Math.LN2; // 0.6931471805599453
// ln m = 2 atanh(s) = 2s (1 + z/3 + z^2/5 + … + z^11/23), s = (m−1)/(m+1), z = s², |s| ≤ 0.1716
const L3 = 1 / 3;
const L5 = 1 / 5;
const L7 = 1 / 7;
const L9 = 1 / 9;
const L11 = 1 / 11;
const L13 = 1 / 13;
const L15 = 1 / 15;
const L17 = 1 / 17;
const L19 = 1 / 19;
const L21 = 1 / 21;
const L23 = 1 / 23;

/** ln y for y in [1/2, 1] by the atanh series (for the tables; truncation below 1e-19 relative). */
function seriesLog(y: number): number {
  const k = y < SQRT_HALF ? 1 : 0;
  const m = k === 1 ? y * 2 : y;
  const f = m - 1;
  const s = f / (2 + f);
  const z = s * s;
  const p = 1 + z * (L3 + z * (L5 + z * (L7 + z * (L9 + z * (L11 + z * (L13 + z * (L15 + z * (L17 + z * (L19 + z * (L21 + z * L23))))))))));
  return 2 * s * p - k * LN2;
}

/** 2^-k for k = -1 … 31, at index k + 1 (exact powers of two). */
const POW2NEG = Float64Array.from({ length: 33 }, (_, i) => 2 ** -(i - 1));
/** For m in [1, 2), j = floor(128 (m − 1)): INV[j] = 1 / c_j with c_j = 1 + (j + 1/2)/128, and LNC[j] = −ln INV[j]. */
const INV = Float64Array.from({ length: 128 }, (_, j) => 1 / (1 + (j + 0.5) / 128));
const LNC = INV.map((v) => -seriesLog(v));
// log1p(r) = r − r²/2 + r³/3 − r⁴/4 + r⁵/5 − r⁶/6 for |r| < 2^-8 (truncation below 3e-18)
const P3 = 1 / 3;
const P5 = 1 / 5;
const P6 = -1 / 6;

/**
 * ln(unitOf(w)): (w + 1/2)·2^-32 = 2^(k−32)·m exactly (k the leading bit of w, m in [1, 2)), ln m = LNC[j] +
 * log1p(m·INV[j] − 1). Its absolute error is below 3e-16 (relative near u = 1/2, absolute near u = 1).
 */
export function logUnit(w: number): number {
  const u = w >>> 0;
  const k = u === 0 ? -1 : 31 - Math.clz32(u);
  const m = (u + 0.5) * POW2NEG[k + 1];
  const j = ((m - 1) * 128) | 0;
  const r = m * INV[j] - 1;
  const p = r + r * r * (-0.5 + r * (P3 + r * (-0.25 + r * (P5 + r * P6))));
  return (k - 32) * LN2 + LNC[j] + p;
}

const HALF_PI = Math.PI / 2; // 1.5707963267948966 (exact halving)
const TWO_M30 = 1 / 1073741824;
/** 2π·2^-32, exactly (2π as a double, scaled by a power of two). */
const TURN_M32 = 2 * Math.PI * TWO_M32; // 6.283185307179586·2^-32
// Taylor coefficients (−1)^n / (2n+1)! and (−1)^n / (2n)! (factorials below 2^53 are exact doubles)
const S3 = -1 / 6;
const S5 = 1 / 120;
const S7 = -1 / 5040;
const S9 = 1 / 362880;
const S11 = -1 / 39916800;
const S13 = 1 / 6227020800;
const S15 = -1 / 1307674368000;
const S17 = 1 / 355687428096000;
const C2 = -1 / 2;
const C4 = 1 / 24;
const C6 = -1 / 720;
const C8 = 1 / 40320;
const C10 = -1 / 3628800;
const C12 = 1 / 479001600;
const C14 = -1 / 87178291200;
const C16 = 1 / 20922789888000;
const C18 = -1 / 6402373705728000;

function sinSeries(p: number): number {
  const z = p * p;
  return p + p * z * (S3 + z * (S5 + z * (S7 + z * (S9 + z * (S11 + z * (S13 + z * (S15 + z * S17)))))));
}

function cosSeries(p: number): number {
  const z = p * p;
  return 1 + z * (C2 + z * (C4 + z * (C6 + z * (C8 + z * (C10 + z * (C12 + z * (C14 + z * (C16 + z * C18))))))));
}

/**
 * [cos, sin] of 2π (w + 1/2)·2^-32 by the series (for the tables): the quadrant from w's top two bits, the
 * angle in it an exact fraction of π/2 folded to [0, π/4] (truncation below 7e-17).
 */
function seriesCosSin(w: number): [number, number] {
  const q = w >>> 30;
  const f = w & 0x3fffffff;
  const lowHalf = f < 0x20000000;
  const p = ((lowHalf ? f : 0x3fffffff - f) + 0.5) * TWO_M30 * HALF_PI;
  const c = lowHalf ? cosSeries(p) : sinSeries(p);
  const s = lowHalf ? sinSeries(p) : cosSeries(p);
  return q === 0 ? [c, s] : q === 1 ? [-s, c] : q === 2 ? [-c, -s] : [s, -c];
}

/** cos and sin at the 512 segment midpoints w_j = j·2^23 + 2^22 of the circle of words. */
const COS = new Float64Array(512);
const SIN = new Float64Array(512);
for (let j = 0; j < 512; j++) [COS[j], SIN[j]] = seriesCosSin(j * 8388608 + 4194304);

const normals = new Float64Array(4);

/**
 * r·cos θ and r·sin θ of θ = 2π·unitOf(w), into dst[at], dst[at + 1]: θ = θ_j + d with θ_j the table's
 * midpoint (j = w's top 9 bits) and |d| ≤ 2π/1024, cos d and sin d by their Taylor polynomials (truncation
 * below 1e-19), then the angle-sum formulas.
 */
function polar(r: number, w: number, dst: Float64Array, at: number): void {
  const j = w >>> 23;
  const d = ((w & 0x7fffff) - 4194304) * TURN_M32;
  const z = d * d;
  const sd = d + d * z * (S3 + z * S5);
  const cd = 1 + z * (C2 + z * (C4 + z * C6));
  const cj = COS[j];
  const sj = SIN[j];
  dst[at] = r * (cj * cd - sj * sd);
  dst[at + 1] = r * (sj * cd + cj * sd);
}

/** [cos θ, sin θ] of θ = 2π·unitOf(w), as the normals use them (for tests). */
export function sinCosTurn(w: number): [number, number] {
  const d = new Float64Array(2);
  polar(1, w >>> 0, d, 0);
  return [d[0], d[1]];
}

/** The four standard normals of block b of stream (k0, k1), into `normals`. */
function normalBlock(b: number, k0: number, k1: number): void {
  block(b, k0, k1);
  // Box–Muller on the pairs (w0, w1) and (w2, w3): r = sqrt(−2 ln u(w0)), θ = 2π u(w1)
  polar(Math.sqrt(-2 * logUnit(words[0])), words[1], normals, 0);
  polar(Math.sqrt(-2 * logUnit(words[2])), words[3], normals, 2);
}

// ---- a bulk fill with the same bits (the native addon's, registered from Node) ---------------------

/**
 * A fill with fillNormalPhilox's bits: out[i] = scale · element offset + i of the normal stream of key (k0, k1)
 * (offset already checked). The native addon's philoxNormal is one (src/io/native.ts registers it in Node).
 */
export type PhiloxNormalFill = (out: Float64Array | Float32Array, k0: number, k1: number, offset: number, scale: number) => void;

let bulkFill: PhiloxNormalFill | null = null;
/** Fills shorter than this stay here: a call into the addon costs about what a few normals do in TypeScript. */
const BULK_MIN = 64;

/**
 * Let fillNormalPhilox hand fills of 64 elements or more to `fill` (null: draw every element here). The
 * fill must give this file's bits (test/network/philoxNative.test.ts checks the addon's). Returns the fill it replaces.
 */
export function setPhiloxNormalFill(fill: PhiloxNormalFill | null): PhiloxNormalFill | null {
  const before = bulkFill;
  bulkFill = fill;
  return before;
}

/**
 * Elements offset … offset + out.length − 1 of the standard normal stream `key`, times scale (a Float32Array
 * gets each double rounded to float32). Element i is the same number whatever the offset and length of the
 * call that draws it (random access), here and in the native addon's philoxNormal (which draws the fill
 * where one is registered: setPhiloxNormalFill).
 */
export function fillNormalPhilox<T extends Float64Array | Float32Array>(out: T, key: PhiloxKey, offset = 0, scale = 1): T {
  checkOffset(offset, out.length);
  const k0 = key[0] >>> 0;
  const k1 = key[1] >>> 0;
  const n = out.length;
  if (bulkFill !== null && n >= BULK_MIN) {
    bulkFill(out, k0, k1, offset, scale);
    return out;
  }
  let i = 0;
  const head = offset % 4;
  if (head !== 0 && n > 0) {
    normalBlock((offset - head) / 4, k0, k1);
    for (let j = head; j < 4 && i < n; j++, i++) out[i] = normals[j] * scale;
  }
  let b = (offset + i) / 4;
  for (; i + 4 <= n; i += 4, b++) {
    normalBlock(b, k0, k1);
    out[i] = normals[0] * scale;
    out[i + 1] = normals[1] * scale;
    out[i + 2] = normals[2] * scale;
    out[i + 3] = normals[3] * scale;
  }
  if (i < n) {
    normalBlock(b, k0, k1);
    for (let j = 0; i < n; j++, i++) out[i] = normals[j] * scale;
  }
  return out;
}
