// Hand-made records with known values for every figure. The values follow closed forms where one exists
// (quarter-circle law, ReLU χ₁ = σ_w²/2, linear growth of log gradients); the rest are labelled fixtures, not physics.
import { makeSpec, normalStream, type SpecInput, specFields } from '../../src/network/index.js';
import { type Quantity, record, type SPRecord, summarize } from '../../src/records/index.js';

export const LAMBDA_INF_RELU = Math.PI / (Math.PI - 1);

export const fields = (input: SpecInput = {}) => specFields(makeSpec(input));

/** Figure 1: log_grad_h_sq = (L − ℓ) ln λ for theory; sampled per seed with noise; trained steps with a fading rate. */
export function gradientRecords(depth = 12, seeds = 4): SPRecord[] {
  const f = fields({ depth, width: 64, batch: 32 });
  const lam = 1.52195; // Yang et al. λ(32) for ReLU
  const out: SPRecord[] = [];
  const rng = normalStream(7, 'fixture-grad');
  for (let l = 1; l <= depth; l++) {
    out.push(record(f, 'theory', 'log_grad_h_sq', l, (depth - l) * Math.log(lam)));
    for (let s = 1; s <= seeds; s++)
      out.push(record(f, 'sampled', 'log_grad_h_sq', l, (depth - l) * Math.log(1.5) + 0.05 * rng(), { seed: s }));
    for (const step of [0, 1, 2, 5, 10, 20, 50, 100, 200])
      for (let s = 1; s <= 2; s++)
        out.push(record(f, 'trained', 'log_grad_h_sq', l, (depth - l) * Math.log(1 + 0.5 / (1 + step / 4)) + 0.02 * s, { seed: s, step }));
  }
  return out;
}

export const BATCHES = [4, 8, 16, 32, 64, 128, 256, 512, 1024];
/** Fixture λ(B): exact at Yang et al.'s three values for B = 8, 32, 128 is not claimed; a smooth curve toward π/(π−1). */
export const fixtureLambda = (B: number) => LAMBDA_INF_RELU * (1 + 1.5 / (B - 2));

/** Figure 2 and 4: growth over batch (theory, sampled aggregates with sd/lo/hi/n) and per activation. */
export function batchRecords(): SPRecord[] {
  const out: SPRecord[] = [];
  for (const B of BATCHES) {
    const f = fields({ depth: 30, width: 256, batch: B });
    out.push(record(f, 'theory', 'growth', null, fixtureLambda(B)));
    if (B >= 8) {
      const v = fixtureLambda(B) * 0.99;
      out.push(record(f, 'sampled', 'growth', null, v, { sd: 0.02, lo: v - 0.014, hi: v + 0.014, n: 8 }));
    }
  }
  out.push(record(fields({ depth: 30, width: 256, batch: null }), 'theory', 'growth', null, LAMBDA_INF_RELU));
  return out;
}

export const ACTIVATION_RATES: Record<string, number> = { relu: LAMBDA_INF_RELU, tanh: 1.21, gelu: 1.39, identity: 1 };

export function activationRecords(): SPRecord[] {
  const out: SPRecord[] = [];
  for (const [act, rate] of Object.entries(ACTIVATION_RATES)) {
    out.push(record(fields({ activation: act, batch: null, depth: 30, width: 256 }), 'theory', 'growth', null, rate));
    for (let s = 1; s <= 4; s++)
      out.push(
        record(fields({ activation: act, batch: 1024, depth: 30, width: 256 }), 'sampled', 'growth', null, rate * (1 + 0.004 * (s - 2.5)), {
          seed: s,
        }),
      );
  }
  return out;
}

export const HEAT_DEPTHS = [2, 4, 8, 16, 32, 64];
export const HEAT_BATCHES = [8, 32, 128, 512];
/** Figure 3: trained test accuracy over depth × batch (a fixture falling with depth), theory depth_scale per batch. */
export function heatmapRecords(): SPRecord[] {
  const out: SPRecord[] = [];
  for (const B of HEAT_BATCHES) {
    out.push(record(fields({ batch: B, depth: 64, width: 128 }), 'theory', 'depth_scale', null, 1 / Math.log(fixtureLambda(B))));
    for (const L of HEAT_DEPTHS) {
      const f = fields({ batch: B, depth: L, width: 128 });
      for (let s = 1; s <= 2; s++) {
        out.push(record(f, 'trained', 'test_accuracy', null, 0.1, { seed: s, step: 0 }));
        out.push(record(f, 'trained', 'test_accuracy', null, 0.1 + 0.85 * Math.exp(-L / 40) - 0.01 * s, { seed: s, step: 100 }));
      }
    }
  }
  return out;
}

export const EARLY_STEPS = [0, 1, 2, 3, 5, 8, 10, 20, 50, 100];
/** Figure 5: grad_growth per layer fading from λ toward 1, corr rising, a prediction tracking the ratio. */
export function earlyRecords(): SPRecord[] {
  const f = fields({ depth: 8, width: 64, batch: 128 });
  const out: SPRecord[] = [record(f, 'theory', 'growth', null, 1.47968)];
  for (const step of EARLY_STEPS) {
    const ratio = 1 + 0.48 / (1 + step / 5);
    for (let s = 1; s <= 3; s++) {
      const tags = { optimizer: 'sgd', run: `run-${s}` };
      for (let l = 1; l < 8; l++) {
        out.push(record(f, 'trained', 'grad_growth', l, ratio * (1 + 0.01 * (s - 2)), { seed: s, step, tags }));
        out.push(record(f, 'trained', 'corr', l, 0.9 * (1 - 1 / (1 + step / 10)) + 0.01 * s, { seed: s, step, tags }));
        out.push(record(f, 'trained', 'predicted_growth', l, ratio * 1.02, { seed: s, step, tags }));
      }
    }
  }
  return out;
}

/** gradient-factors: per-layer factors with R = (‖W‖²/n)·α_W·A·κ·(1 − ρ_P) exactly; GIA = (‖W‖²/n)·A_GIA. */
export function factorRecords(): SPRecord[] {
  const f = fields({ depth: 8, width: 96, batch: 128 }); // not earlyRecords' spec: allRecords() holds both
  const out: SPRecord[] = [];
  for (const step of EARLY_STEPS) {
    for (let s = 1; s <= 2; s++) {
      const tags = { optimizer: 'sgd', run: `run-${s}` };
      for (let l = 1; l < 8; l++) {
        const alpha = 1 + 0.3 * (1 - 1 / (1 + step / 20)) + 0.01 * l + 0.005 * s;
        const wg = 2 + 0.01 * l;
        const A = 0.75 / (1 + step / 10) ** 0.3;
        const kappa = 1 + 0.15 * (1 - 1 / (1 + step / 5));
        const rho = 0.01 + 0.001 * l;
        const fBN = A * kappa * (1 - rho);
        const aGia = A * 0.98;
        const put = (q: Quantity, v: number) => out.push(record(f, 'trained', q, l, v, { seed: s, step, tags }));
        put('grad_growth', wg * alpha * fBN);
        put('grad_factor_w', wg * alpha);
        put('weight_gain', wg);
        put('grad_align_w', alpha);
        put('grad_factor_bn', fBN);
        put('bn_unit_gain', A);
        put('gate_grad_corr', kappa);
        put('bn_proj_removed', rho);
        put('gia_unit_gain', aGia);
        put('gia_growth', wg * aGia);
      }
    }
  }
  return out;
}

export const OPTIMIZERS: { optimizer: string; warmup?: number }[] = [
  { optimizer: 'sgd' },
  { optimizer: 'sgd', warmup: 10 },
  { optimizer: 'lars' },
  { optimizer: 'lamb' },
  { optimizer: 'lalc' },
];
/** Figure 6: loss and accuracy per optimizer at B = 32 and 2048; SGD without warmup diverges at B = 2048 (step 6). */
export function optimizerRecords(): SPRecord[] {
  const out: SPRecord[] = [];
  for (const B of [32, 2048]) {
    const f = fields({ depth: 16, width: 128, batch: B });
    OPTIMIZERS.forEach((o, i) => {
      for (let s = 1; s <= 2; s++) {
        const tags = {
          optimizer: o.optimizer,
          ...(o.warmup ? { warmup: o.warmup } : {}),
          run: `${o.optimizer}${o.warmup ? '-w' : ''}-B${B}-s${s}`,
        };
        for (let step = 0; step <= 60; step += 3) {
          const diverges = B === 2048 && o.optimizer === 'sgd' && !o.warmup && step >= 6;
          const loss = diverges ? Number.NaN : 2.3 * Math.exp(-step / (15 + 5 * i)) + 0.1 + 0.01 * s;
          out.push(record(f, 'trained', 'loss', null, loss, { seed: s, step, tags }));
          if (!diverges)
            out.push(record(f, 'trained', 'accuracy', null, 0.1 + 0.8 * (1 - Math.exp(-step / (15 + 5 * i))), { seed: s, step, tags }));
        }
      }
    });
  }
  return out;
}

/** Quarter-circle law: singular values of a square Gaussian matrix with Var = 1/N have density √(4 − s²)/π on [0, 2]. */
export const quarterCircle = (s: number) => (s >= 0 && s <= 2 ? Math.sqrt(4 - s * s) / Math.PI : 0);
export const quarterCircleCdf = (s: number) => (s * Math.sqrt(4 - s * s) + 4 * Math.asin(s / 2)) / (2 * Math.PI);

/** n deterministic draws from the quarter-circle law: the quantiles (i − ½)/n by bisection on its CDF. */
export function quarterCircleQuantiles(n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = (i + 0.5) / n;
    let a = 0;
    let b = 2;
    for (let k = 0; k < 60; k++) {
      const m = (a + b) / 2;
      if (quarterCircleCdf(m) < u) a = m;
      else b = m;
    }
    out.push((a + b) / 2);
  }
  return out;
}

/** Figure 7: jac_sv (sampled, tags.index) from the quarter-circle law, jac_density (theory, tags.sv) on a grid. */
export function spectrumRecords(n = 400): SPRecord[] {
  const f = fields({ depth: 1, width: n, batch: null, order: 'linear-act', activation: 'identity', init: { sigmaW2: 1 } });
  const out: SPRecord[] = quarterCircleQuantiles(n).map((v, i) => record(f, 'sampled', 'jac_sv', null, v, { seed: 1, tags: { index: i } }));
  for (let i = 0; i <= 100; i++) {
    const s = (2 * i) / 100;
    out.push(record(f, 'theory', 'jac_density', null, quarterCircle(s), { tags: { sv: s } }));
  }
  return out;
}

export const PHASE_W2 = [0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4];
export const PHASE_B2 = [0, 0.1, 0.2, 0.3, 0.4];
/** Figure 8: no-BN ReLU nets: χ₁ = σ_w²/2 for any σ_b² (Poole et al. 2016; the ReLU q-map slope). */
export function phaseRecords(w2s = PHASE_W2, b2s = PHASE_B2): SPRecord[] {
  const out: SPRecord[] = [];
  for (const w of w2s)
    for (const b of b2s)
      out.push(
        record(
          fields({ order: 'linear-act', batch: null, depth: 20, width: 256, init: { sigmaW2: w, sigmaB2: b } }),
          'theory',
          'growth',
          null,
          w / 2,
        ),
      );
  return out;
}

/** Symmetry breaking: theory norm_spread and corr per layer with a replica spread (sd, n), sampled per seed; fixture values. */
export function symmetryRecords(depth = 16, seeds = 3): SPRecord[] {
  const out: SPRecord[] = [];
  const rng = normalStream(11, 'fixture-symmetry');
  for (const [act, rate] of [
    ['relu', 1],
    ['silu', 1.15],
  ] as const) {
    const f = fields({ depth, width: 64, batch: 32, activation: act });
    for (let l = 1; l <= depth; l++) {
      const spread = Math.min(2, 0.05 * rate ** l);
      const corr = act === 'relu' ? 0.3 : 0.12 + 0.04 * Math.max(0, l - 10);
      for (const [q, v] of [
        ['norm_spread', spread],
        ['corr', corr],
      ] as const) {
        out.push(record(f, 'theory', q, l, v, { sd: 0.1 * v, n: 4, lo: v * 0.9, hi: v * 1.1, tags: { method: 'gram-dynamics' } }));
        const vals: number[] = [];
        for (let s = 1; s <= seeds; s++) {
          const x = v * (1 + 0.05 * rng());
          vals.push(x);
          out.push(record(f, 'sampled', q, l, x, { seed: s }));
        }
        const m = summarize(vals);
        out.push(record(f, 'sampled', q, l, m.mean, { sd: m.sd, lo: m.lo, hi: m.hi, n: m.n }));
      }
    }
  }
  return out;
}

export function allRecords(): SPRecord[] {
  return [
    ...gradientRecords(),
    ...batchRecords(),
    ...activationRecords(),
    ...heatmapRecords(),
    ...earlyRecords(),
    ...factorRecords(),
    ...optimizerRecords(),
    ...spectrumRecords(),
    ...phaseRecords(),
    ...symmetryRecords(),
    ...updateRecords(),
  ];
}

/**
 * updates: per-layer update_ratio and LARS trust ratios over probed steps, two optimizers, two seeds (labelled
 * fixture values: SGD's ratio falls with depth and step, LARS's is lr·η = 0.001 at every layer).
 */
export function updateRecords(depth = 8): SPRecord[] {
  const f = fields({ depth, width: 64, batch: 32 });
  const out: SPRecord[] = [];
  for (const step of [0, 1, 2, 5, 10, 20, 50, 100, 200])
    for (let s = 1; s <= 2; s++)
      for (let l = 1; l <= depth; l++) {
        const sgd = { seed: s, step, tags: { optimizer: 'sgd' } };
        const lars = { seed: s, step, tags: { optimizer: 'lars' } };
        out.push(record(f, 'trained', 'update_ratio', l, (0.05 / (1 + step / 50)) * 0.8 ** l * (1 + 0.05 * s), sgd));
        out.push(record(f, 'trained', 'update_ratio', l, 0.001 * (1 + 0.001 * s), lars));
        out.push(
          record(f, 'trained', 'trust_ratio', l, 0.002 * 1.3 ** l * (1 + step / 100) * (1 + 0.05 * s), {
            ...lars,
            tags: { optimizer: 'lars', method: 'lars' },
          }),
        );
      }
  return out;
}

export const FIXTURES: Record<string, () => SPRecord[]> = {
  'gradient-vs-depth': gradientRecords,
  'lambda-vs-batch': batchRecords,
  'depth-batch-heatmap': heatmapRecords,
  'activation-rate': activationRecords,
  'early-training': earlyRecords,
  'gradient-factors': factorRecords,
  'optimizer-comparison': optimizerRecords,
  'jacobian-spectrum': spectrumRecords,
  'phase-diagram': phaseRecords,
  'symmetry-breaking': symmetryRecords,
  updates: updateRecords,
};

export { summarize };
