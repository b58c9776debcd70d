// Claim 5: the explosion is temporal. In early training on real data (MNIST) the per-layer gradient ratio
// falls from λ(B) toward ≈ 1.1–1.2 within a few steps. The measured ratio is factored exactly into its
// backward factors (src/train/factors.ts, docs/training.md "Gradient factors"); the gradient-independence
// reconstruction (GIA, theory-notes A.5) is reported beside them and judged only at the steps where its
// assumptions are measured to hold.
import { buildFigure } from '../src/figures/index.js';
import { makeSpec } from '../src/network/index.js';
import type { SPRecord } from '../src/records/index.js';
import { check, judge, runCells, type Study, trainCell, trainedOf, type VerdictRow } from '../src/reproduce/index.js';
import { interiorLayers, predict } from '../src/theory/index.js';
import { byScale, median, tagAll } from './common.js';

/** ln(‖∂L/∂h_ℓ‖²/‖∂L/∂h_L‖²) per step, derived from the trained grad_h_sq records (for the depth figure). */
function logGradRecords(records: SPRecord[], depth: number): SPRecord[] {
  const out: SPRecord[] = [];
  const bySteps = new Map<number, SPRecord[]>();
  for (const r of records) if (r.quantity === 'grad_h_sq' && r.step !== null) bySteps.set(r.step, [...(bySteps.get(r.step) ?? []), r]);
  for (const [, rs] of bySteps) {
    const top = rs.find((r) => r.layer === depth);
    if (!top || !(top.value > 0)) continue;
    for (const r of rs) if (r.value > 0) out.push({ ...r, quantity: 'log_grad_h_sq', value: Math.log(r.value / top.value) });
  }
  return out;
}

/** One probed step: geometric means over the interior layers (ρ_P: arithmetic mean). */
export interface Claim5Step {
  step: number;
  /** measured R = ‖g_h^l‖²/‖g_h^{l+1}‖² */
  measured: number;
  /** the gradient-independence reconstruction (gia_growth) */
  gia: number;
  /** F_W = ‖g_h^{l+1}W_{l+1}‖²/‖g_h^{l+1}‖² */
  fW: number;
  /** ‖W_{l+1}‖²_F/n_{l+1} */
  weightGain: number;
  alphaW: number;
  /** F_BN = ‖g_h^l‖²/‖g_x^l‖² */
  fBN: number;
  /** A = Σ_j u_j γ_j² E_b φ′_j²/s_j² */
  unitGain: number;
  /** A_GIA, the GIA's BN factor */
  giaUnitGain: number;
  kappa: number;
  rhoP: number;
  /** max over every layer 1..L−1 of |F_W·F_BN/R − 1| at this step */
  productErr: number;
  corr: number;
  unitCorr: number;
}

/** Tolerance on |ln factor| (and on ρ_P) within which a GIA assumption counts as holding: 5%. */
export const GIA_HOLDS = 0.05;

/** The GIA assumptions that a step's factors break (α_W = 1, κ = 1, A = A_GIA, ρ_P = 0), with their values. */
export function brokenAssumptions(s: Claim5Step): string[] {
  const out: string[] = [];
  if (Math.abs(Math.log(s.alphaW)) > GIA_HOLDS) out.push(`α_W = ${s.alphaW.toFixed(3)}`);
  if (Math.abs(Math.log(s.kappa)) > GIA_HOLDS) out.push(`κ = ${s.kappa.toFixed(3)}`);
  if (Math.abs(Math.log(s.unitGain / s.giaUnitGain)) > GIA_HOLDS) out.push(`A/A_GIA = ${(s.unitGain / s.giaUnitGain).toFixed(3)}`);
  if (s.rhoP > GIA_HOLDS) out.push(`ρ_P = ${s.rhoP.toFixed(3)}`);
  return out;
}

/** In words: the first step at which each GIA assumption breaks, and R/GIA factor by factor at the last step. */
export function giaReport(series: Claim5Step[]): string {
  const firstBreak = series.find((r) => brokenAssumptions(r).length > 0);
  const breaks = ['α_W', 'κ', 'A/A_GIA', 'ρ_P']
    .map((name) => {
      const s = series.find((r) => brokenAssumptions(r).some((b) => b.startsWith(name)));
      return s ? `${name} from step ${s.step} (${brokenAssumptions(s).find((b) => b.startsWith(name))})` : `${name} holds throughout`;
    })
    .join('; ');
  const l = series[series.length - 1];
  return `The gradient-independence reconstruction is reported, not judged, from step ${firstBreak?.step ?? '–'} on, where a factor it assumes leaves its independence value by more than 5%: ${breaks}. At step ${l.step}: R ${l.measured.toFixed(3)} vs GIA ${l.gia.toFixed(3)}; R/GIA = α_W·κ·(1 − ρ_P)·A/A_GIA = ${l.alphaW.toFixed(3)}·${l.kappa.toFixed(3)}·${(1 - l.rhoP).toFixed(3)}·${(l.unitGain / l.giaUnitGain).toFixed(3)}.`;
}

const geoMean = (xs: number[]) => Math.exp(xs.reduce((a, b) => a + Math.log(b), 0) / xs.length);

/**
 * Verdicts of claim 5 on the per-step interior summaries (sorted by step):
 * - step-0 growth within 5% of λ(B);
 * - the ratio has fallen by step 10 (the last probe ≤ 10) and stays down (last quarter of probes): below 1 + (λ − 1)/2;
 * - the factorisation is exact: max |F_W·F_BN/R − 1| over every layer and probed step ≤ `exactBound`
 *   (float32 rounding of the sums: 2·B·n·u);
 * - the GIA reconstruction within 5% (median |ln R/GIA|) at the steps where its assumptions hold (each
 *   within 5%); past them it is reported (giaReport, in the notes), not judged;
 * - the correlation between units grows (the forward mechanism Paik & Choi name);
 * - which assumption breaks late: the backward alignments (α_W, κ) outweigh the forward ones (A/A_GIA, ρ_P)
 *   (a finding of the audit; not decisive for the claim).
 */
export function claim5Verdicts(series: Claim5Step[], lam: number, B: number, exactBound: number): VerdictRow[] {
  const s0 = series[0];
  const rows: VerdictRow[] = [];
  const half = 1 + (lam - 1) / 2;
  rows.push(judge(`step 0: interior growth against λ(B=${B}) (float32, MNIST inputs)`, lam, s0.measured, 0.05));
  const early = series.filter((r) => r.step <= 10);
  const at10 = early[early.length - 1];
  rows.push(
    check(
      `the ratio falls within ~10 steps: interior growth at step ${at10.step} below 1 + (λ(B) − 1)/2`,
      at10.measured < half,
      half,
      at10.measured,
      `step 0: ${s0.measured.toFixed(4)}; step ${at10.step}: ${at10.measured.toFixed(4)}; ${early.map((r) => `${r.step}: ${r.measured.toFixed(3)}`).join(', ')}`,
    ),
  );
  const tail = series.slice(Math.floor(series.length * 0.75));
  const late = geoMean(tail.map((r) => r.measured));
  rows.push(
    check(
      '…and stays down: late-training growth below 1 + (λ(B) − 1)/2',
      late < half,
      half,
      late,
      `geometric mean over the last quarter of probes (steps ≥ ${tail[0].step}): ${late.toFixed(4)} (range ${Math.min(...tail.map((r) => r.measured)).toFixed(3)}–${Math.max(...tail.map((r) => r.measured)).toFixed(3)})`,
    ),
  );
  const worst = Math.max(...series.map((r) => r.productErr));
  rows.push(
    check(
      'the factorisation R = (‖W‖²/n)·α_W · A·κ·(1 − ρ_P) is exact at every layer and probed step (float32 rounding)',
      worst <= exactBound,
      0,
      worst,
      `max |F_W·F_BN/R − 1| = ${worst.toExponential(2)} over ${series.length} probed steps; bound 2·B·n·u = ${exactBound.toExponential(2)}`,
    ),
  );
  const holds = series.filter((r) => brokenAssumptions(r).length === 0);
  const firstBreak = series.find((r) => brokenAssumptions(r).length > 0);
  const errHold = median(holds.map((r) => Math.abs(Math.log(r.measured / r.gia))));
  rows.push(
    check(
      `gradient-independence reconstruction within 5% where its assumptions hold (α_W, κ, A/A_GIA within 5% of 1, ρ_P ≤ 5%)`,
      holds.length > 0 && errHold <= 0.05,
      0,
      errHold,
      holds.length > 0
        ? `median |ln(R/GIA)| = ${errHold.toFixed(4)} over the ${holds.length} probes where they hold (steps ${holds.map((r) => r.step).join(', ')}); the first step that breaks one: ${firstBreak ? firstBreak.step : 'none'}`
        : 'no probed step where all its assumptions hold',
      holds.length > 0,
    ),
  );
  const lastS = series[series.length - 1];
  rows.push(
    check(
      'correlation between activations (mean |corr| between units over the batch) grows during training',
      lastS.unitCorr > 1.5 * s0.unitCorr,
      s0.unitCorr,
      lastS.unitCorr,
      `mean |corr| between units at step 0: ${s0.unitCorr.toFixed(4)}, at step ${lastS.step}: ${lastS.unitCorr.toFixed(4)}; between samples: ${s0.corr.toFixed(4)} → ${lastS.corr.toFixed(4)}`,
    ),
  );
  const back = tail.map((r) => Math.abs(Math.log(r.alphaW)) + Math.abs(Math.log(r.kappa)));
  const fwd = tail.map((r) => Math.abs(Math.log(r.unitGain / r.giaUnitGain)) + Math.abs(Math.log(1 - r.rhoP)));
  const mb = median(back);
  const mf = median(fwd);
  rows.push(
    check(
      'late in training the backward alignments (α_W, κ) depart from gradient independence more than the forward factors (A/A_GIA, ρ_P)',
      mb > mf,
      mf,
      mb,
      `median over the last quarter of |ln α_W| + |ln κ| = ${mb.toFixed(4)}, of |ln A/A_GIA| + |ln(1 − ρ_P)| = ${mf.toFixed(4)}`,
      false,
    ),
  );
  return rows;
}

export const claim5: Study = {
  id: 'claim5',
  title: 'Claim 5 — the explosion is temporal: training offsets it',
  statement:
    'During early training the per-layer gradient ratio falls from λ(B) toward ≈ 1.1–1.2 within about 5–10 steps and stays there, as correlation between activations builds up (Paik & Choi 2023). We factor the measured ratio exactly, R = (‖W‖²/n)·α_W · A·κ·(1 − ρ_P), and report the gradient-independence reconstruction (theory-notes A.5) beside it, judged only where its assumptions are measured to hold.',
  run: async (ctx) => {
    const depth = byScale(ctx.scale, 6, 16, 32);
    const width = byScale(ctx.scale, 32, 128, 512);
    const B = byScale(ctx.scale, 32, 128, 256);
    const steps = byScale(ctx.scale, 12, 200, 1000);
    const lr = 0.5;
    const seed = 1;
    const spec = { depth, width, batch: B, order: 'linear-bn-act' as const, activation: 'relu' };
    ctx.progress(`MNIST, depth ${depth}, width ${width}, B ${B}, SGD lr ${lr}, ${steps} steps`);
    // the training run as a sweep train cell (ctx.cells: the local pool or Redis)
    const cell = await trainCell({
      spec,
      data: { kind: 'mnist', nTrain: byScale(ctx.scale, 500, 6000, 8000), nTest: byScale(ctx.scale, 200, 1000, 1700) },
      loss: 'xent',
      optimizer: { kind: 'sgd', lr },
      steps,
      seed,
    });
    const res = trainedOf((await runCells(ctx, [cell]))[0]);
    const th = predict(makeSpec({ ...spec, inputDim: 784 }));
    const records = tagAll([...res.records, ...logGradRecords(res.records, depth), ...th.records], { study: 'claim5' });
    const [a, b] = interiorLayers(depth);
    const at = (q: string, step: number) =>
      res.records.filter((r) => r.quantity === q && r.step === step && r.layer !== null && r.layer >= a && r.layer <= b);
    const probed = [...new Set(res.records.filter((r) => r.quantity === 'grad_growth').map((r) => r.step!))].sort((x, y) => x - y);
    const geo = (q: string, s: number) => geoMean(at(q, s).map((r) => r.value));
    const mean = (q: string, s: number) => {
      const rs = at(q, s);
      return rs.reduce((x, r) => x + r.value, 0) / rs.length;
    };
    const series: Claim5Step[] = probed.map((s) => {
      const R = new Map(res.records.filter((r) => r.quantity === 'grad_growth' && r.step === s).map((r) => [r.layer, r.value]));
      const prod = res.records.filter((r) => r.quantity === 'grad_factor_w' && r.step === s);
      let productErr = 0;
      for (const fw of prod) {
        const fbn = res.records.find((r) => r.quantity === 'grad_factor_bn' && r.step === s && r.layer === fw.layer)!;
        productErr = Math.max(productErr, Math.abs((fw.value * fbn.value) / R.get(fw.layer)! - 1));
      }
      if (prod.length !== depth - 1) productErr = Number.NaN; // a missing layer cannot pass
      return {
        step: s,
        measured: geo('grad_growth', s),
        gia: geo('gia_growth', s),
        fW: geo('grad_factor_w', s),
        weightGain: geo('weight_gain', s),
        alphaW: geo('grad_align_w', s),
        fBN: geo('grad_factor_bn', s),
        unitGain: geo('bn_unit_gain', s),
        giaUnitGain: geo('gia_unit_gain', s),
        kappa: geo('gate_grad_corr', s),
        rhoP: mean('bn_proj_removed', s),
        productErr,
        corr: mean('corr', s),
        unitCorr: mean('unit_corr', s),
      };
    });
    const exactBound = 2 * B * width * 2 ** -24;
    const rows = claim5Verdicts(series, th.predictedGrowth, B, exactBound);
    const interior = Array.from({ length: b - a + 1 }, (_, i) => a + i);
    const figs = [
      {
        name: 'claim5-gradient-factors',
        vl: buildFigure('gradient-factors', records, {
          title: 'The per-layer gradient ratio factor by factor during training (MNIST)',
          layers: interior,
        }) as any,
        caption: `Measured R = ‖∂L/∂h_ℓ‖²/‖∂L/∂h_{ℓ+1}‖² and its exact factors (geometric means over the interior layers ${a}–${b}; SGD lr ${lr}, B ${B}, depth ${depth}, width ${width}): R = F_W·F_BN with F_W = (‖W‖²/n)·α_W (backward through the Linear layer) and F_BN = A·κ·(1 − ρ_P) (through φ, γ and BN). The gradient-independence reconstruction (GIA) sets α_W = κ = 1 − ρ_P = 1 and weights units by c_j² (A_GIA); the right panel shows which of these training breaks, and when.`,
      },
      {
        name: 'claim5-early-training',
        vl: buildFigure('early-training', records, {
          title: 'Per-layer gradient ratio and correlation between activations against step (MNIST)',
          corrQuantity: 'unit_corr',
          layers: interior,
        }) as any,
        caption: `Measured ‖∂L/∂h_ℓ‖²/‖∂L/∂h_{ℓ+1}‖² (trained, SGD lr ${lr}, B ${B}, depth ${depth}, width ${width}) with the gradient-independence reconstruction beside it (geometric means over the interior layers ${a}–${b}); λ(B) at initialization for reference; right: mean |correlation| between units.`,
      },
      {
        name: 'claim5-gradient-vs-depth',
        vl: buildFigure('gradient-vs-depth', records, { title: 'ln ‖∂L/∂h_ℓ‖² against layer ℓ during training' }) as any,
        caption: 'Theory at initialization and the trained network at steps 0, 1, 2, 5, 10, …: the profile flattens within a few steps.',
      },
    ];
    const nearest = (t: number) => series.reduce((best, r) => (Math.abs(r.step - t) < Math.abs(best.step - t) ? r : best), series[0]);
    const keySteps = [...new Set([0, 5, 10, 25, 100, probed[probed.length - 1]].map((t) => nearest(t)))];
    const row = (r: Claim5Step) => [
      r.step,
      r.measured,
      r.gia,
      r.fW,
      r.weightGain,
      r.alphaW,
      r.fBN,
      r.unitGain,
      r.giaUnitGain,
      r.kappa,
      r.rhoP,
      r.productErr,
      brokenAssumptions(r).join(', ') || '–',
    ];
    const header = [
      'step',
      'R measured',
      'GIA',
      'F_W',
      '‖W‖²/n',
      'α_W',
      'F_BN',
      'A',
      'A_GIA',
      'κ',
      'ρ_P',
      'max |F_W·F_BN/R − 1|',
      'GIA assumptions broken (> 5%)',
    ];
    return {
      rows,
      records,
      figures: figs,
      tables: [
        {
          title: `The factors at steps 0, 5, 10, 25, 100 and the last (interior geometric means, layers ${a}–${b})`,
          header,
          rows: keySteps.map(row),
        },
        {
          title: 'Every probed step',
          header: [...header, 'mean |corr| between units', 'corr between samples'],
          rows: series.map((r) => [...row(r), r.unitCorr, r.corr]),
        },
      ],
      settings: {
        spec,
        data: 'mnist',
        loss: 'xent',
        optimizer: { kind: 'sgd', lr },
        steps,
        interior: [a, b],
        final: res.final,
        status: res.status,
      },
      seeds: [seed],
      notes: [
        giaReport(series),
        'Growth at a step is the geometric mean over interior layers of the per-layer ratio R_l = ‖g_h^l‖²/‖g_h^{l+1}‖²; every factor is a ratio of sums measured at the same step (src/train/factors.ts), so R = F_W·F_BN holds to float32 rounding and each factor says which part of the backward pass moves.',
        "α_W = F_W/(‖W_{l+1}‖²_F/n_{l+1}) is 1 in expectation for a gradient isotropic and independent of W_{l+1}; κ is 1 when φ′ and the gradient are uncorrelated over the batch; A/A_GIA is 1 when units carry gradient energy in proportion to c_j² = ‖W_{l+1}[:, j]‖² (and γ_j = γ); ρ_P is what BN's mean and variance paths remove.",
        'The gradient-independence reconstruction (gia_growth) is (‖W‖²/n)·A_GIA: it keeps the measured forward statistics but sets the backward factors to their independence values; it is judged only at the steps where those are measured to hold.',
        'Independent PyTorch float64 numbers for this set-up (audit, seed 1; another init draw and batch order): α_W 0.97 → 1.02 (step 5) → 1.07 (10) → 1.17 (25) → 1.27 (100) → 1.36 (199); F_BN 0.749 → 0.562 → 0.520 → 0.472 → 0.429 → 0.406; the gate–gradient factor ≈ 1.15–1.2 late; the projection ≈ 1%.',
      ],
    };
  },
};
