import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  compareRecords,
  formatSummaryTable,
  loadRecords,
  pairErrors,
  pairsToCsv,
  RecordsError,
  summaryToCsv,
} from '../../src/compare/index.js';
import { makeSpec, specFields } from '../../src/network/index.js';
import { agreement, type Quantity, record, type SPRecord } from '../../src/records/index.js';
import { expectAgrees } from '../helpers/agreement.js';

const f = specFields(makeSpec({ depth: 4, width: 16, batch: 32 }));

// Hand calculation (independent of summarize): seeds 1.40, 1.60, 1.50, 1.58 → mean 1.52, sample sd 0.0909212113…
// zCi: the 95% half-width of 4 seeds is Student's t_{0.975, 3} = 3.182 (a printed table) × sd/√4 = 0.14466,
// not 1.96 × sd/√4 (which gave 0.2245 and called too much agreement with 2–4 seeds)
const SEEDS = [1.4, 1.6, 1.5, 1.58];
const HAND = {
  mean: 1.52,
  sd: 0.09092121131323912,
  ratio: 1.0133333333333334,
  logError: 0.013245226750020723,
  zSd: 0.21997067253202976,
  zCi: 0.02 / ((3.182 * 0.09092121131323912) / 2),
};

function handMade(): SPRecord[] {
  return [record(f, 'theory', 'growth', null, 1.5), ...SEEDS.map((v, i) => record(f, 'sampled', 'growth', null, v, { seed: i + 1 }))];
}

describe('compareRecords: the gap of one pair', () => {
  it('ratio, log error and distances in seed spreads match a hand calculation', () => {
    const { pairs } = compareRecords(handMade());
    expect(pairs).toHaveLength(1);
    const p = pairs[0];
    expect(p.reference).toBe('theory');
    expect(p.measured).toBe('sampled');
    expect(p.meas.value).toBeCloseTo(HAND.mean, 14);
    expect(p.meas.sd).toBeCloseTo(HAND.sd, 14);
    expect(p.meas.n).toBe(4);
    expect(p.ratio).toBeCloseTo(HAND.ratio, 14);
    expect(p.logError).toBeCloseTo(HAND.logError, 14);
    expect(p.zSd).toBeCloseTo(HAND.zSd, 12);
    expect(p.zCi).toBeCloseTo(HAND.zCi, 12);
    expect(p.zCi).toBeCloseTo(0.13826, 5);
    expect(p.diff).toBeCloseTo(0.02, 14);
  });

  it('agrees within the tolerance, or within the seed interval; disagrees when neither holds', () => {
    // |ln ratio| = 0.01325 > ln 1.01 = 0.00995, but |zCi| = 0.138 ≤ 1: inside the 95% interval.
    const tight = compareRecords(handMade(), { tolerance: 0.01 });
    expect(tight.pairs[0].withinTolerance).toBe(false);
    expect(tight.pairs[0].agree).toBe(true);
    const noSpread = compareRecords(handMade(), { tolerance: 0.01, spreadLevel: 0 });
    expect(noSpread.pairs[0].agree).toBe(false);
    expect(noSpread.summary[0].verdict).toBe('disagree');
    const loose = compareRecords(handMade(), { tolerance: 0.014, spreadLevel: 0 });
    expect(loose.pairs[0].withinTolerance).toBe(true);
    expect(loose.summary[0].verdict).toBe('agree');
    // Per-quantity tolerance map.
    expect(compareRecords(handMade(), { tolerance: { growth: 0.014, '*': 0 }, spreadLevel: 0 }).summary[0].verdict).toBe('agree');
  });

  it('the one agreement rule: the tolerance and the seed band add (neither alone is enough here)', () => {
    // Hand calculation: |Δ| = 0.02 above the reference 1.5, so the log band ln(1.004) is the distance
    // 0.004·1.5 = 0.006; the seed band is spreadLevel × the 95% half-width 3.182·sd/2 = 0.14466
    // (t_{0.975, 3} from a printed table). At spreadLevel 0.1: 0.006 + 0.014466 = 0.020466 ≥ 0.02
    // (agrees, though |zCi| = 0.138 > 0.1 and the ratio is outside the tolerance); at 0.09:
    // 0.006 + 0.013019 = 0.019019 < 0.02 (not agreeing: inconclusive, as the band exceeds the tolerance).
    const at = (spreadLevel: number) => compareRecords(handMade(), { tolerance: 0.004, spreadLevel }).pairs[0];
    expect(at(0.1).withinTolerance).toBe(false);
    expect(Math.abs(at(0.1).zCi!)).toBeGreaterThan(0.1);
    expect(at(0.1).agree).toBe(true);
    expect(at(0.09).agree).toBe(false);
    // the flag is agreement() on the values, with the half-width as the unit and z = spreadLevel
    const p = at(0.1);
    const half = Math.hypot(p.ref.half ?? 0, p.meas.half ?? 0);
    expect(half).toBeCloseTo((3.182 * HAND.sd) / 2, 3);
    expectAgrees(p.ref.value, p.meas.value, { relTol: 0.004, se: half, z: 0.1 }, 'sampled growth');
    expect(agreement(p.ref.value, p.meas.value, { relTol: 0.004, se: half, z: 0.09 }).verdict).toBe('inconclusive');
  });

  it('below the reference the tolerance is the log band: |Δ| ≤ t·|r|/(1 + t)', () => {
    // r = 2, t = 0.25: the band is [2/1.25, 2·1.25] = [1.6, 2.5]; 1.61 agrees, 1.59 does not (no seed band)
    const pair = (m: number) =>
      compareRecords([record(f, 'theory', 'growth', null, 2), record(f, 'sampled', 'growth', null, m, { seed: 1 })], { tolerance: 0.25 })
        .pairs[0];
    expect([pair(1.61).agree, pair(1.59).agree, pair(2.49).agree, pair(2.51).agree]).toEqual([true, false, true, false]);
    for (const m of [1.59, 1.61, 2.49, 2.51]) expect(pair(m).agree).toBe(pair(m).withinTolerance);
  });

  it('log quantities: the error is the difference; an aggregate record gives its own 95% interval', () => {
    const recs = [
      record(f, 'theory', 'log_grad_h_sq', 1, 3.0),
      record(f, 'sampled', 'log_grad_h_sq', 1, 2.9, { sd: 0.2, lo: 2.8, hi: 3.0, n: 16 }),
    ];
    const p = compareRecords(recs).pairs[0];
    expect(p.logError).toBeCloseTo(-0.1, 14);
    expect(p.ratio).toBeCloseTo(Math.exp(-0.1), 14);
    expect(p.zCi).toBeCloseTo(-1, 12); // half-width (3.0 − 2.8)/2 = 0.1
    expect(p.zSd).toBeCloseTo(-0.5, 12);
    expect(p.agree).toBe(true);
  });

  it('aggregate with sd and n but no interval: half-width t_{0.975, n−1}·sd/√n', () => {
    // t_{0.975, 24} = 2.064 and t_{0.975, 1} = 12.706 (a printed table)
    const recs = [record(f, 'theory', 'growth', null, 1.5), record(f, 'sampled', 'growth', null, 1.6, { sd: 0.2, n: 25 })];
    expect(compareRecords(recs).pairs[0].zCi).toBeCloseTo(0.1 / ((2.064 * 0.2) / 5), 12);
    const two = [record(f, 'theory', 'growth', null, 1.5), record(f, 'sampled', 'growth', null, 1.6, { sd: 0.2, n: 2 })];
    expect(compareRecords(two).pairs[0].zCi).toBeCloseTo(0.1 / ((12.706 * 0.2) / Math.SQRT2), 12);
  });

  it('theory at initialization (step null) pairs with trained step 0 only; the summary counts per quantity', () => {
    const recs: SPRecord[] = [];
    for (let l = 1; l <= 3; l++) {
      recs.push(record(f, 'theory', 'grad_growth', l, 1.5));
      for (const step of [0, 5]) recs.push(record(f, 'trained', 'grad_growth', l, l === 3 ? 2 : 1.5, { seed: 1, step }));
    }
    const r = compareRecords(recs, { minAgreeFraction: 0.95 });
    expect(r.pairs.map((p) => p.step)).toEqual([0, 0, 0]);
    expect(r.summary).toHaveLength(1);
    expect(r.summary[0]).toMatchObject({ quantity: 'grad_growth', nPairs: 3, nAgree: 2, verdict: 'disagree' });
    expect(r.summary[0].fracAgree).toBeCloseTo(2 / 3, 14);
    expect(r.summary[0].maxAbsLogError).toBeCloseTo(Math.log(2 / 1.5), 14);
    expect(compareRecords(recs, { minAgreeFraction: 0.6 }).summary[0].verdict).toBe('agree');
    expect(compareRecords(recs, { nullStepIsInit: false }).pairs).toHaveLength(0);
  });

  it('joins on chosen spec fields, and splits by tags; an ambiguous join is an error naming the fix', () => {
    const limit = specFields(makeSpec({ depth: 4, width: 16, batch: null }));
    const recs = [record(limit, 'theory', 'growth', null, 1.4669), record(f, 'sampled', 'growth', null, 1.47, { seed: 1 })];
    expect(compareRecords(recs).pairs).toHaveLength(0); // different specIds
    expect(compareRecords(recs, { joinOn: ['activation', 'order'] }).pairs).toHaveLength(1);

    const trained = ['sgd', 'lars'].map((o, i) => record(f, 'trained', 'loss', null, 1 + i, { seed: 1, step: 0, tags: { optimizer: o } }));
    const withSampled = [...trained, record(f, 'sampled', 'loss', null, 1.5, { seed: 1 })];
    expect(() => compareRecords(withSampled)).toThrow(RecordsError);
    expect(() => compareRecords(withSampled)).toThrow(/ambiguous join.*by/);
    const split = compareRecords(withSampled, { by: ['optimizer'] });
    expect(split.pairs.map((p) => [p.tags.optimizer, p.ratio])).toEqual([
      ['sgd', 1 / 1.5],
      ['lars', 2 / 1.5],
    ]);
  });

  it('joins only records of the same data and loss; says what was not joined and why', () => {
    const sampled = (q: Quantity, l: number | null, v: number, loss: string) =>
      record(f, 'sampled', q, l, v, { seed: 1, tags: { loss, inputCorrelation: 0 } });
    const trained = (q: Quantity, l: number | null, v: number, data: string, loss: string) =>
      record(f, 'trained', q, l, v, { step: 0, seed: 1, tags: { data, loss, optimizer: 'sgd' } });
    const recs = [
      sampled('grad_growth', 2, 1.5, 'readout'),
      sampled('corr', 2, 0.3, 'readout'),
      trained('grad_growth', 2, 1.1, 'mnist', 'xent'), // other data: never joined
      trained('corr', 2, 0.6, 'mnist', 'xent'),
      trained('grad_growth', 3, 1.4, 'synthetic', 'xent'), // Gaussian inputs, other loss: gradients not joined
      trained('corr', 3, 0.31, 'synthetic', 'xent'), // a forward quantity: joined across losses
      sampled('corr', 3, 0.3, 'readout'),
      sampled('grad_growth', 3, 1.5, 'readout'),
      record(f, 'theory', 'grad_growth', 2, 1.52), // theory has no data or loss: pairs with both
    ];
    const r = compareRecords(recs);
    const key = (p: (typeof r.pairs)[number]) => `${p.reference}-${p.measured}:${p.quantity}@${p.layer}`;
    expect(r.pairs.map(key).sort()).toEqual(['sampled-trained:corr@3', 'theory-sampled:grad_growth@2', 'theory-trained:grad_growth@2']);
    expect(r.notJoined).toEqual([
      { reference: 'sampled', measured: 'trained', quantity: 'corr', reason: 'data gaussian vs mnist', count: 1 },
      { reference: 'sampled', measured: 'trained', quantity: 'grad_growth', reason: 'data gaussian vs mnist', count: 1 },
      { reference: 'sampled', measured: 'trained', quantity: 'grad_growth', reason: 'loss readout vs xent', count: 1 },
    ]);
    // two sampled losses of one spec are two groups, not an ambiguous join
    const two = compareRecords([
      record(f, 'theory', 'grad_growth', 2, 1.5),
      sampled('grad_growth', 2, 1.5, 'readout'),
      sampled('grad_growth', 2, 1.6, 'mse'),
    ]);
    expect(two.pairs.map((p) => p.meas.value).sort()).toEqual([1.5, 1.6]);
  });

  it('rejects bad options with the option, the value and what is allowed', () => {
    expect(() => compareRecords(handMade(), { tolerance: -1 })).toThrow(/tolerance: -1 is not allowed; expected a finite number >= 0/);
    expect(() => compareRecords(handMade(), { minAgreeFraction: 2 })).toThrow(/minAgreeFraction: 2/);
  });

  test.prop([
    fc.double({ min: 1e-6, max: 1e6, noNaN: true }),
    fc.double({ min: 1e-6, max: 1e6, noNaN: true }),
    fc.double({ min: 0, max: 1, noNaN: true }),
  ])('ratio·reference = measured, log error = ln ratio, antisymmetric; tolerance test is |ln ratio| ≤ ln(1+tol)', (a, b, tol) => {
    const A = { value: a, sd: null, half: null, n: 1 };
    const B = { value: b, sd: null, half: null, n: 1 };
    const e = pairErrors('growth', A, B, tol, 1);
    const back = pairErrors('growth', B, A, tol, 1);
    expect(e.ratio! * a).toBeCloseTo(b, Math.max(0, 6 - Math.ceil(Math.log10(b + 1))));
    expect(Math.abs(e.logError! - Math.log(b / a))).toBeLessThan(1e-12);
    expect(Math.abs(e.logError! + back.logError!)).toBeLessThan(1e-12);
    expect(e.withinTolerance).toBe(Math.abs(Math.log(b / a)) <= Math.log1p(tol));
    expect(e.zCi).toBeNull();
  });

  it('tables: text, CSV (quoted tags), one row per summary entry', () => {
    const r = compareRecords(handMade());
    const text = formatSummaryTable(r.summary);
    expect(text.split('\n')[0]).toMatch(/^quantity\s+reference\s+measured/);
    expect(text).toMatch(/growth\s+theory\s+sampled\s+1\s+1\s+1/);
    const csv = summaryToCsv(r.summary).trim().split('\n');
    expect(csv).toHaveLength(2);
    expect(csv[1].split(',')[0]).toBe('growth');
    const tagged = compareRecords(
      [record(f, 'theory', 'loss', null, 1), record(f, 'trained', 'loss', null, 2, { seed: 1, step: 0, tags: { optimizer: 'sgd' } })],
      { by: ['optimizer'] },
    );
    expect(pairsToCsv(tagged.pairs)).toContain('"{""optimizer"":""sgd""}"');
  });
});

describe('loadRecords', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sp-load-'));
  const recs = handMade();

  it('reads a JSON array, an object with records, JSON lines (a torn last line skipped) and run directories', () => {
    writeFileSync(join(dir, 'a.json'), JSON.stringify(recs));
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ records: recs.slice(0, 2) }));
    writeFileSync(join(dir, 'c.jsonl'), `${recs.map((r) => JSON.stringify(r)).join('\n')}\n{"source":"sam`);
    const run = join(dir, 'sweep', 'run-1');
    mkdirSync(run, { recursive: true });
    writeFileSync(join(run, 'records.jsonl'), `${JSON.stringify({ ...recs[1], source: 'trained', step: 3, value: null })}\n`);
    writeFileSync(join(run, 'manifest.json'), JSON.stringify({ id: 'r1', optimizer: { name: 'lars' }, status: 'diverged' }));
    expect(loadRecords([join(dir, 'a.json')])).toEqual(recs);
    expect(loadRecords([join(dir, 'b.json')])).toHaveLength(2);
    // the torn line is skipped with a note naming the file and line, not silently
    const err = process.stderr.write.bind(process.stderr);
    let note = '';
    process.stderr.write = ((m: string) => {
      note += m;
      return true;
    }) as typeof process.stderr.write;
    try {
      expect(loadRecords([join(dir, 'c.jsonl')])).toEqual(recs);
    } finally {
      process.stderr.write = err;
    }
    expect(note).toBe(
      `note: ${join(dir, 'c.jsonl')}:${recs.length + 1}: skipped a torn last line (14 characters; a run interrupted mid-write?)\n`,
    );
    const fromDir = loadRecords([join(dir, 'sweep')]);
    expect(fromDir).toHaveLength(1);
    expect(fromDir[0].value).toBeNaN(); // null value (a diverged loss) reads as NaN
    expect(fromDir[0].tags).toEqual({ run: 'r1', optimizer: 'lars', status: 'diverged' });
  });

  it('bad input names the file, the line, the field, the value and what is allowed', () => {
    writeFileSync(
      join(dir, 'bad.jsonl'),
      `${JSON.stringify(recs[0])}\n${JSON.stringify({ ...recs[0], source: 'measured' })}\n${JSON.stringify(recs[0])}\n`,
    );
    expect(() => loadRecords([join(dir, 'bad.jsonl')])).toThrow(
      /bad\.jsonl:2: source "measured" is not allowed; expected theory \| sampled \| trained/,
    );
    writeFileSync(join(dir, 'bad2.json'), JSON.stringify([{ ...recs[0], value: 'x' }]));
    expect(() => loadRecords([join(dir, 'bad2.json')])).toThrow(/bad2\.json\[0\]: value "x" is not allowed; expected a number/);
    expect(() => loadRecords([join(dir, 'nope.json')])).toThrow(/nope\.json: no such file or directory/);
    mkdirSync(join(dir, 'empty'), { recursive: true });
    expect(() => loadRecords([join(dir, 'empty')])).toThrow(/no records\.jsonl or records\.json/);
    expect(() => loadRecords([])).toThrow(/no input/);
  });
});
