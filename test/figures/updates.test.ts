// The `updates` figure from the records of tiny real runs (SGD and LARS, 3 probed steps): its rows, read
// back from the compiled Vega spec, against the run's own update_norm / weight_norm (a second route to the
// ratio the figure draws), its facets (one per probed step) and its series (one per optimizer); and the
// step picker's invariants.
import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildFigure, compileVegaLite, renderSvg } from '../../src/figures/index.js';
import { facetSteps } from '../../src/figures/updates.js';
import type { SPRecord } from '../../src/records/index.js';
import { trainRun } from '../../src/train/index.js';

const SPEC = { depth: 4, width: 10, inputDim: 8, batch: 8 };
const DATA = { kind: 'synthetic', rho: 0.1, nTest: 16, classes: 3 };
let records: SPRecord[] = [];

beforeAll(async () => {
  for (const optimizer of [
    { kind: 'sgd', lr: 0.1 },
    { kind: 'lars', lr: 0.5, trustCoefficient: 0.02 },
  ] as const) {
    const r = await trainRun(
      { spec: SPEC, data: DATA, optimizer, steps: 3, seed: 21, probe: { dense: 3 }, backend: 'cpu' },
      { threads: 1 },
    );
    records.push(...r.records);
  }
  records = records.slice();
}, 60_000);

function vegaRows(vl: any): any[] {
  const { vega } = compileVegaLite(vl);
  return vega.data.filter((d: any) => Array.isArray(d.values)).flatMap((d: any) => d.values);
}

const value = (q: string, l: number, t: number, opt: string) =>
  records.find((r) => r.quantity === q && r.layer === l && r.step === t && r.tags?.optimizer === opt && !r.tags?.method)!.value as number;

describe('updates figure', () => {
  it('draws update_norm / weight_norm per layer and step for each optimizer, and LARS trust ratios', async () => {
    const vl = buildFigure('updates', records) as any;
    expect(compileVegaLite(vl).warnings).toEqual([]);
    const rows = vegaRows(vl);
    for (const [opt, label] of [
      ['sgd', 'SGD'],
      ['lars', 'LARS'],
    ] as const) {
      for (let t = 0; t < 3; t++)
        for (let l = 1; l <= SPEC.depth; l++) {
          const row = rows.filter((r) => r.panel === 'update_ratio' && r.series === label && r.step === t && r.layer === l);
          expect(row, `${label} step ${t} layer ${l}`).toHaveLength(1);
          // one run: the geometric mean is the run's value; the ratio of two float32 norms in float64, a few ulps
          const want = value('update_norm', l, t, opt) / value('weight_norm', l, t, opt);
          expect(Math.abs(row[0].y - want) / want).toBeLessThan(1e-14);
        }
    }
    // the trust ratios: LARS's, per layer; SGD has none; LARS with η = 0.02 and no weight decay: f = η‖W‖/(‖g‖ + ε)
    const trust = rows.filter((r) => r.panel === 'trust_ratio');
    expect(new Set(trust.map((r) => r.series))).toEqual(new Set(['LARS']));
    expect(trust).toHaveLength(3 * SPEC.depth);
    for (const r of trust) {
      const want = (0.02 * value('weight_norm', r.layer, r.step, 'lars')) / (value('grad_w_norm', r.layer, r.step, 'lars') + 1e-8);
      expect(Math.abs(r.y - want) / want).toBeLessThan(1e-12);
    }
    // facets: one per probed step, in order; two panels (update ratio, trust ratio) on log axes
    expect(vl.vconcat).toHaveLength(2);
    for (const p of vl.vconcat) {
      expect(p.facet.field).toBe('stepLabel');
      expect(p.facet.sort).toEqual(['step 0', 'step 1', 'step 2']);
      for (const layer of p.spec.layer) expect(layer.encoding.y.scale.type).toBe('log');
    }
    // no readout rows (layer null), and the notes say they were left out
    expect(rows.some((r) => r.layer === null)).toBe(false);
    expect(vl.usermeta.notes.join(' ')).toMatch(/readout records \(layer null\) left out/);
    const svg = await renderSvg(vl);
    expect(svg).toContain('class="mark-line role-mark');
    for (const t of ['layer ℓ (1 = input side)', 'step 0', 'step 2', 'LARS', 'SGD']) expect(svg).toContain(t);
  });

  it('a records set without update_ratio is refused naming what is needed', () => {
    expect(() =>
      buildFigure(
        'updates',
        records.filter((r) => r.quantity !== 'update_ratio'),
      ),
    ).toThrow(/updates: needs records with trained per-layer update_ratio/);
  });

  it('steps option: only those panels', () => {
    const vl = buildFigure('updates', records, { steps: [0, 2] }) as any;
    expect(vl.vconcat[0].facet.sort).toEqual(['step 0', 'step 2']);
    expect(new Set(vegaRows(vl).map((r) => r.step))).toEqual(new Set([0, 2]));
  });
});

describe('facetSteps', () => {
  test.prop([fc.uniqueArray(fc.integer({ min: 0, max: 100_000 }), { minLength: 1, maxLength: 60 }), fc.integer({ min: 2, max: 8 })])(
    'first and last, sorted, from the steps given, at most max, all of them when they fit',
    (steps, max) => {
      const got = facetSteps(steps, max);
      const sorted = [...steps].sort((a, b) => a - b);
      expect(got[0]).toBe(sorted[0]);
      expect(got[got.length - 1]).toBe(sorted[sorted.length - 1]);
      expect(got.length).toBeLessThanOrEqual(max);
      for (let i = 1; i < got.length; i++) expect(got[i]).toBeGreaterThan(got[i - 1]);
      for (const s of got) expect(steps).toContain(s);
      if (steps.length <= max) expect(got).toEqual(sorted);
    },
  );
  it('log-spaced between: 0..1000 every step, 4 panels → 0, 9, 99, 1000 (log(1+t) at thirds: e^{ln 1001/3} − 1 ≈ 9.0, e^{2 ln 1001/3} − 1 ≈ 99.0)', () => {
    expect(facetSteps(Array.from({ length: 1001 }, (_, i) => i))).toEqual([0, 9, 99, 1000]);
  });
});
