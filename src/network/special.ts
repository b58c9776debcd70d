// Special functions in float64, shared by every room (activations need erf; theory needs lgamma).
// Sources: erf via W. J. Cody's rational Chebyshev approximations (Math. Comp. 1969), as in
// the public-domain netlib CALERF; |relative error| < 1e-15 over the real line.
// lgamma via Stirling's asymptotic series (Abramowitz & Stegun 6.1.41) after shifting x ≥ 10.

const SQRT_PI_INV = 0.5641895835477563; // 1/sqrt(pi)

function erfSmall(x: number): number {
  // |x| <= 0.5
  const a = [3.161123743870566, 113.86415415105016, 377.485237685302, 3209.3775891384694, 0.18577770618460604];
  const b = [23.601290952344122, 244.02463793444417, 1282.6165260773723, 2844.2368334391704];
  const z = x * x;
  let num = a[4] * z;
  let den = z;
  for (let i = 0; i < 3; i++) {
    num = (num + a[i]) * z;
    den = (den + b[i]) * z;
  }
  return (x * (num + a[3])) / (den + b[3]);
}

function erfcMid(y: number): number {
  // 0.5 < y <= 4
  const c = [
    0.5641884969886701, 8.883149794388377, 66.11919063714163, 298.6351381974001, 881.952221241769, 1712.0476126340707, 2051.0783778260716,
    1230.3393547979972, 2.1531153547440383e-8,
  ];
  const d = [
    15.744926110709835, 117.6939508913125, 537.1811018620099, 1621.3895745666903, 3290.7992357334597, 4362.619090143247, 3439.3676741437216,
    1230.3393548037495,
  ];
  let num = c[8] * y;
  let den = y;
  for (let i = 0; i < 7; i++) {
    num = (num + c[i]) * y;
    den = (den + d[i]) * y;
  }
  const r = (num + c[7]) / (den + d[7]);
  const ysq = Math.trunc(y * 16) / 16;
  const del = (y - ysq) * (y + ysq);
  return Math.exp(-ysq * ysq) * Math.exp(-del) * r;
}

function erfcLarge(y: number): number {
  // y > 4
  const p = [
    0.30532663496123236, 0.36034489994980445, 0.12578172611122926, 0.016083785148742275, 0.0006587491615298378, 0.016315387137302097,
  ];
  const q = [2.568520192289822, 1.8729528499234604, 0.5279051029514285, 0.06051834131244132, 0.0023352049762686918];
  if (y > 26.6) return 0;
  const z = 1 / (y * y);
  let num = p[5] * z;
  let den = z;
  for (let i = 0; i < 4; i++) {
    num = (num + p[i]) * z;
    den = (den + q[i]) * z;
  }
  let r = (z * (num + p[4])) / (den + q[4]);
  r = (SQRT_PI_INV - r) / y;
  const ysq = Math.trunc(y * 16) / 16;
  const del = (y - ysq) * (y + ysq);
  return Math.exp(-ysq * ysq) * Math.exp(-del) * r;
}

/** Complementary error function erfc(x) = 1 - erf(x), accurate in the far tail. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const y = Math.abs(x);
  let r: number;
  if (y <= 0.5) return 1 - erfSmall(x);
  if (y <= 4) r = erfcMid(y);
  else r = erfcLarge(y);
  return x < 0 ? 2 - r : r;
}

/** Error function erf(x). */
export function erf(x: number): number {
  if (Math.abs(x) <= 0.5) return erfSmall(x);
  return 1 - erfc(x);
}

/** Standard normal density. */
export function normPdf(x: number): number {
  return 0.3989422804014327 * Math.exp(-0.5 * x * x);
}

/** Standard normal CDF Φ(x), accurate in both tails. */
export function normCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** ln Γ(x) for x > 0: Stirling's series for x ≥ 10, upward recurrence below; ~1e-15 relative. */
export function lgamma(x: number): number {
  if (x < 0.5) {
    // reflection: Γ(x)Γ(1-x) = π / sin(πx)
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
  }
  let shift = 0;
  while (x < 10) {
    shift += Math.log(x);
    x += 1;
  }
  const z = 1 / (x * x);
  const series = (1 / x) * (1 / 12 - z * (1 / 360 - z * (1 / 1260 - z * (1 / 1680 - z / 1188))));
  return (x - 0.5) * Math.log(x) - x + 0.9189385332046728 + series - shift;
}
