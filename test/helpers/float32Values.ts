// Deterministic float32 test values for the blas backend's tests (an LCG): about ±3·2^±4, with 0, −0, NaN, ±∞,
// a subnormal and −3 mixed in (8% of entries) when asked, or all positive (|v| + 10⁻³).

/** n deterministic float32 values of `seed`; `special`: mix in special values; `positive`: |v| + 1e-3. */
export function values(n: number, seed: number, special = false, positive = false): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const SPECIAL = [0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-40, -3];
  for (let i = 0; i < n; i++) {
    const u = next();
    if (special && u < 0.08) out[i] = SPECIAL[Math.floor(next() * SPECIAL.length)];
    else {
      const v = (next() - 0.5) * 6 * 2 ** Math.floor(next() * 8 - 4);
      out[i] = positive ? Math.abs(v) + 1e-3 : v;
    }
  }
  return out;
}
