import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  axisScale,
  buildFigure,
  compileVegaLite,
  criticalLineFromGrid,
  FIGURE_NAMES,
  FigureError,
  densityHistogram,
  PALETTE,
  renderSvg,
} from '../../src/figures/index.js';
import { record, type SPRecord } from '../../src/records/index.js';
import {
  ACTIVATION_RATES,
  activationRecords,
  BATCHES,
  batchRecords,
  earlyRecords,
  factorRecords,
  FIXTURES,
  fields,
  fixtureLambda,
  gradientRecords,
  HEAT_BATCHES,
  HEAT_DEPTHS,
  heatmapRecords,
  optimizerRecords,
  phaseRecords,
  quarterCircleCdf,
  spectrumRecords,
  symmetryRecords,
} from './fixtures.js';

/** The inline rows of a figure, read back from the compiled Vega spec (not from our own builder's output). */
function vegaRows(vl: any): any[] {
  const { vega } = compileVegaLite(vl);
  return vega.data.filter((d: any) => Array.isArray(d.values)).flatMap((d: any) => d.values);
}

function vegaScales(vl: any): any[] {
  const { vega } = compileVegaLite(vl);
  const out: any[] = [];
  const walk = (node: any) => {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node.scales)) out.push(...node.scales);
    for (const m of node.marks ?? []) walk(m);
  };
  walk(vega);
  return out;
}

/** Marks (vega SVG class names) and axis titles each figure must show. */
const EXPECT: Record<string, { marks: string[]; titles: string[] }> = {
  'gradient-vs-depth': {
    marks: ['mark-line', 'mark-area', 'mark-symbol'],
    titles: ['layer ℓ (1 = input side)', '‖∂L/∂h_ℓ‖² / ‖∂L/∂h_L‖²'],
  },
  'lambda-vs-batch': {
    marks: ['mark-line', 'mark-rule', 'mark-symbol'],
    titles: ['batch size B', 'λ: per-layer growth of ‖∂L/∂h‖²', 'linear BN (B−2)/(B−3)'],
  },
  'depth-batch-heatmap': { marks: ['mark-rect', 'mark-line'], titles: ['batch size B', 'depth L (blocks)', 'theory ξ(B) = 1/ln λ(B)'] },
  'activation-rate': {
    marks: ['mark-rect', 'mark-rule', 'mark-text'],
    titles: ['activation φ', 'large-batch λ: per-layer growth of ‖∂L/∂h‖²'],
  },
  'early-training': {
    marks: ['mark-line', 'mark-area', 'mark-rule'],
    titles: ['training step t', 'mean within-batch correlation', 'gradient-independence reconstruction (GIA)'],
  },
  'gradient-factors': {
    marks: ['mark-line', 'mark-rule', 'mark-symbol'],
    titles: [
      'training step t',
      'measured R = F_W·F_BN',
      'gradient-independence reconstruction (GIA)',
      'α_W (alignment of g with W)',
      'κ (gate–gradient correlation)',
      '1 − ρ_P (BN projection)',
    ],
  },
  'optimizer-comparison': {
    marks: ['mark-line', 'mark-area', 'mark-symbol'],
    titles: ['training step t', 'training loss', 'training accuracy', 'SGD + warmup', 'LAMB', 'diverged', 'B = 2048'],
  },
  'jacobian-spectrum': {
    marks: ['mark-rect', 'mark-line'],
    titles: ['singular value σ of J = ∂h_L/∂h_0', 'density p(σ)', 'free probability density'],
  },
  'phase-diagram': { marks: ['mark-rect', 'mark-line'], titles: ['weight variance σ_w²', 'bias variance σ_b²', 'critical line χ₁ = 1'] },
  'symmetry-breaking': {
    marks: ['mark-line', 'mark-area', 'mark-symbol'],
    titles: ['layer ℓ', 'norm spread', 'correlation', 'relu, B = 32', 'silu, B = 32'],
  },
  updates: {
    marks: ['mark-line', 'mark-area', 'mark-symbol'],
    titles: ['layer ℓ (1 = input side)', 'update ratio ‖ΔW_ℓ‖ / ‖W_ℓ‖', 'trust ratio (per layer)', 'step 0', 'step 200', 'LARS', 'SGD'],
  },
};

describe('every figure', () => {
  it('is registered with fixtures for each name', () => {
    expect(Object.keys(FIXTURES).sort()).toEqual([...FIGURE_NAMES].sort());
  });

  for (const name of FIGURE_NAMES) {
    it(`${name}: compiles without vega-lite warnings, renders its marks and titles, names the spec in a caption`, async () => {
      const records = FIXTURES[name]();
      const vl = buildFigure(name, records) as any;
      expect(compileVegaLite(vl).warnings).toEqual([]);
      expect(Array.isArray(vl.data?.values)).toBe(true);
      const svg = await renderSvg(vl);
      for (const m of EXPECT[name].marks) expect(svg, `${name} mark ${m}`).toContain(`class="${m} role-mark`);
      // the text as drawn: subscripts are tspans (σ_w² is σ<tspan …>w</tspan>²), so tags are dropped and so is the `_`
      const texts = [...svg.matchAll(/<text[^>]*>([\s\S]*?)<\/text>/g)].map((m) => m[1].replace(/<[^>]*>/g, '').replace(/&amp;/g, '&'));
      for (const t of EXPECT[name].titles) expect(texts, `${name} title ${t}`).toContain(t.replace(/_/g, ''));
      // Caption: the spec behind the figure (a single spec names its id).
      const caption = vl.title.subtitle.join(' ');
      expect(caption).toMatch(/Linear→/);
      const ids = new Set(records.map((r: SPRecord) => r.specId));
      if (ids.size === 1) expect(caption).toContain(`spec ${[...ids][0]}`);
      // The one palette: theory and sampled keep their colours wherever they appear.
      const scales = vegaScales(vl);
      for (const s of scales) {
        if (!Array.isArray(s.domain) || !Array.isArray(s.range) || typeof s.range[0] !== 'string' || !s.range[0].startsWith('#')) continue;
        s.domain.forEach((d: unknown, i: number) => {
          if (d === 'theory') expect(s.range[i]).toBe(PALETTE.theory);
          if (typeof d === 'string' && d.startsWith('sampled')) expect(s.range[i]).toBe(PALETTE.sampled);
        });
      }
    });
  }

  it('unknown names and missing records fail with what is allowed or needed', () => {
    expect(() => buildFigure('nope', [])).toThrow(FigureError);
    expect(() => buildFigure('nope', [])).toThrow(new RegExp(`expected one of ${FIGURE_NAMES.join(', ')}`));
    expect(() => buildFigure('phase-diagram', batchRecords())).toThrow(
      /phase-diagram: needs records with theory growth \(layer null\) on a \(σ_w², σ_b²\) grid of no-BN specs; found sampled:growth, theory:growth/,
    );
    expect(() => buildFigure('jacobian-spectrum', batchRecords())).toThrow(/needs records with sampled jac_sv/);
  });
});

describe('figures show the values they were given (read back from the compiled Vega data)', () => {
  it('gradient-vs-depth: theory λ^(L−ℓ), sampled exp(seed mean) with its interval, trained steps; log y', () => {
    const recs = gradientRecords(12, 4);
    const vl = buildFigure('gradient-vs-depth', recs);
    const rows = vegaRows(vl);
    for (let l = 1; l <= 12; l++) {
      const th = rows.find((r) => r.source === 'theory' && r.layer === l);
      expect(th.y / 1.52195 ** (12 - l)).toBeCloseTo(1, 12);
      const seeds = recs.filter((r) => r.source === 'sampled' && r.layer === l).map((r) => r.value);
      let m = 0;
      for (const v of seeds) m += v / seeds.length;
      const sa = rows.find((r) => r.source === 'sampled' && r.layer === l);
      expect(Math.log(sa.y)).toBeCloseTo(m, 12);
      expect(sa.lo).toBeLessThanOrEqual(sa.y);
      expect(sa.hi).toBeGreaterThanOrEqual(sa.y);
    }
    expect([...new Set(rows.filter((r) => r.source === 'trained').map((r) => r.step))]).toEqual([0, 1, 2, 5, 10, 20, 50]);
    const yScale = vegaScales(vl).find((s) => s.name === 'y');
    expect(yScale.type).toBe('log'); // 1.52^11 ≈ 100: two decades
    // Data within one decade: linear axis.
    const flat = buildFigure(
      'gradient-vs-depth',
      [1, 2, 3].map((l) => record(fields({ depth: 3 }), 'theory', 'grad_h_sq', l, 1 + l / 3)),
    );
    expect(vegaScales(flat).find((s) => s.name === 'y').type).toBe('linear');
  });

  it('lambda-vs-batch: theory λ(B) as given, the reference (B−2)/(B−3) from B itself, log₂ batch axis', () => {
    const vl = buildFigure('lambda-vs-batch', batchRecords());
    const rows = vegaRows(vl);
    for (const B of BATCHES) expect(rows.find((r) => r.kind === 'theory' && r.B === B).y).toBeCloseTo(fixtureLambda(B), 14);
    const ref = rows.filter((r) => r.kind === 'reference');
    expect(ref.length).toBeGreaterThan(20);
    for (const r of ref) expect(r.y).toBeCloseTo((r.B - 2) / (r.B - 3), 14);
    expect(Math.min(...ref.map((r) => r.B))).toBe(4);
    expect(Math.max(...ref.map((r) => r.B))).toBeCloseTo(1024, 9);
    const s32 = rows.find((r) => r.kind === 'sampled' && r.B === 32);
    expect([s32.y, s32.lo, s32.hi]).toEqual([fixtureLambda(32) * 0.99, fixtureLambda(32) * 0.99 - 0.014, fixtureLambda(32) * 0.99 + 0.014]);
    expect(rows.find((r) => r.kind === 'limit').y).toBeCloseTo(Math.PI / (Math.PI - 1), 14);
    const scales = vegaScales(vl);
    expect(scales.find((s) => s.name === 'x')).toMatchObject({ type: 'log', base: 2 });
    expect(scales.find((s) => s.name === 'y').type).toBe('linear'); // λ from 1 to 2.6: no decade
  });

  it('depth-batch-heatmap: cells are the last-step accuracy averaged over seeds; ξ(B) and 10ξ(B) as given', () => {
    const rows = vegaRows(buildFigure('depth-batch-heatmap', heatmapRecords()));
    const cells = rows.filter((r) => r.kind === 'cell');
    expect(cells).toHaveLength(HEAT_DEPTHS.length * HEAT_BATCHES.length);
    for (const c of cells) expect(c.v).toBeCloseTo(0.1 + 0.85 * Math.exp(-c.L / 40) - 0.015, 14);
    for (const B of HEAT_BATCHES) {
      const xi = 1 / Math.log(fixtureLambda(B));
      expect(rows.find((r) => r.kind === 'xi' && r.k === 1 && r.B === B).L).toBeCloseTo(xi, 14);
      expect(rows.find((r) => r.kind === 'xi' && r.k === 10 && r.B === B).L).toBeCloseTo(10 * xi, 13);
    }
    // Cells tile the plane: geometric midpoints between neighbouring batch sizes.
    const c8 = cells.find((c) => c.B === 8 && c.L === 2);
    expect(c8.b1).toBeCloseTo(16, 12);
  });

  it('activation-rate: theory at B → ∞ and the sampled mean at the largest batch, per activation', () => {
    const rows = vegaRows(buildFigure('activation-rate', activationRecords()));
    for (const [act, rate] of Object.entries(ACTIVATION_RATES)) {
      const th = rows.find((r) => r.source === 'theory' && r.activation === act);
      expect(th.y).toBe(rate);
      expect(th.B).toBe('∞');
      const sa = rows.find((r) => r.source === 'sampled' && r.activation === act);
      expect(sa.y).toBeCloseTo(rate, 14); // seed offsets ±0.004·(s − 2.5) cancel
      expect(sa.B).toBe('1024');
    }
  });

  it('symmetry-breaking: theory with its replica band as given, sampled seed means with their interval, per activation and layer', () => {
    const recs = symmetryRecords();
    const rows = vegaRows(buildFigure('symmetry-breaking', recs));
    for (const r of recs.filter((x) => x.seed === null)) {
      const row = rows.find(
        (x) =>
          x.source === r.source &&
          x.activation === `${r.activation}, B = ${r.batch}` &&
          x.layer === r.layer &&
          x.quantity === (r.quantity === 'corr' ? 'correlation' : 'norm spread'),
      );
      expect(row.y).toBe(r.value);
      expect(row.lo).toBe(r.lo);
      expect(row.hi).toBe(r.hi);
    }
    expect(rows.length).toBe(recs.filter((x) => x.seed === null).length);
    expect(() => buildFigure('symmetry-breaking', gradientRecords())).toThrow(
      /symmetry-breaking: needs records with per-layer norm_spread/,
    );
  });

  it('gradient-factors: per step the mean over runs of the geometric mean over layers, for every factor; GIA beside', () => {
    const recs = factorRecords();
    const rows = vegaRows(buildFigure('gradient-factors', recs));
    const expected = (q: string, step: number, f: (v: number) => number = (v) => v) => {
      const runs = [1, 2].map((s) => {
        const vs = recs.filter((r) => r.quantity === q && r.step === step && r.seed === s).map((r) => Math.log(f(r.value)));
        expect(vs.length).toBe(7);
        return Math.exp(vs.reduce((a, b) => a + b, 0) / vs.length);
      });
      return (runs[0] + runs[1]) / 2;
    };
    const row = (series: string, step: number) => rows.find((r) => r.series === series && r.step === step);
    for (const step of [0, 5, 100]) {
      expect(row('measured R = F_W·F_BN', step).y).toBeCloseTo(expected('grad_growth', step), 12);
      expect(row('gradient-independence reconstruction (GIA)', step).y).toBeCloseTo(expected('gia_growth', step), 12);
      expect(row('α_W (alignment of g with W)', step).y).toBeCloseTo(expected('grad_align_w', step), 12);
      expect(row('κ (gate–gradient correlation)', step).y).toBeCloseTo(expected('gate_grad_corr', step), 12);
      expect(row('1 − ρ_P (BN projection)', step).y).toBeCloseTo(
        expected('bn_proj_removed', step, (v) => 1 - v),
        12,
      );
      expect(row('F_BN = ‖g_h‖²/‖g_x‖²', step).y).toBeCloseTo(expected('grad_factor_bn', step), 12);
      // the fixture's A_GIA is 0.98·A at every layer: the ratio series reads 1/0.98
      expect(row('A / A_GIA (unit weights, γ_j, per-unit φ′)', step).y).toBeCloseTo(1 / 0.98, 12);
    }
    // a step marked degenerate is left out; legacy predicted_growth is drawn as the GIA
    const marked = recs.map((r) => (r.step === 5 ? { ...r, tags: { ...r.tags, degenerate: 'round-off' } } : r));
    expect(vegaRows(buildFigure('gradient-factors', marked)).some((r) => r.step === 5)).toBe(false);
    const legacy = recs.map((r) => (r.quantity === 'gia_growth' ? { ...r, quantity: 'predicted_growth' as const } : r));
    expect(
      vegaRows(buildFigure('gradient-factors', legacy)).find(
        (r) => r.series === 'gradient-independence reconstruction (GIA)' && r.step === 5,
      ).y,
    ).toBeCloseTo(expected('gia_growth', 5), 12);
    expect(() => buildFigure('gradient-factors', earlyRecords())).toThrow(
      /gradient-factors: needs records with trained per-layer grad_factor_w/,
    );
  });

  it('early-training: geometric mean over layers and runs, the GIA reconstruction (legacy predicted_growth records), the correlation', () => {
    const rows = vegaRows(buildFigure('early-training', earlyRecords()));
    for (const step of [0, 5, 100]) {
      const ratio = 1 + 0.48 / (1 + step / 5);
      // Per run: ratio·(1 + 0.01(s−2)) at every layer; the mean over s = 1, 2, 3 is ratio.
      expect(rows.find((r) => r.panel === 'ratio' && r.series.startsWith('trained') && r.step === step).y).toBeCloseTo(ratio, 12);
      expect(rows.find((r) => r.series === 'gradient-independence reconstruction (GIA)' && r.step === step).y).toBeCloseTo(
        ratio * 1.02,
        12,
      );
      expect(rows.find((r) => r.panel === 'corr' && r.step === step).y).toBeCloseTo(0.9 * (1 - 1 / (1 + step / 10)) + 0.02, 12);
    }
    expect(rows.find((r) => r.series === 'theory λ(B) at init').y).toBe(1.47968);
  });

  it('optimizer-comparison: per-optimizer means, divergence marked at the first non-finite loss', () => {
    const rows = vegaRows(buildFigure('optimizer-comparison', optimizerRecords()));
    const div = rows.filter((r) => r.kind === 'diverged');
    expect(div).toHaveLength(2); // SGD at B = 2048, two seeds
    for (const d of div) expect(d).toMatchObject({ optimizer: 'SGD', batch: 'B = 2048', step: 6 });
    const lars = rows.find(
      (r) => r.kind === 'curve' && r.metric === 'loss' && r.optimizer === 'LARS' && r.batch === 'B = 32' && r.step === 30,
    );
    expect(lars.y).toBeCloseTo(2.3 * Math.exp(-30 / 25) + 0.1 + 0.015, 12);
    expect(new Set(rows.map((r) => r.optimizer))).toEqual(new Set(['SGD', 'SGD + warmup', 'LARS', 'LAMB', 'LALC']));
  });

  it('jacobian-spectrum: a normalised histogram that matches the quarter-circle law to within one count per bin', () => {
    const n = 400;
    const rows = vegaRows(buildFigure('jacobian-spectrum', spectrumRecords(n)));
    const bins = rows.filter((r) => r.kind === 'bin');
    expect(bins.reduce((a, b) => a + b.count, 0)).toBe(n);
    expect(bins.reduce((a, b) => a + b.density * (b.x1 - b.x0), 0)).toBeCloseTo(1, 12);
    for (const b of bins) {
      // Quantile draws: a bin holds n(F(x1) − F(x0)) ± 1 of them.
      const expected = (quarterCircleCdf(Math.min(2, b.x1)) - quarterCircleCdf(b.x0)) / (b.x1 - b.x0);
      expect(Math.abs(b.density - expected)).toBeLessThanOrEqual(1 / (n * (b.x1 - b.x0)) + 1e-12);
    }
    const dens = rows.filter((r) => r.kind === 'density');
    expect(dens).toHaveLength(101);
    expect(dens.find((r) => r.sv === 0).density).toBeCloseTo(2 / Math.PI, 14);
  });

  it('jacobian-spectrum on log-spaced bins: density per unit ln σ, the theory drawn as σ·p(σ)', () => {
    // ln σ uniform on [−8, 0] (quantile draws): σ·p(σ) = 1/8 everywhere; p(σ) = 1/(8σ).
    const n = 480;
    const f = fields({ depth: 2, width: 64, batch: null, order: 'linear-act' });
    const recs = Array.from({ length: n }, (_, i) =>
      record(f, 'sampled', 'jac_sv', null, Math.exp(-8 + (8 * (i + 0.5)) / n), { seed: 1, tags: { index: i } }),
    );
    for (const x of [0.001, 0.01, 0.1, 0.5]) recs.push(record(f, 'theory', 'jac_density', null, 1 / (8 * x), { tags: { sv: x } }));
    const vl = buildFigure('jacobian-spectrum', recs);
    const rows = vegaRows(vl);
    for (const b of rows.filter((r) => r.kind === 'bin')) {
      const dln = Math.log(b.x1 / b.x0);
      expect(Math.abs(b.density - 1 / 8)).toBeLessThanOrEqual(1 / (n * dln) + 1e-12); // ± one quantile draw per bin
    }
    for (const d of rows.filter((r) => r.kind === 'density')) expect(d.density).toBeCloseTo(1 / 8, 14);
    expect(vegaScales(vl).find((s) => s.name === 'x').type).toBe('log');
  });

  it('phase-diagram: ReLU χ₁ = σ_w²/2, so the critical line sits at σ_w² = 2 for every σ_b²', () => {
    const rows = vegaRows(buildFigure('phase-diagram', phaseRecords()));
    const line = rows.filter((r) => r.kind === 'critical');
    expect(line).toHaveLength(5);
    for (const p of line) expect(p.sigmaW2).toBe(2);
    for (const c of rows.filter((r) => r.kind === 'cell')) expect(c.lng).toBeCloseTo(Math.log(c.sigmaW2 / 2), 14);
    // Off-grid crossing: ln χ₁ linear in σ_w² (χ₁ = e^{k(σ_w² − 2)}), so interpolation is exact.
    const grid = [0.7, 1.3, 2.9, 3.1].flatMap((w) => [0, 0.2].map((b) => ({ sigmaW2: w, sigmaB2: b, growth: Math.exp(0.8 * (w - 2)) })));
    for (const c of criticalLineFromGrid(grid)) expect(c.sigmaW2).toBeCloseTo(2, 13);
  });

  test.prop([fc.uniqueArray(fc.double({ min: 0.1, max: 6, noNaN: true }), { minLength: 2, maxLength: 12 })])(
    'critical line lies between the grid points that bracket χ₁ = 1',
    (ws) => {
      const grid = ws.map((w) => ({ sigmaW2: w, sigmaB2: 0, growth: w / 2 }));
      const below = ws.filter((w) => w < 2);
      const above = ws.filter((w) => w > 2);
      const line = criticalLineFromGrid(grid);
      if (ws.includes(2) || (below.length && above.length)) {
        expect(line).toHaveLength(1);
        const lo = below.length ? Math.max(...below) : 2;
        const hi = above.length ? Math.min(...above) : 2;
        expect(line[0].sigmaW2).toBeGreaterThanOrEqual(lo);
        expect(line[0].sigmaW2).toBeLessThanOrEqual(hi);
      } else expect(line).toHaveLength(0);
    },
  );
});

describe('helpers', () => {
  test.prop([fc.array(fc.double({ min: 1e-3, max: 1e3, noNaN: true }), { minLength: 1, maxLength: 30 })])(
    'axisScale: log exactly when positive data span a decade',
    (v) => {
      expect(axisScale(v).type).toBe(Math.max(...v) / Math.min(...v) >= 10 ? 'log' : 'linear');
      expect(axisScale([...v, -1]).type).toBe('linear');
    },
  );

  test.prop([
    fc.array(fc.double({ min: 1e-3, max: 1e3, noNaN: true }), { minLength: 1, maxLength: 200 }),
    fc.integer({ min: 1, max: 40 }),
    fc.boolean(),
  ])('densityHistogram: counts sum to n, every value in its bin, density integrates to 1', (v, bins, log) => {
    const h = densityHistogram(v, bins, log);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(v.length);
    expect(h.density.reduce((a, d, i) => a + d * (h.edges[i + 1] - h.edges[i]), 0)).toBeCloseTo(1, 9);
    for (let i = 1; i < h.edges.length; i++) expect(h.edges[i]).toBeGreaterThan(h.edges[i - 1]);
  });
});
