// Predicted (infinite width, the theory table) against sampled growth of ‖∂L/∂h‖² per block for
// Linear → LayerNorm → φ and Linear → RMSNorm → φ at widths 256, 1024 and 2048.
//
// Two samplers: the project's float64 sampler (src/sample forwardBackward, its LN/RMSNorm kernels) at widths
// 256, 1024 and 2048, and a second implementation written here (float64 loops: forward, and the full LN /
// RMSNorm backward with its mean and radial paths) at 256 and 1024, written before the sampler's kernels
// landed. Nothing here calls the theory's quadrature.
//
// Tolerance (docs/derivations.md §17.4): the test compares m = mean over (seed, interior layer) of ln R_l,
// R_l = ‖∂L/∂h_l‖²/‖∂L/∂h_{l+1}‖², with ln g∞. At width n, ε = σ_b² = 0,
//   E ln R = ln g∞ + b/n − V/2 + O(n⁻²),   V = Var ln R (the geometric mean's Jensen term),
// and |b| ≤ c₁ + c₂ + |c₃| + c₄ (each derived at leading order, added in absolute value):
//   c₁ projection: LN 1 + ρ, RMSNorm ρ, ρ = E[z²φ′(z)²]/E[φ′(z)²];
//   c₂ the inverse of the sample variance over units, E[n/χ²_k] = n/(k − 2): LN (k = n − 1) 3, RMSNorm (k = n) 2;
//   c₃ the fluctuation of ‖x_{l−1}‖² against its covariance with Σφ′²: Var φ²/(E φ²)² − Cov(φ′², φ²)/(E φ′² E φ²);
//   c₄ gradient independence: the exact ∂L/∂x_l is orthogonal to x_l (LN(W x) is scale invariant), which
//      removes at most E[φ²φ′²]/(E φ² E φ′²)/n of it.
// The test allows |m − ln g∞| ≤ |b|max/n + V/2 + 3·SE (Z_FAMILY; expectAgrees, the rule of compare and reproduce,
// with the tolerance absolute since m is a log), SE = sd/√N over the N (seed, layer) values (layers
// of one net draw fresh weights and are treated as independent). The power check: the same band around
// m must exclude the BatchNorm value E φ′²/Var φ (π/(π−1) for ReLU), i.e. the test would fail had the theory
// predicted it. For tanh (odd) Var φ = E φ², so the large-batch BN value equals the LN value and there is
// no power against it; the check uses BN at B = 4, the batch the nets here use.
import { describe, test } from 'vitest';
import { makeSpec, normalStream, parseActivation } from '../../src/network/index.js';
import { forwardBackward } from '../../src/sample/index.js';
import { bnGradientRate, predict } from '../../src/theory/index.js';
import { expectAgrees, expectExcludes } from '../helpers/agreement.js';

// Standard errors allowed on top of the derived bias bound, above the default AGREEMENT_Z = 2: 20 checks (12 on
// the sampler, 8 on the second implementation) over N = 21, 28 or 84 values, so t with 20–83 degrees of freedom,
// whose two-sided tail at 3 is 0.36–0.71% per check: ≤ 11% for the family from the band alone (z = 2: near
// certain), and less in fact, since the bias bound |b|max/n + V/2 adds the terms' absolute values.
const Z_FAMILY = 3;

type NormKind = 'layernorm' | 'rmsnorm';

/** ln ‖∂L/∂h_l‖² summed over the batch, l = 1..L: readout loss Σ_b r·x_L(b), Var W = σ_w²/n, no bias, ε = 0. */
function sampledLogGradNorms(n: number, L: number, B: number, norm: NormKind, actName: string, seed: number): number[] {
  const { phi, dphi } = parseActivation(actName);
  const g = normalStream(seed, 'lnSampled', norm, actName, n);
  const sd = Math.sqrt(2 / n);
  const Ws: Float64Array[] = [];
  for (let l = 0; l < L; l++) {
    const W = new Float64Array(n * n);
    for (let i = 0; i < n * n; i++) W[i] = sd * g();
    Ws.push(W);
  }
  let x = new Float64Array(B * n);
  for (let i = 0; i < B * n; i++) x[i] = g();
  const zs: Float64Array[] = [];
  const ss: Float64Array[] = [];
  for (let l = 0; l < L; l++) {
    const W = Ws[l];
    const z = new Float64Array(B * n);
    const s = new Float64Array(B);
    const out = new Float64Array(B * n);
    for (let b = 0; b < B; b++) {
      const h = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let a = 0;
        for (let j = 0; j < n; j++) a += W[i * n + j] * x[b * n + j];
        h[i] = a;
      }
      let m = 0;
      if (norm === 'layernorm') {
        for (let i = 0; i < n; i++) m += h[i];
        m /= n;
      }
      let v = 0;
      for (let i = 0; i < n; i++) v += (h[i] - m) ** 2;
      s[b] = Math.sqrt(v / n);
      for (let i = 0; i < n; i++) {
        z[b * n + i] = (h[i] - m) / s[b];
        out[b * n + i] = phi(z[b * n + i]);
      }
    }
    zs.push(z);
    ss.push(s);
    x = out;
  }
  const r = new Float64Array(n);
  for (let i = 0; i < n; i++) r[i] = g();
  let gx = new Float64Array(B * n);
  for (let b = 0; b < B; b++) gx.set(r, b * n);
  const res = new Array<number>(L);
  for (let l = L - 1; l >= 0; l--) {
    const z = zs[l];
    const s = ss[l];
    const gh = new Float64Array(B * n);
    let tot = 0;
    for (let b = 0; b < B; b++) {
      // ∂L/∂h = (1/s)(g − mean g − ẑ·mean(ẑ g)), g = ∂L/∂ẑ; RMSNorm without the mean term
      let mg = 0;
      let mzg = 0;
      for (let i = 0; i < n; i++) {
        const gz = gx[b * n + i] * dphi(z[b * n + i]);
        gh[b * n + i] = gz;
        mg += gz;
        mzg += gz * z[b * n + i];
      }
      mg = norm === 'layernorm' ? mg / n : 0;
      mzg /= n;
      for (let i = 0; i < n; i++) {
        const v = (gh[b * n + i] - mg - z[b * n + i] * mzg) / s[b];
        gh[b * n + i] = v;
        tot += v * v;
      }
    }
    res[l] = Math.log(tot);
    const W = Ws[l];
    const gp = new Float64Array(B * n);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < n; i++) {
        const gi = gh[b * n + i];
        for (let j = 0; j < n; j++) gp[b * n + j] += W[i * n + j] * gi;
      }
    }
    gx = gp;
  }
  return res;
}

/** E f(z), z ~ N(0,1): composite Simpson on [−12, 12], h = 1e-3 (kink of ReLU at a node; error < 1e-10). */
function simpson(f: (z: number) => number): number {
  const N = 24000;
  const h = 24 / N;
  let s = 0;
  for (let i = 0; i <= N; i++) {
    const z = -12 + i * h;
    s += (i === 0 || i === N ? 1 : i % 2 ? 4 : 2) * f(z) * Math.exp(-0.5 * z * z);
  }
  return (s * h) / 3 / Math.sqrt(2 * Math.PI);
}

/** |b|max of the header: the bound on the 1/n coefficient of E ln R − ln g∞ (without the Jensen term). */
function biasCoefficient(norm: NormKind, actName: string): number {
  const { phi, dphi } = parseActivation(actName);
  const e1 = simpson((z) => dphi(z) ** 2);
  const e2 = simpson((z) => phi(z) ** 2);
  const rho = simpson((z) => z * z * dphi(z) ** 2) / e1;
  const c1 = (norm === 'layernorm' ? 1 : 0) + rho;
  const c2 = norm === 'layernorm' ? 3 : 2;
  const c3 = (simpson((z) => phi(z) ** 4) - e2 * e2) / (e2 * e2) - (simpson((z) => dphi(z) ** 2 * phi(z) ** 2) - e1 * e2) / (e1 * e2);
  const c4 = simpson((z) => phi(z) ** 2 * dphi(z) ** 2) / (e1 * e2);
  return c1 + c2 + Math.abs(c3) + c4;
}

const L = 10;
const B = 4;
const LAYERS: [number, number] = [2, 8]; // R_l for l = 2..8: block 1 sees the raw input, block L the readout

/** The check of the header on the values ln R_l over seeds and interior layers. */
function checkAgainstTheory(norm: NormKind, a: string, n: number, lnR: number[], who: string): void {
  const order = norm === 'layernorm' ? 'linear-ln-act' : 'linear-rms-act';
  const gInf = predict(makeSpec({ order, activation: a, depth: L, width: n, batch: B, bn: { gamma: 1, beta: 0, eps: 0 } })).predictedGrowth;
  const N = lnR.length;
  const m = lnR.reduce((x, y) => x + y, 0) / N;
  const V = lnR.reduce((x, y) => x + (y - m) ** 2, 0) / (N - 1);
  const se = Math.sqrt(V / N);
  const opts = { relTol: 0, absTol: biasCoefficient(norm, a) / n + V / 2, se, z: Z_FAMILY };
  const tol = opts.absTol + Z_FAMILY * se;
  // power: the BatchNorm value (ReLU: large batch, π/(π−1); tanh: B = 4, since E φ′²/Var φ = E φ′²/E φ² for odd φ)
  const gBN = a === 'relu' ? Math.PI / (Math.PI - 1) : bnGradientRate(a, B, { gamma: 1, beta: 0, eps: 0 });
  if (process.env.LN_SAMPLED_VERBOSE) {
    console.log(
      `${who} ${norm} ${a} n=${n}: sampled ${Math.exp(m).toFixed(5)} ± ${se.toFixed(5)} (ln), predicted ${gInf.toFixed(5)}, |b|max ${biasCoefficient(norm, a).toFixed(2)}, V/2 ${(V / 2).toExponential(2)}, tol ${tol.toExponential(2)}, BN ${gBN.toFixed(5)}`,
    );
  }
  expectAgrees(Math.log(gInf), m, opts, `${who} ${norm} ${a} n=${n}, ln growth`);
  expectExcludes(Math.log(gBN), m, opts, `ln of the BN value ${gBN.toFixed(5)}`);
}

const KINDS = (['layernorm', 'rmsnorm'] as const).flatMap((norm) => ['relu', 'tanh'].map((a) => [norm, a] as const));

describe('LN / RMSNorm nets: predicted against sampled growth (src/sample forwardBackward)', () => {
  const seeds: Record<number, number> = { 256: 12, 1024: 4, 2048: 3 };
  test.each(KINDS.flatMap(([norm, a]) => [256, 1024, 2048].map((n) => [norm, a, n] as const)))(
    '%s, %s, width %i',
    { timeout: 600_000 },
    (norm, a, n) => {
      const order = norm === 'layernorm' ? 'linear-ln-act' : 'linear-rms-act';
      const spec = makeSpec({ order, activation: a, depth: L, width: n, batch: B, bn: { gamma: 1, beta: 0, eps: 0 } });
      const lnR: number[] = [];
      for (let s = 1; s <= seeds[n]; s++) {
        const st = forwardBackward(spec, s);
        for (let l = LAYERS[0]; l <= LAYERS[1]; l++) lnR.push(st.logGradHSq[l - 1] - st.logGradHSq[l]);
      }
      checkAgainstTheory(norm, a, n, lnR, 'sampler');
    },
  );
});

describe('LN / RMSNorm nets: predicted against sampled growth (second implementation)', () => {
  const seeds: Record<number, number> = { 256: 12, 1024: 3 };
  test.each(KINDS.flatMap(([norm, a]) => [256, 1024].map((n) => [norm, a, n] as const)))(
    '%s, %s, width %i',
    { timeout: 600_000 },
    (norm, a, n) => {
      const lnR: number[] = [];
      for (let s = 1; s <= seeds[n]; s++) {
        const ln = sampledLogGradNorms(n, L, B, norm, a, s);
        for (let l = LAYERS[0]; l <= LAYERS[1]; l++) lnR.push(ln[l - 1] - ln[l]);
      }
      checkAgainstTheory(norm, a, n, lnR, 'second');
    },
  );
});
