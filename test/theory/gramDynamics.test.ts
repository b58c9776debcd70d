// Batch Gram dynamics (src/theory/gramDynamics.ts). Every expected number comes from something independent
// of the Monte Carlo: the construction of a matrix, Yang et al.'s λ(B) and BSB1 fixed point (bnGradientRate,
// bsb1FixedPoint: quadrature / Thm 8), the linear-BN contraction (B−1)/(B+1) (theory-audit Claim 2,
// re-derived in docs/drafts/gramDynamics.md §3) and (B−2)/(B−3). Tolerances: a Student-t quantile times the
// replicas' standard error plus a stated bias bound (expectAgrees, the rule of compare and reproduce, with
// z = zT(R) = T999[R − 1]); each is followed by a power check against a nearby wrong value.
import { describe, expect, test } from 'vitest';
import { bnGradientRate, bsb1FixedPoint, largeBatchRate, linearBnRate } from '../../src/theory/batchnorm.js';
import { gemmABt, pivotedCholesky } from '../../src/theory/denseLinalg.js';
import { gramDiagnostics, gramDynamics, type GramDynamicsInput } from '../../src/theory/gramDynamics.js';
import { expectAgrees } from '../helpers/agreement.js';

/**
 * Two-sided 99.9% quantiles of Student's t (tables), by degrees of freedom: the z of each agreement check over R
 * replicas is T999[R − 1], above the default AGREEMENT_Z = 2. The SE is over 4–16 replicas, so a normal z would
 * understate the tail (t₃ at 2: 14%); the t quantile makes each check's false alarm 0.1% whatever R, ≈ 1.5% over
 * the 15 checks here (16 with the slow one).
 */
const T999: Record<number, number> = {
  1: 636.6,
  2: 31.6,
  3: 12.92,
  4: 8.61,
  5: 6.87,
  6: 5.96,
  7: 5.41,
  8: 5.04,
  9: 4.78,
  11: 4.44,
  15: 4.07,
};
/** The z of a check over R replicas: T999[R − 1]; a replica count without a table entry is an error, not z = 2. */
function zT(R: number): number {
  const z = T999[R - 1];
  if (z === undefined) throw new Error(`no t quantile for ${R - 1} degrees of freedom`);
  return z;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
}

/** 𝒢 = I − 11ᵀ/B */
function centering(B: number): Float64Array {
  const g = new Float64Array(B * B);
  for (let i = 0; i < B; i++) for (let j = 0; j < B; j++) g[i * B + j] = (i === j ? 1 : 0) - 1 / B;
  return g;
}

/** Dense A·B·C for B×B matrices (a second implementation of the centring, by plain triple loops). */
function mul(A: Float64Array, C: Float64Array, B: number): Float64Array {
  const out = new Float64Array(B * B);
  for (let i = 0; i < B; i++) for (let k = 0; k < B; k++) for (let j = 0; j < B; j++) out[i * B + j] += A[i * B + k] * C[k * B + j];
  return out;
}

const frob = (A: Float64Array) => Math.sqrt(A.reduce((s, v) => s + v * v, 0));
const dot = (A: Float64Array, C: Float64Array) => A.reduce((s, v, k) => s + v * C[k], 0);

/** 𝒢 diag(u) 𝒢 with u centred: an L-type matrix. */
function lPart(u: number[], B: number): Float64Array {
  const g = centering(B);
  const d = new Float64Array(B * B);
  const mean = u.reduce((a, b) => a + b, 0) / B;
  for (let i = 0; i < B; i++) d[i * B + i] = u[i] - mean;
  return mul(mul(g, d, B), g, B);
}

/** A sum of "quads" E_ij + E_kl − E_ik − E_jl (symmetrised): zero diagonal and zero row sums, an M-type matrix. */
function mPart(B: number, rnd: () => number, quads = 3 * B): Float64Array {
  const m = new Float64Array(B * B);
  const add = (i: number, j: number, v: number) => {
    m[i * B + j] += v;
    m[j * B + i] += v;
  };
  for (let q = 0; q < quads; q++) {
    const idx: number[] = [];
    while (idx.length < 4) {
      const c = Math.floor((rnd() + 0.5) * B) % B;
      if (!idx.includes(c)) idx.push(c);
    }
    const [i, j, k, l] = idx;
    const w = rnd();
    add(i, j, w);
    add(k, l, w);
    add(i, k, -w);
    add(j, l, -w);
  }
  return m;
}

function spec(activation: string, B: number, eps = 0, order: GramDynamicsInput['order'] = 'linear-bn-act'): GramDynamicsInput {
  return { order, activation, batch: B, depth: 1, init: { sigmaW2: 2, sigmaB2: 0 }, bn: { gamma: 1, beta: 0, eps } };
}

/** The BSB1 Gram q[(1−c)I + c11ᵀ]. */
function bsb1(B: number, q: number, c: number): Float64Array {
  const G = new Float64Array(B * B);
  for (let i = 0; i < B; i++) for (let j = 0; j < B; j++) G[i * B + j] = q * (i === j ? 1 : c);
  return G;
}

describe('gramDiagnostics on constructed matrices', () => {
  const B = 12;
  const rnd = lcg(7);
  const a = 0.8;
  const u = Array.from({ length: B }, () => rnd());
  const Lm = lPart(u, B);
  const Mm = mPart(B, rnd);
  const g = centering(B);
  // a shift r1ᵀ + 1rᵀ + b11ᵀ that centring removes
  const r = Array.from({ length: B }, () => rnd());
  const build = (cl: number, cm: number, shift: number) => {
    const G = new Float64Array(B * B);
    for (let i = 0; i < B; i++) {
      for (let j = 0; j < B; j++) {
        const k = i * B + j;
        G[k] = a * g[k] + cl * Lm[k] + cm * Mm[k] + shift * (r[i] + r[j] + 0.7);
      }
    }
    return G;
  };
  const scale = a * Math.sqrt(B - 1);

  test('the construction is what it claims (independent of gramDiagnostics)', () => {
    for (let i = 0; i < B; i++) {
      expect(Mm[i * B + i]).toBe(0);
      let s = 0;
      for (let j = 0; j < B; j++) s += Mm[i * B + j];
      expect(Math.abs(s)).toBeLessThan(1e-14);
    }
    // L ⟂ M ⟂ 𝒢 in the Frobenius product
    expect(Math.abs(dot(Lm, Mm))).toBeLessThan(1e-12);
    expect(Math.abs(dot(Lm, g))).toBeLessThan(1e-12);
    expect(Math.abs(dot(Mm, g))).toBeLessThan(1e-12);
  });

  test('devL and devM recover the components, and ignore the non-centred shift', () => {
    for (const [cl, cm, shift] of [
      [0.05, 0, 0],
      [0, 0.04, 0],
      [0.05, 0.04, 1.3],
      [0.2, 0.1, -0.4],
    ]) {
      const d = gramDiagnostics(build(cl, cm, shift), B);
      expect(d.devL).toBeCloseTo((cl * frob(Lm)) / scale, 12);
      expect(d.devM).toBeCloseTo((cm * frob(Mm)) / scale, 12);
    }
  });

  test('normSpread, effRank, large from the centred Gram computed by dense 𝒢G𝒢', () => {
    const G = build(0.3, 0.1, 0.9);
    const C = mul(mul(g, G, B), g, B);
    const n = Array.from({ length: B }, (_, i) => Math.sqrt(C[i * B + i]));
    const mean = n.reduce((x, y) => x + y, 0) / B;
    const sd = Math.sqrt(n.reduce((x, y) => x + (y - mean) ** 2, 0) / B);
    const tr = n.reduce((x, y) => x + y * y, 0);
    const d = gramDiagnostics(G, B);
    expect(d.normSpread).toBeCloseTo(sd / mean, 12);
    expect(d.effRank).toBeCloseTo((tr * tr) / frob(C) ** 2, 10);
    expect(d.large).toBe(n.filter((x) => x > mean).length);
    expect(d.q).toBeCloseTo(Array.from({ length: B }, (_, i) => G[i * B + i]).reduce((x, y) => x + y, 0) / B, 12);
  });

  test('BSB1: corr = c, no L or M part, B distinct samples, effRank B − 1', () => {
    const d = gramDiagnostics(bsb1(B, 0.7, 0.25), B);
    expect(d.corr).toBeCloseTo(0.25, 13);
    expect(d.devL).toBeLessThan(1e-13);
    expect(d.devM).toBeLessThan(1e-13);
    expect(d.normSpread).toBeLessThan(1e-13);
    expect(d.distinct).toBe(B);
    expect(d.effRank).toBeCloseTo(B - 1, 10);
  });

  test('a two-block state from explicit vectors: k active samples plus one collapsed point', () => {
    const Bb = 20;
    const k = 4;
    const dim = 30;
    const x: number[][] = [];
    const p = Array.from({ length: dim }, () => rnd());
    for (let i = 0; i < Bb; i++) x.push(i < k ? Array.from({ length: dim }, () => 3 * rnd()) : p.slice());
    const G = new Float64Array(Bb * Bb);
    for (let i = 0; i < Bb; i++) for (let j = 0; j < Bb; j++) G[i * Bb + j] = x[i].reduce((s, v, t) => s + v * x[j][t], 0) / dim;
    const d = gramDiagnostics(G, Bb);
    expect(d.distinct).toBe(k + 1);
    // mean cosine straight from the vectors
    let cs = 0;
    let cnt = 0;
    for (let i = 0; i < Bb; i++) {
      for (let j = i + 1; j < Bb; j++) {
        const nij = x[i].reduce((s, v, t) => s + v * x[j][t], 0);
        cs += nij / Math.sqrt(x[i].reduce((s, v) => s + v * v, 0) * x[j].reduce((s, v) => s + v * v, 0));
        cnt++;
      }
    }
    expect(d.corr).toBeCloseTo(cs / cnt, 12);
    // power: a small perturbation of one collapsed sample makes it distinct
    x[Bb - 1] = p.map((v, t) => v + (t === 0 ? 1e-2 : 0));
    for (let j = 0; j < Bb; j++) {
      const v = x[Bb - 1].reduce((s, w, t) => s + w * x[j][t], 0) / dim;
      G[(Bb - 1) * Bb + j] = v;
      G[j * Bb + Bb - 1] = v;
    }
    expect(gramDiagnostics(G, Bb).distinct).toBe(k + 2);
  });
});

describe('dense kernels', () => {
  test('gemmABt and pivotedCholesky against plain loops, including a rank-deficient matrix', () => {
    const rnd = lcg(3);
    const n = 11;
    const r = 4; // rank 4: S = V Vᵀ with V n×r
    const V = Float64Array.from({ length: n * r }, () => rnd());
    const S = new Float64Array(n * n);
    gemmABt(n, n, r, 1, V, r, V, r, S, n, { sym: true });
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < r; t++) s += V[i * r + t] * V[j * r + t];
        expect(S[i * n + j]).toBeCloseTo(s, 13);
      }
    }
    const f = pivotedCholesky(S, n);
    expect(f.rank).toBe(r);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < f.rank; t++) s += f.L[i * f.rank + t] * f.L[j * f.rank + t];
        expect(s).toBeCloseTo(S[f.perm[i] * n + f.perm[j]], 12);
      }
    }
  });
});

describe('GIA rate at exact BSB1 (the backward estimator alone)', () => {
  // At BSB1 the centred trace is a left eigenvector of T, so every step's ratio has conditional mean λ(B)
  // exactly (docs/drafts/gramDynamics.md §4): no bias term; tolerance t·SE over 16 replicas.
  const R = 16;
  const cases: [string, number, number, number][] = [
    ['relu', 32, bnGradientRate('relu', 32), bnGradientRate('relu', 16)],
    ['tanh', 16, bnGradientRate('tanh', 16), bnGradientRate('tanh', 8)],
    ['identity', 16, linearBnRate(16), linearBnRate(8)],
  ];
  for (const [act, B, expected, wrong] of cases) {
    test(`${act}, B = ${B}: rate = ${expected.toFixed(5)} (Yang et al.)`, () => {
      const fp = bsb1FixedPoint(act, B);
      const r = gramDynamics(
        { ...spec(act, B), depth: 1 },
        { samples: 16, backwardSamples: 256, backwardSteps: 30, burnIn: 4, replicas: R, inputGram: bsb1(B, fp.q, fp.c), seed: 11 },
      );
      const L1 = r.layers[1];
      const a = expectAgrees(expected, L1.rate, { relTol: 0, se: L1.rateSE, z: zT(R) }, 'GIA rate');
      // power: the tolerance excludes λ at half the batch
      expect(a.tolerance + a.band).toBeLessThan(Math.abs(wrong - expected) / 2);
    });
  }
});

describe('Linear → φ → BN (BN after φ)', () => {
  test("ReLU, B = 16 at its fixed point Σ* = B/(B−1)·𝒢: the GIA rate is the audit's independent 1.6780 ± 0.001", () => {
    // theory-audit "Other checks": exact GIA at Σ* by the auditor's own Monte Carlo, 1.6780 ± 0.001 (a net:
    // 1.676 ± 0.004). Our estimator is unbiased at Σ* (𝒢 is a left eigenvector of T, doc §4); tolerance
    // t·SE + 3× the audit's SE. Power: excludes the large-batch formula the toolkit prints (1.6169).
    const B = 16;
    const R = 16;
    const G = new Float64Array(B * B);
    for (let i = 0; i < B; i++) for (let j = 0; j < B; j++) G[i * B + j] = i === j ? 1 : -1 / (B - 1);
    const r = gramDynamics(
      { ...spec('relu', B, 0, 'linear-act-bn'), depth: 1 },
      { samples: 16, backwardSamples: 1024, backwardSteps: 30, burnIn: 4, replicas: R, inputGram: G, seed: 13 },
    );
    const L1 = r.layers[1];
    const a = expectAgrees(1.678, L1.rate, { relTol: 0, absTol: 3 * 0.001, se: L1.rateSE, z: zT(R) }, 'GIA rate');
    expect(a.tolerance + a.band).toBeLessThan(Math.abs(1.6169 - 1.678) / 2);
  });

  test('ReLU, B = 16 from Gaussian inputs: the Gram goes to Σ* (corr → −1/(B−1), q → 1: BN outputs are centred, ‖ẑ‖² = B)', () => {
    const B = 16;
    const R = 4;
    const r = gramDynamics(
      { ...spec('relu', B, 0, 'linear-act-bn'), depth: 8 },
      { samples: 2048, backwardSamples: 64, replicas: R, seed: 3 },
    );
    const last = r.layers[8];
    expect(last.q).toBeCloseTo(1, 12);
    // corr's finite-M bias is O(1/M) (measured −4e-5 at M = 2048); bound 1e-3
    expectAgrees(-1 / (B - 1), last.corr, { relTol: 0, absTol: 1e-3, se: last.se.corr, z: zT(R) }, 'corr');
    expect(r.attractor.state).toBe('bsb1');
  });
});

describe('forward dynamics at a stable point converge to BSB1', () => {
  test('ReLU, B = 32 from Gaussian inputs: corr → c*, q → q*, rate → λ(32)', () => {
    const B = 32;
    const R = 8;
    const M = 4096;
    const fp = bsb1FixedPoint('relu', B);
    const r = gramDynamics({ ...spec('relu', B), depth: 10 }, { samples: M, backwardSamples: 2048, replicas: R, seed: 5 });
    const a = r.attractor;
    expect(a.state).toBe('bsb1');
    expect(a.settled).toBe(true);
    // corr and q at the last layer, per-replica spread; the finite-M bias of corr is O(1/M): bound 2e-3·(4096/M)
    // from runs at M = 4096 (corr − c* = +1.5e-4) and 16384 (+3e-5)
    const last = r.layers[10];
    const c = expectAgrees(fp.c, last.corr, { relTol: 0, absTol: 2e-3 * (4096 / M), se: last.se.corr, z: zT(R) }, 'corr');
    expect(c.tolerance + c.band).toBeLessThan(Math.abs(bsb1FixedPoint('relu', 16).c - fp.c) / 2);
    expectAgrees(fp.q, last.q, { relTol: 0, absTol: 2e-3 * (4096 / M), se: last.se.q, z: zT(R) }, 'q');
    // the rate: finite-M bias bound 1%·(4096/M) from runs at M = 4096 (−0.29% ± 0.18%) and 16384 (−0.01% ± 0.06%)
    const y = bnGradientRate('relu', B);
    const rr = expectAgrees(y, a.rate, { relTol: 0.01 * (4096 / M), se: a.rateSE, z: zT(R) }, 'rate');
    const tolR = rr.tolerance + rr.band;
    // power: excludes the large-batch λ∞ and λ at B = 16
    expect(tolR).toBeLessThan(Math.abs(largeBatchRate('relu') - y));
    expect(tolR).toBeLessThan(Math.abs(bnGradientRate('relu', 16) - y));
  });

  test('tanh, B = 16: rate → λ(16), and the Gram stays BSB1 (normSpread at its Monte Carlo floor)', () => {
    const B = 16;
    const R = 6;
    const M = 2048;
    const r = gramDynamics({ ...spec('tanh', B), depth: 14 }, { samples: M, replicas: R, seed: 9 });
    const a = r.attractor;
    const y = bnGradientRate('tanh', B);
    // bias bound 0.5%·(4096/M) (measured at M = 4096: +0.16% ± 0.07%)
    expect(a.state).toBe('bsb1');
    const rr = expectAgrees(y, a.rate, { relTol: 0.005 * (4096 / M), se: a.rateSE, z: zT(R) }, 'rate');
    expect(rr.tolerance + rr.band).toBeLessThan(Math.abs(bnGradientRate('tanh', 8) - y));
    // the MC floor of normSpread: ≈ ½·√(2/M)/√(1 − λ_L²) with λ_L(tanh, 16) = 0.479 (audit table) → 0.0125;
    // allow 3× the floor
    expect(a.diagnostics.normSpread).toBeLessThan((3 * 0.5 * Math.sqrt(2 / M)) / Math.sqrt(1 - 0.479 ** 2));
  });
});

describe('linear BN (identity)', () => {
  test('a deviation from BSB1 contracts by (B−1)/(B+1) per layer, in both the L and the M direction', () => {
    // Σ0 = a𝒢 ± δ(L̂ + M̂); the half-difference of the ± runs cancels every even order in δ, so the
    // remaining bias is O(δ²) relative: δ = 0.08 → ≤ 1% (bound), and the MC noise enters through t·SE.
    const B = 16;
    const R = 12;
    const depth = 6;
    const rnd = lcg(21);
    const g = centering(B);
    const Lm = lPart(
      Array.from({ length: B }, () => rnd()),
      B,
    );
    const Mm = mPart(B, rnd);
    const a = B / (B - 1);
    const delta = 0.08;
    const nl = (delta * a * Math.sqrt(B - 1)) / frob(Lm);
    const nm = (delta * a * Math.sqrt(B - 1)) / frob(Mm);
    const proj: Record<string, number[][]> = { L: [], M: [] }; // [replica][layer], half-differences
    const runs: Record<number, { L: number[][]; M: number[][] }> = {};
    for (const sgn of [1, -1]) {
      const G0 = new Float64Array(B * B);
      for (let k = 0; k < B * B; k++) G0[k] = a * g[k] + sgn * (nl * Lm[k] + nm * Mm[k]) + 0.3;
      const pl: number[][] = Array.from({ length: R }, () => [] as number[]);
      const pm: number[][] = Array.from({ length: R }, () => [] as number[]);
      gramDynamics(
        { ...spec('identity', B), depth },
        {
          samples: 8192,
          backwardSamples: 16,
          replicas: R,
          seed: 3,
          inputGram: G0,
          progress: ({ replica, gram }) => {
            const C = mul(mul(g, gram, B), g, B);
            const al = C.reduce((s, v, k) => s + (k % (B + 1) === 0 ? v : 0), 0) / (B - 1);
            // the coefficient of L̂ (M̂) relative to the scale a_l, divided by its value δ/… at layer 0
            pl[replica].push(dot(C, Lm) / (al * (nl / a) * frob(Lm) ** 2));
            pm[replica].push(dot(C, Mm) / (al * (nm / a) * frob(Mm) ** 2));
          },
        },
      );
      runs[sgn] = { L: pl, M: pm };
    }
    for (const k of ['L', 'M'] as const)
      for (let rep = 0; rep < R; rep++) proj[k].push(runs[1][k][rep].map((v, l) => (v - runs[-1][k][rep][l]) / 2));
    const rho = (B - 1) / (B + 1);
    for (const k of ['L', 'M'] as const) {
      for (const l of [2, 4, 6]) {
        const vals = proj[k].map((p) => p[l - 1]);
        const mean = vals.reduce((x, y) => x + y, 0) / R;
        const se = Math.sqrt(vals.reduce((x, y) => x + (y - mean) ** 2, 0) / (R - 1) / R);
        const expected = rho ** l;
        const ag = expectAgrees(expected, mean, { relTol: 0.01, se, z: zT(R) }, `${k} coefficient at layer ${l}`);
        const tol = ag.tolerance + ag.band;
        // power: excludes B/(B+1) per layer (the absolute F′ without the scale change) and 1 (no contraction)
        if (l === 6) expect(tol).toBeLessThan(Math.abs((B / (B + 1)) ** l - expected) / 2);
      }
    }
  });
});

describe('SiLU leaves BSB1', () => {
  test('B = 64 (λ_L = 1.06 > 1, audit): normSpread grows, distinct falls, and the rate moves above λ(64)', () => {
    const B = 64;
    const R = 4;
    const depth = 130;
    const r = gramDynamics({ ...spec('silu', B, 1e-5), depth }, { samples: 512, replicas: R, seed: 2 });
    const early = r.layers[5];
    const a = r.attractor;
    expect(early.normSpread).toBeLessThan(0.25);
    expect(early.distinct).toBe(B);
    expect(a.state).toBe('broken');
    expect(a.settled).toBe(true);
    expect(a.diagnostics.normSpread).toBeGreaterThan(0.8);
    // distinct falls once collapsed samples agree to a cosine of 1 − 1e-6, which takes ~100 layers here; the
    // effective rank falls first (BSB1: B − 1 = 63)
    expect(r.layers[depth].distinct).toBeLessThan(B);
    expect(a.diagnostics.effRank).toBeLessThan(B / 5);
    // the attracting-state rate is above Yang's λ(64) = 1.234 at BSB1, which the state has left: a one-sided
    // test at 99% (t quantile 4.541 with 3 degrees of freedom) less a bias bound of 0.03 for M = 512 (the
    // attractor rate measured at M = 512 and 4096: 1.403 ± 0.017 and 1.391 ± 0.004, 2 replicas each)
    const lam = bnGradientRate('silu', B);
    const tol = 4.541 * a.rateSE + 0.03;
    expect(a.rate - lam).toBeGreaterThan(tol);
    // power: the margin is smaller than the distance to the measured attractor rate
    expect(tol).toBeLessThan(1.391 - lam);
  });
});

// Opt-in (about 35 s of CPU): the audit's Claim 3 set-up itself. SIGNALPROP_SLOW=1 npx vitest run test/theory/gramDynamics.test.ts
describe.runIf(process.env.SIGNALPROP_SLOW === '1')('SiLU at B = 256 (slow)', () => {
  test("the attracting-state rate is the audit's ≈ 1.37, not λ(256) = 1.217", () => {
    const B = 256;
    const R = 4;
    const r = gramDynamics({ ...spec('silu', B, 1e-5), depth: 120 }, { samples: 512, replicas: R, seed: 1 });
    const a = r.attractor;
    expect(a.state).toBe('broken');
    expect(r.layers[10].normSpread).toBeLessThan(0.5);
    expect(a.diagnostics.normSpread).toBeGreaterThan(1.5);
    // audit: 1.371 and 1.377 (two backward seeds), 1.361 (another attractor), nets 1.373 ± 0.002; we take
    // 1.37 ± 0.01. Our bias bound for M = 512: 0.03 (M = 512: 1.3841 ± 0.0040 over 4 replicas; M = 1024:
    // 1.3614 ± 0.0019 over 3 replicas; M = 2048: 1.383 with 1 replica)
    const ag = expectAgrees(1.37, a.rate, { relTol: 0, absTol: 0.01 + 0.03, se: a.rateSE, z: zT(R) }, 'attractor rate');
    expect(ag.tolerance + ag.band).toBeLessThan(1.37 - bnGradientRate('silu', B, { gamma: 1, beta: 0, eps: 1e-5 }, { sigmaW2: 2 }));
  });
});
