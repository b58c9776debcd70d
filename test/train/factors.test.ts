// The exact factorisation of the per-layer gradient ratio (src/train/factors.ts) on real training runs:
// the identity R = F_W·F_BN at float32 rounding for every layer and probed step, and every factor
// against an independent float64 computation from the step's captured tensors.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { normalStream } from '../../src/network/index.js';
import type { SPRecord } from '../../src/records/index.js';
import {
  batchNorm,
  batchTargets,
  combineFactors,
  degeneracyOf,
  emptyCapture,
  F32_UNIT_ROUNDOFF,
  gradientsOf,
  initBackend,
  loadData,
  Mlp,
  resolveTrainConfig,
  type TrainConfig,
  trainRun,
} from '../../src/train/index.js';
import { expectAgrees } from '../helpers/agreement.js';

const u = F32_UNIT_ROUNDOFF;

const CFG: TrainConfig = {
  spec: { depth: 6, width: [32, 40, 24, 48, 32, 36], batch: 32, order: 'linear-bn-act', activation: 'relu', bn: { gamma: 1.3, beta: 0.2 } },
  data: { kind: 'mnist', nTrain: 600, nTest: 100 },
  loss: 'xent',
  optimizer: { kind: 'sgd', lr: 0.5 },
  steps: 14,
  seed: 2,
  probe: { dense: 14, perDecade: 0, every: null, enabled: true },
  backend: 'cpu',
};

const val = (rs: SPRecord[], q: string, l: number, step: number) => {
  const r = rs.find((x) => x.quantity === q && x.layer === l && x.step === step);
  if (!r) throw new Error(`no ${q} at layer ${l}, step ${step}`);
  return r.value;
};

describe('gradient factors on a real training run (MNIST, SGD lr 0.5, learned γ ≠ 1)', async () => {
  const run = await trainRun(CFG);
  const L = 6;
  const B = 32;
  const WS = [32, 40, 24, 48, 32, 36]; // unequal widths: n_{l+1} ≠ n_l tells the two normalisations apart
  const steps = [...new Set(run.records.filter((r) => r.quantity === 'grad_growth').map((r) => r.step!))];

  it('F_W·F_BN equals the measured ratio R to float32 rounding at every layer and probed step', () => {
    expect(steps.length).toBe(14);
    // R and the product are ratios of ‖g_h^l‖² and ‖g_h^{l+1}‖², each a float32 sum of B·n squares summed in two
    // orders (device total vs per-unit sums): relative error ≤ B·n·u each (Higham 3.5); two of them
    const bound = 2 * B * Math.max(...WS) * u;
    let worst = 0;
    let count = 0;
    for (const t of steps)
      for (let l = 1; l < L; l++) {
        const R = val(run.records, 'grad_growth', l, t);
        const fW = val(run.records, 'grad_factor_w', l, t);
        const fBN = val(run.records, 'grad_factor_bn', l, t);
        expect(Math.abs(val(run.records, 'grad_factor_product', l, t) / R - 1)).toBeLessThan(bound);
        expect(Math.abs((fW * fBN) / R - 1)).toBeLessThan(bound);
        worst = Math.max(worst, Math.abs((fW * fBN) / R - 1));
        // the splits: F_W = (‖W‖²/n)·α_W and F_BN = A·κ·(1 − ρ_P), exactly (float64 on the host)
        expect(val(run.records, 'weight_gain', l, t) * val(run.records, 'grad_align_w', l, t)).toBeCloseTo(fW, 12);
        expect(
          val(run.records, 'bn_unit_gain', l, t) *
            val(run.records, 'gate_grad_corr', l, t) *
            (1 - val(run.records, 'bn_proj_removed', l, t)),
        ).toBeCloseTo(fBN, 12);
        count++;
      }
    expect(count).toBe(14 * 5);
    expect(worst).toBeLessThan(bound);
  });

  it('every factor equals a float64 recomputation from the step-0 tensors (independent BN backward)', async () => {
    await initBackend('cpu');
    const { config, spec } = resolveTrainConfig(CFG);
    const data = loadData(config.data, config.seed, spec.inputDim, true);
    const model = Mlp.fromSeed(spec, data.nOut, config.seed);
    const hb = data.batch(0, B);
    const x = tf.tensor2d(hb.x, [B, data.dim]);
    const targets = batchTargets(hb, model.nOut);
    const cap = emptyCapture(L);
    gradientsOf(model, config.loss, x, targets, cap);
    const { gamma, beta, eps } = spec.bn;
    for (let l = 1; l < L; l++) {
      const n = WS[l - 1];
      const m1 = WS[l]; // n_{l+1}
      const h = Float64Array.from(cap.h[l - 1].dataSync());
      const g1 = Float64Array.from(cap.dh[l].dataSync()); // ∂L/∂h_{l+1}, B × n_{l+1}
      const K = Float64Array.from(model.params[model.weightIndex(l + 1)].dataSync()); // kernel n_l × n_{l+1}: K[j, o] = W[o, j]
      // forward of block l in float64: ẑ, z = γẑ + β, φ′(z) (ReLU)
      const s2 = new Float64Array(n);
      const zh = new Float64Array(B * n);
      const d = new Float64Array(B * n);
      for (let j = 0; j < n; j++) {
        let m = 0;
        for (let b = 0; b < B; b++) m += h[b * n + j] / B;
        let v = 0;
        for (let b = 0; b < B; b++) v += (h[b * n + j] - m) ** 2 / B;
        s2[j] = v + eps;
        for (let b = 0; b < B; b++) {
          zh[b * n + j] = (h[b * n + j] - m) / Math.sqrt(s2[j]);
          const z = gamma * zh[b * n + j] + beta;
          expect(Math.abs(z)).toBeGreaterThan(1e-5); // premise: no argument at float32 rounding of the kink
          d[b * n + j] = z > 0 ? 1 : 0;
        }
      }
      // g_x = g_h^{l+1} W_{l+1}, then the BN backward (Ioffe & Szegedy §3) written out in float64
      const gx = new Float64Array(B * n);
      for (let b = 0; b < B; b++) for (let j = 0; j < n; j++) for (let o = 0; o < m1; o++) gx[b * n + j] += g1[b * m1 + o] * K[j * m1 + o];
      let g1Sq = 0;
      let gxSq = 0;
      let wSq = 0;
      let sA = 0;
      let sK = 0;
      let ghSq = 0;
      for (const v of g1) g1Sq += v * v;
      for (const v of K) wSq += v * v;
      let dphiMean = 0;
      let gia = 0;
      for (let j = 0; j < n; j++) {
        let cj = 0;
        for (let o = 0; o < m1; o++) cj += K[j * m1 + o] ** 2;
        let ed = 0;
        let gj = 0;
        let mv = 0;
        let mvz = 0;
        const v = new Float64Array(B);
        for (let b = 0; b < B; b++) {
          ed += d[b * n + j] ** 2 / B;
          gj += gx[b * n + j] ** 2;
          v[b] = (gamma * d[b * n + j] * gx[b * n + j]) / Math.sqrt(s2[j]);
          mv += v[b] / B;
          mvz += (v[b] * zh[b * n + j]) / B;
          sK += v[b] * v[b];
        }
        for (let b = 0; b < B; b++) ghSq += (v[b] - mv - zh[b * n + j] * mvz) ** 2;
        gxSq += gj;
        sA += ((gamma * gamma * ed) / s2[j]) * gj;
        dphiMean += ed / n;
        gia += cj / s2[j];
      }
      gia *= (gamma * gamma) / m1; // × mean φ′² below; (n_l/n_{l+1})·mean_j = Σ_j / n_{l+1}
      // the trained network's grad_h_sq at step 0 is ‖g_h^l‖²: the float64 BN backward reproduces it
      const rel = (a: number, b: number) => Math.abs(a / b - 1);
      expect(rel(ghSq, val(run.records, 'grad_h_sq', l, 0))).toBeLessThan(1e-4);
      expect(rel(gxSq / g1Sq, val(run.records, 'grad_factor_w', l, 0))).toBeLessThan(1e-5);
      expect(rel(wSq / m1, val(run.records, 'weight_gain', l, 0))).toBeLessThan(1e-5);
      expect(rel(gxSq / g1Sq / (wSq / m1), val(run.records, 'grad_align_w', l, 0))).toBeLessThan(1e-5);
      expect(rel(sA / gxSq, val(run.records, 'bn_unit_gain', l, 0))).toBeLessThan(1e-5);
      expect(rel(sK / sA, val(run.records, 'gate_grad_corr', l, 0))).toBeLessThan(1e-5);
      // ρ_P ≈ 0.02 is 1 minus a ratio of float32 sums: absolute error ~ a few u·B
      expect(Math.abs(1 - ghSq / sK - val(run.records, 'bn_proj_removed', l, 0))).toBeLessThan(1e-5);
      expect(rel(ghSq / gxSq, val(run.records, 'grad_factor_bn', l, 0))).toBeLessThan(1e-4);
      // the GIA record is the old reconstruction γ²·mean φ′²·Σ_j c_j²/s_j² / n_{l+1}, no more
      expect(rel(gia * dphiMean, val(run.records, 'gia_growth', l, 0))).toBeLessThan(1e-5);
      expect(rel((gia * dphiMean) / (wSq / m1), val(run.records, 'gia_unit_gain', l, 0))).toBeLessThan(1e-5);
    }
    tf.dispose([x, targets.t]);
  });

  it('the factors move the way training moves them: α_W and κ leave 1, ρ_P stays small', () => {
    for (const t of steps) {
      for (let l = 1; l < L; l++) {
        const rho = val(run.records, 'bn_proj_removed', l, t);
        expect(rho).toBeGreaterThanOrEqual(-1e-5); // ‖Pv‖ ≤ ‖v‖ for BN's projection (proof in factors.ts docs)
        expect(rho).toBeLessThan(0.2);
      }
    }
  });

  it('at initialisation gradient independence is close: α_W and κ within 15% of 1, on average over 8 seeds', async () => {
    // Over seeds, not of one run: step 0's α_W − 1 spreads with sd ≈ 0.03–0.04 around ≈ −0.08 … −0.10 (seeds 1–8:
    // MT19937 −0.037 … −0.105, Philox −0.028 … −0.158), so one seed's value sat within 15% only for most seeds
    // (seed 2 did under MT19937, not under Philox). The claim is about the expectation; the mean of 8 has se ≈ 0.013.
    const logs: Record<string, number[]> = { grad_align_w: [], gate_grad_corr: [] };
    for (let seed = 1; seed <= 8; seed++) {
      const r = await trainRun({ ...CFG, seed, steps: 1, probe: { dense: 1, perDecade: 0, every: null, enabled: true } });
      for (const q of Object.keys(logs)) for (const l of [2, 3, 4]) logs[q].push(Math.log(val(r.records, q, l, 0)));
    }
    const gm = (q: string) => Math.exp(logs[q].reduce((a, b) => a + b, 0) / logs[q].length);
    expect(Math.abs(gm('grad_align_w') - 1)).toBeLessThan(0.15);
    expect(Math.abs(gm('gate_grad_corr') - 1)).toBeLessThan(0.15);
  });
});

describe('α_W is 1 in expectation under gradient independence, with n = n_{l+1}', () => {
  // Standard errors allowed (expectAgrees, the rule of compare and reproduce), above the default AGREEMENT_Z = 2:
  // one check of a mean over 400 independent draws, normal, so a correct combineFactors fails with probability
  // 6e-5 at 4σ, where z = 2 would fail one run in 22 (4.6%).
  const Z_MC = 4;
  it('isotropic gradients independent of a fixed non-square W (float64 Monte Carlo through combineFactors)', () => {
    const nOut = 48; // n_{l+1}: the dimension of g_h^{l+1}
    const nIn = 24;
    const B = 4;
    const rng = normalStream(5, 'alpha-w-test');
    // a fixed W with very unequal columns and rows, so that neither ‖W‖²/n_l nor a row average would do
    const W = new Float64Array(nOut * nIn);
    for (let o = 0; o < nOut; o++) for (let j = 0; j < nIn; j++) W[o * nIn + j] = rng() * (1 + j / 4) * (1 + (o % 5));
    let wSq = 0;
    for (const v of W) wSq += v * v;
    const draws = 400;
    const alphas: number[] = [];
    for (let k = 0; k < draws; k++) {
      const g = new Float64Array(B * nOut);
      for (let i = 0; i < g.length; i++) g[i] = rng();
      let gSq = 0;
      for (const v of g) gSq += v * v;
      const gx2 = new Float64Array(nIn);
      for (let b = 0; b < B; b++)
        for (let j = 0; j < nIn; j++) {
          let s = 0;
          for (let o = 0; o < nOut; o++) s += g[b * nOut + o] * W[o * nIn + j];
          gx2[j] += s * s;
        }
      const ones = new Float64Array(nIn).fill(1);
      const f = combineFactors({ gx2, dphi2: ones, gated2: gx2, gh2: gx2, varEps: ones, gamma2: ones }, gSq, wSq, nOut)!;
      alphas.push(f.alphaW);
    }
    const mean = alphas.reduce((a, b) => a + b, 0) / draws;
    const sd = Math.sqrt(alphas.reduce((a, b) => a + (b - mean) ** 2, 0) / (draws - 1));
    expectAgrees(1, mean, { relTol: 0, se: sd / Math.sqrt(draws), z: Z_MC }, 'mean α_W');
    // and the test can tell: with n = n_l the mean would be nOut/nIn = 2
    expect(Math.abs((mean * nOut) / nIn - 1)).toBeGreaterThan(0.5);
  });
});

describe('degenerate gradients: a loss gradient at float32 round-off is detected', () => {
  it('Linear→BN→identity with the same upstream gradient for every sample (a sum-of-outputs loss) leaves only round-off', async () => {
    await initBackend('cpu');
    const B = 64;
    const n = 16;
    const rng = normalStream(7, 'degenerate-test');
    const h = tf.tensor2d(
      Float32Array.from({ length: B * n }, () => 3 + 2 * rng()),
      [B, n],
    );
    const gamma = tf.tensor1d(Float32Array.from({ length: n }, () => 1 + 0.3 * rng()));
    const beta = tf.zeros([n]) as tf.Tensor1D;
    const eps = 1e-5;
    const nuOf = (upstream: tf.Tensor2D) => {
      const dh = tf.grad((hh: tf.Tensor) => tf.sum(tf.mul(batchNorm(hh as tf.Tensor2D, gamma, beta, eps), upstream)))(h);
      const s2 = tf.add(tf.moments(h, 0).variance, eps);
      const pre = tf.sum(tf.div(tf.mul(tf.square(gamma), tf.sum(tf.square(upstream), 0)), s2)).dataSync()[0];
      return degeneracyOf(tf.sum(tf.square(dh)).dataSync()[0], pre, B);
    };
    // ∂L/∂x_L = the readout row r for every sample (L = Σ_i y_i): BN's backward removes the batch mean exactly
    const row = Float32Array.from({ length: n }, () => rng());
    const same = nuOf(
      tf.tensor2d(
        Float32Array.from({ length: B * n }, (_, i) => row[i % n]),
        [B, n],
      ),
    );
    expect(same.kind).toBe('round-off');
    expect(same.nu).toBeLessThan(same.threshold);
    expect(same.nu).toBeLessThan(10 * Math.sqrt(B) * u); // what is left is of the order of √B·u
    // a per-sample gradient (e.g. cross-entropy) keeps most of its norm: ν = √(1 − ρ_P) ≈ 1
    const varied = nuOf(
      tf.tensor2d(
        Float32Array.from({ length: B * n }, () => rng()),
        [B, n],
      ),
    );
    expect(varied.kind).toBe(null);
    expect(varied.nu).toBeGreaterThan(0.8);
    // an exactly zero gradient (a loss that does not depend on h_L) is 'zero'
    expect(degeneracyOf(0, 1, B).kind).toBe('zero');
    expect(degeneracyOf(Number.NaN, 1, B).kind).toBe('zero');
  });
});
