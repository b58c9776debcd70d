// Figures that used to mislead in silence: each case either draws the data it was given or names what it left
// out (a note in the figure and in usermeta.notes). Expected values come from the input records themselves.
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { compileVegaLite, renderSvg } from '../../src/figures/index.js';
import { buildFigure } from '../../src/figures/registry.js';
import { svgSubscripts } from '../../src/figures/svgText.js';
import { record, type SPRecord } from '../../src/records/index.js';
import {
  batchRecords,
  earlyRecords,
  fields,
  gradientRecords,
  heatmapRecords,
  optimizerRecords,
  phaseRecords,
  quarterCircleQuantiles,
} from './fixtures.js';
import { optimizerLabel } from '../../src/figures/training.js';

function vegaRows(vl: any): any[] {
  const { vega } = compileVegaLite(vl);
  return vega.data.filter((d: any) => Array.isArray(d.values)).flatMap((d: any) => d.values);
}
const notesOf = (vl: any): string[] => vl.usermeta?.notes ?? [];
const subtitle = (vl: any): string => (vl.title.subtitle as string[]).join(' ');

/** Theory and sampled as the predictor and sampler write them; trained as the trainer does (grad_h_sq, grad_growth). */
function mixedGradientRecords(depth = 6): { recs: SPRecord[]; trainedSq: (l: number, step: number, seed: number) => number } {
  const recs = gradientRecords(depth, 2).filter((r) => r.source !== 'trained');
  const f = fields({ depth, width: 64, batch: 32 });
  const trainedSq = (l: number, step: number, seed: number) => 1e-3 * (1.3 + 0.1 * seed) ** (depth - l) * (1 + step / 10);
  for (const step of [0, 10])
    for (const seed of [1, 2])
      for (let l = 1; l <= depth; l++) {
        recs.push(record(f, 'trained', 'grad_h_sq', l, trainedSq(l, step, seed), { seed, step }));
        if (l < depth)
          recs.push(record(f, 'trained', 'grad_growth', l, trainedSq(l, step, seed) / trainedSq(l + 1, step, seed), { seed, step }));
      }
  return { recs, trainedSq };
}

describe('gradient-vs-depth with theory, sampled and trained records', () => {
  it('draws the trained runs, normalised to ‖∂L/∂h_ℓ‖²/‖∂L/∂h_L‖² per run and step, and says so', () => {
    const depth = 6;
    const { recs, trainedSq } = mixedGradientRecords(depth);
    const vl = buildFigure('gradient-vs-depth', recs);
    const rows = vegaRows(vl).filter((r) => r.source === 'trained');
    expect(new Set(rows.map((r) => r.step))).toEqual(new Set([0, 10]));
    for (const step of [0, 10])
      for (let l = 1; l <= depth; l++) {
        // the mean over the two seeds of ln(v_ℓ/v_L), drawn as exp (the axis is the ratio itself)
        const logs = [1, 2].map((s) => Math.log(trainedSq(l, step, s) / trainedSq(depth, step, s)));
        const row = rows.find((r) => r.step === step && r.layer === l);
        expect(row.y).toBeCloseTo(Math.exp((logs[0] + logs[1]) / 2), 10);
      }
    expect(subtitle(vl)).toContain('trained from grad_h_sq, as ln of the ratio to the last layer of each run and step');
    expect(notesOf(vl)).toEqual([]);
  });

  it('from per-layer ratios alone, the product Π_{k≥ℓ} R_k (and 1 at the last layer)', () => {
    const depth = 5;
    const { recs, trainedSq } = mixedGradientRecords(depth);
    const onlyRatio = recs.filter((r) => !(r.source === 'trained' && r.quantity === 'grad_h_sq'));
    const rows = vegaRows(buildFigure('gradient-vs-depth', onlyRatio)).filter((r) => r.source === 'trained' && r.step === 0);
    for (let l = 1; l <= depth; l++) {
      const expected = [1, 2].map((s) => Math.log(trainedSq(l, 0, s) / trainedSq(depth, 0, s)));
      expect(rows.find((r) => r.layer === l).y).toBeCloseTo(Math.exp((expected[0] + expected[1]) / 2), 10);
    }
  });

  it('with --quantity given, a source without it is named as left out', () => {
    const { recs } = mixedGradientRecords();
    const vl = buildFigure('gradient-vs-depth', recs, { quantity: 'log_grad_h_sq' });
    expect(vegaRows(vl).some((r) => r.source === 'trained')).toBe(false);
    expect(notesOf(vl).join(' ')).toMatch(/trained records left out: they have no log_grad_h_sq \(they have grad_h_sq/);
    expect(subtitle(vl)).toContain('note: trained records left out');
  });

  it('trained steps beyond the seven shades are named', () => {
    const vl = buildFigure('gradient-vs-depth', gradientRecords(6, 2));
    // the fixture logs steps 0, 1, 2, 5, 10, 20, 50, 100, 200
    const drawn = new Set(
      vegaRows(vl)
        .filter((r) => r.source === 'trained')
        .map((r) => r.step),
    );
    expect([...drawn].sort((a, b) => a - b)).toEqual([0, 1, 2, 5, 10, 20, 50]);
    expect(notesOf(vl)).toContainEqual(expect.stringMatching(/2 other logged steps left out \(100, 200\)/));
  });
});

describe('early-training with several specs', () => {
  it('draws one row of panels per spec, each from its own records, and none is dropped', () => {
    const recs = earlyRecords();
    const extra = [16, 64, 256];
    for (const B of extra) {
      const f = fields({ depth: 8, width: 64, batch: B });
      for (const step of [0, 5, 20])
        for (let l = 1; l < 8; l++)
          recs.push(record(f, 'trained', 'grad_growth', l, 1 + 1 / B + step / 100, { seed: 1, step, tags: { optimizer: 'sgd' } }));
    }
    const vl = buildFigure('early-training', recs) as any;
    expect(vl.vconcat).toHaveLength(4);
    const rows = vegaRows(vl).filter((r) => r.panel === 'ratio' && r.series.startsWith('trained'));
    expect(new Set(rows.map((r) => r.group))).toEqual(new Set(['B = 16', 'B = 64', 'B = 128', 'B = 256']));
    for (const B of extra)
      for (const step of [0, 5, 20])
        expect(rows.find((r) => r.group === `B = ${B}` && r.step === step).y).toBeCloseTo(1 + 1 / B + step / 100, 12);
    expect(vl.vconcat.map((v: any) => v.title.text)).toEqual(['B = 16', 'B = 64', 'B = 128', 'B = 256']);
  });

  it('its default window leaves out the input layer ℓ = 1; --layers chooses; the title describes, not concludes', () => {
    const recs = earlyRecords();
    const f = recs.find((r) => r.source === 'trained')!;
    // make the input layer stand out: its ratio is 10 at every step
    const marked = recs.map((r) => (r.quantity === 'grad_growth' && r.layer === 1 ? { ...r, value: 10 } : r));
    const base = vegaRows(buildFigure('early-training', marked)).find(
      (r) => r.panel === 'ratio' && r.step === 0 && r.series.startsWith('trained'),
    );
    expect(base.y).toBeCloseTo(1 + 0.48, 12);
    const withInput = vegaRows(buildFigure('early-training', marked, { layers: [1, 2, 3, 4, 5, 6, 7] })).find(
      (r) => r.panel === 'ratio' && r.step === 0 && r.series.startsWith('trained'),
    );
    // per run s the geometric mean over 7 layers of one 10 and six 1.48·(1 + 0.01(s − 2)), then the mean over runs
    const perRun = [1, 2, 3].map((s) => Math.exp((Math.log(10) + 6 * Math.log(1.48 * (1 + 0.01 * (s - 2)))) / 7));
    expect(withInput.y).toBeCloseTo((perRun[0] + perRun[1] + perRun[2]) / 3, 12);
    const vl = buildFigure('early-training', marked) as any;
    expect(vl.title.text).toBe('Early training: per-layer gradient ratio and correlation against step');
    expect(subtitle(vl)).toContain('layers ℓ = 2–7 (input layer ℓ = 1 left out)');
    expect(f.depth).toBe(8);
  });
});

describe('one-point theory lines and one-cell heatmaps', () => {
  it('lambda-vs-batch with theory at one batch size draws it as a point and says so', () => {
    const recs = batchRecords().filter((r) => r.source !== 'theory' || r.batch === 32 || r.batch === null);
    const vl = buildFigure('lambda-vs-batch', recs);
    const pt = vegaRows(vl).filter((r) => r.kind === 'theory-point');
    expect(pt).toHaveLength(1);
    expect(pt[0].y).toBe(recs.find((r) => r.source === 'theory' && r.batch === 32)!.value);
    expect(notesOf(vl)).toEqual(['theory λ(B) given at one batch size only (B = 32): drawn as a point, no curve']);
  });

  it('lambda-vs-batch names measurements at B = ∞ it cannot place', () => {
    const recs = [...batchRecords(), record(fields({ depth: 30, width: 256, batch: null }), 'sampled', 'growth', null, 1.47, { seed: 1 })];
    expect(notesOf(buildFigure('lambda-vs-batch', recs))).toContainEqual(
      expect.stringMatching(/^1 sampled growth records at B = ∞ \(no batch\) left out/),
    );
  });

  it('a one-cell depth × batch heatmap says it is one cell, and a depth-scale line outside the grid is named', () => {
    const recs = heatmapRecords().filter((r) => (r.source === 'theory' && r.batch === 8) || (r.batch === 8 && r.depth === 2));
    const vl = buildFigure('depth-batch-heatmap', recs);
    const notes = notesOf(vl).join(' | ');
    expect(vegaRows(vl).filter((r) => r.kind === 'cell')).toHaveLength(1);
    expect(notes).toContain('one (depth, batch) cell only (L = 2, B = 8)');
    // ξ(8) = 1/ln λ(8) with the fixture's λ; 10·ξ lies above the single depth 2
    expect(notes).toMatch(/theory 10·ξ\(B\) not drawn: it lies outside the depth × batch grid/);
  });

  it('the heatmap batch axis is log₂ with ticks at the grid values, integer labels', () => {
    const vl = buildFigure('depth-batch-heatmap', heatmapRecords()) as any;
    const x = vl.layer[0].encoding.x;
    expect(x.scale.type).toBe('log');
    const grid = [
      ...new Set(
        heatmapRecords()
          .filter((r) => r.source === 'trained')
          .map((r) => r.batch),
      ),
    ].sort((a, b) => a! - b!);
    expect(x.axis.values).toEqual(grid);
    expect(x.axis.format).toBe('d');
  });
});

describe('greyscale: optimizers', () => {
  it('each optimizer has its own dash, in the curves and in the legend', async () => {
    const svg = await renderSvg(buildFigure('optimizer-comparison', optimizerRecords()));
    const legend = new Map<string, string>();
    for (const m of svg.matchAll(/role-legend-symbol"[^>]*>(<path[^>]*>)[\s\S]*?role-legend-label"[^>]*><text[^>]*>([^<]*)<\/text>/g))
      legend.set(m[2], /stroke-dasharray="([^"]*)"/.exec(m[1])?.[1] ?? 'none');
    const names = [...new Set(optimizerRecords().map((r) => optimizerLabel(r)))];
    expect(names.length).toBeGreaterThan(3);
    for (const n of names) expect(legend.has(n), n).toBe(true);
    expect(new Set(names.map((n) => legend.get(n))).size).toBe(names.length);
    // the drawn curves carry the same patterns
    const lineDashes = new Set([...svg.matchAll(/role-mark[^"]*"[^>]*>(?:<path[^>]*stroke-dasharray="([^"]*)")/g)].map((m) => m[1]));
    for (const n of names) if (legend.get(n) !== '1,0') expect(lineDashes, n).toContain(legend.get(n));
  });
});

describe('phase diagram', () => {
  it('critical-line points outside the grid are named, those inside drawn', () => {
    const crit = (b: number, w: number) =>
      record(
        fields({ order: 'linear-act', batch: null, depth: 20, width: 256, init: { sigmaW2: 2, sigmaB2: b } }),
        'theory',
        'critical_sigma_w2',
        null,
        w,
      );
    const vl = buildFigure('phase-diagram', [...phaseRecords(), crit(0, 2), crit(0.2, 2), crit(0.4, 9)]);
    const line = vegaRows(vl).filter((r) => r.kind === 'critical');
    expect(line.map((r) => [r.sigmaB2, r.sigmaW2])).toEqual([
      [0, 2],
      [0.2, 2],
    ]);
    expect(notesOf(vl)).toEqual(['1 point of the critical line outside the (σ_w², σ_b²) grid not drawn']);
  });
});

describe('the Jacobian spectrum reports the atom at zero', () => {
  it('counts float-noise zeros separately and bins only the continuous part, with area 1 − p₀', () => {
    const n = 300;
    const zeros = 120;
    const f = fields({ depth: 1, width: n, batch: null, order: 'linear-act', activation: 'identity', init: { sigmaW2: 1 } });
    const cont = quarterCircleQuantiles(n - zeros).map((v) => v + 0.01);
    const noise = Array.from({ length: zeros }, (_, i) => 10 ** (-95 + (i % 80)));
    const recs = [...cont, ...noise].map((v, i) => record(f, 'sampled', 'jac_sv', null, v, { seed: 1, tags: { index: i } }));
    const vl = buildFigure('jacobian-spectrum', recs);
    const bins = vegaRows(vl).filter((r) => r.kind === 'bin');
    expect(Math.min(...bins.map((b) => b.x0))).toBeCloseTo(Math.min(...cont), 12);
    expect(bins.reduce((s, b) => s + b.count, 0)).toBe(n - zeros);
    // linear bins (the continuous part spans less than two decades): Σ density·width = (n − zeros)/n
    const area = bins.reduce((s, b) => s + b.density * (b.x1 - b.x0), 0);
    expect(area).toBeCloseTo((n - zeros) / n, 10);
    expect(notesOf(vl)[0]).toMatch(
      new RegExp(`^atom at σ = 0: ${zeros} of ${n} singular values \\(40\\.0%\\) are zero to float precision`),
    );
  });
});

describe('text: subscripts, integer ticks, font fallback', () => {
  it('σ_w², ∂h_L and F_BN become lowered tspans; identifiers such as log_grad_h_sq stay as they are', () => {
    const svg = (t: string) => `<text font-size="10px">${t}</text>`;
    expect(svgSubscripts(svg('σ_w² 2'))).toBe('<text font-size="10px">σ<tspan baseline-shift="-2.2" font-size="7.2px">w</tspan>² 2</text>');
    expect(svgSubscripts(svg('J = ∂h_L/∂h_0'))).toContain('∂h<tspan baseline-shift="-2.2" font-size="7.2px">L</tspan>/∂h<tspan');
    expect(svgSubscripts(svg('R = F_W·F_BN'))).toContain('F<tspan baseline-shift="-2.2" font-size="7.2px">BN</tspan>');
    for (const id of ['quantity log_grad_h_sq', 'cells: trained test_accuracy', 'critical_sigma_w2'])
      expect(svgSubscripts(svg(id))).toBe(svg(id));
  });

  test.prop([fc.string({ unit: fc.constantFrom('a', 'h', 'w', 'L', '_', 'σ', '∂', 'ℓ', '²', ' ', '/', '0', '·'), maxLength: 30 })])(
    'subscripting only drops underscores: the text without tags equals the input without them',
    (t) => {
      const esc = t.replace(/&/g, '&amp;');
      const out = svgSubscripts(`<text font-size="8px">${esc}</text>`);
      const inner = out.replace(/^<text[^>]*>|<\/text>$/g, '').replace(/<[^>]*>/g, '');
      expect(inner.replace(/_/g, '')).toBe(esc.replace(/_/g, ''));
    },
  );

  it('layer axes have integer ticks only (a 3-layer net has no tick at 1.5), and the SVG names a font fallback list', async () => {
    const svg = await renderSvg(buildFigure('gradient-vs-depth', gradientRecords(3, 2)));
    const axis = /aria-label="X-axis titled 'layer[^"]*"[\s\S]*?role-axis-label"[^>]*>([\s\S]*?)<\/g>/.exec(svg)!;
    const labels = [...axis[1].matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(labels.length).toBeGreaterThan(1);
    for (const l of labels) expect(l).toMatch(/^\d+$/);
    const families = new Set([...svg.matchAll(/font-family="([^"]*)"/g)].map((m) => m[1]));
    for (const fam of families) {
      expect(fam.split(',')[0].trim()).toBe('DejaVu Sans');
      expect(fam.split(',').at(-1)!.trim()).toBe('sans-serif');
    }
  });

  it('the lambda-vs-batch legend draws theory solid, the B → ∞ limit dotted, sampled as a filled point', async () => {
    const svg = await renderSvg(buildFigure('lambda-vs-batch', batchRecords()));
    const entries = new Map<string, string>();
    for (const m of svg.matchAll(/role-legend-symbol"[^>]*>(<path[^>]*>)[\s\S]*?role-legend-label"[^>]*><text[^>]*>([^<]*)<\/text>/g))
      entries.set(m[2].replace(/&amp;/g, '&'), m[1]);
    const dash = (p: string | undefined) => /stroke-dasharray="([^"]*)"/.exec(p ?? '')?.[1] ?? 'none';
    expect(dash(entries.get('theory, B → ∞'))).toBe('2,3');
    expect(['none', '1,0']).toContain(dash(entries.get('theory')));
    expect(dash(entries.get('linear BN (B−2)/(B−3)'))).toBe('6,4');
    // lines are drawn as a stroke (a horizontal segment), sampled points as a filled circle (two arcs)
    expect(entries.get('theory')).toMatch(/ d="M-\d+,0L\d+,0"/);
    const sampled = entries.get('sampled (mean, 95% CI)')!;
    expect(sampled).toMatch(/ d="M[\d.]+,0A/);
    expect(sampled).toMatch(/fill="#0072B2"/);
    // in greyscale (Rec. 709 luma) every two entries still differ: by dash, by symbol shape, or by grey level
    const luma = (p: string) => {
      const hex = /stroke="#([0-9a-fA-F]{6})"/.exec(p)![1];
      const [r, g, b] = [0, 2, 4].map((i) => Number.parseInt(hex.slice(i, i + 2), 16) / 255);
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const look = [...entries].map(([name, p]) => ({ name, dash: dash(p), d: / d="([^"]*)"/.exec(p)![1], grey: luma(p) }));
    expect(look).toHaveLength(4);
    for (let i = 0; i < look.length; i++)
      for (let j = i + 1; j < look.length; j++) {
        const [a, b] = [look[i], look[j]];
        const apart = a.dash !== b.dash || a.d !== b.d || Math.abs(a.grey - b.grey) > 0.25;
        expect(apart, `${a.name} vs ${b.name}`).toBe(true);
      }
  });
});
