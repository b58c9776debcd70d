// The page's records reader against src/compare/load.ts (the reader the CLI uses) on the same files, and the
// overlays drawn from real sampled records: the measured depth series is the sampler's own log_grad_h_sq, a
// trained run's grad_h_sq normalised to the last block gives the same numbers, growth lands at its batch size,
// and the sampled singular values' histogram keeps the atom at zero apart (near the theory's zero mass).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadRecords } from '../../src/compare/index.js';
import { overlaysOf, ZERO_SV } from '../../src/explore/page/overlay.js';
import { manifestTags, parseRecordsText, recordsToJsonl } from '../../src/explore/page/records.js';
import { makeSpec, specFields } from '../../src/network/index.js';
import { record, type SPRecord } from '../../src/records/index.js';
import { jacobianSpectrum, sampleNetwork, spectrumRecords } from '../../src/sample/index.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sp-explore-rec-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const f = specFields(makeSpec({ depth: 3, width: 8, batch: 4 }));
const recs: SPRecord[] = [
  record(f, 'theory', 'growth', null, 1.5),
  record(f, 'sampled', 'growth', null, Number.NaN, { seed: 1, tags: { loss: 'readout' } }),
  record(f, 'sampled', 'growth', null, Number.POSITIVE_INFINITY, { seed: 2 }),
  record(f, 'sampled', 'log_grad_h_sq', 2, -0.25, { sd: 0.1, lo: -0.4, hi: -0.1, n: 3 }),
];

describe('the page reads records as load.ts does', () => {
  const cases: [string, string][] = [
    ['a.jsonl', recordsToJsonl(recs)],
    ['b.json', JSON.stringify(recs.map((r) => ({ ...r, value: Number.isFinite(r.value) ? r.value : String(r.value) })))],
    ['c.json', JSON.stringify({ records: [recs[0], recs[3]] })],
    ['torn.jsonl', `${recordsToJsonl(recs.slice(0, 2))}{"source":"sam`],
    ['bom.jsonl', `\ufeff${recordsToJsonl([recs[0]])}`],
  ];
  test.each(cases)('%s: the same records', (name, text) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    const node = loadRecords([p]);
    const page = parseRecordsText(text, name);
    expect(page.records).toEqual(node);
    expect(page.notes.length).toBe(name.startsWith('torn') ? 1 : 0);
  });

  const bad: [string, string, string[]][] = [
    ['value.jsonl', JSON.stringify({ ...recs[0], value: 'x' }), ['value', '"x"']],
    ['typo.jsonl', JSON.stringify({ ...recs[0], depht: 3 }), ['depht', 'did you mean "depth"']],
    ['source.jsonl', JSON.stringify({ ...recs[0], source: 'measured' }), ['source', '"measured"', 'theory | sampled | trained']],
    ['layer.jsonl', JSON.stringify({ ...recs[0], layer: '2' }), ['layer', '"2"']],
    ['notarray.json', '{"x": 1}', ['expected a JSON array']],
    ['mid.jsonl', `{"a"\n${JSON.stringify(recs[0])}\n`, ['mid.jsonl:1', 'not valid JSON']],
  ];
  test.each(bad)('%s: both refuse it, naming the field and value', (name, text, want) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    expect(() => loadRecords([p])).toThrow();
    let msg = '';
    try {
      parseRecordsText(text, name);
    } catch (e) {
      msg = (e as Error).message;
    }
    for (const w of want) expect(msg).toContain(w);
  });

  test('a run directory’s manifest gives the labels load.ts gives', () => {
    const run = join(dir, 'run1');
    const manifest = JSON.stringify({ id: 'r-42', optimizer: { kind: 'sgd' }, status: 'done' });
    rmSync(run, { recursive: true, force: true });
    mkdirSync(run, { recursive: true });
    writeFileSync(join(run, 'records.jsonl'), recordsToJsonl([recs[0]]));
    writeFileSync(join(run, 'manifest.json'), manifest);
    expect(loadRecords([run])[0].tags).toEqual(manifestTags(manifest, 'run1'));
    expect(loadRecords([join(dir, 'a.jsonl')])[0].tags).toBeUndefined();
    expect(manifestTags(null, 'run1')).toEqual({ run: 'run1' });
  });
});

describe('overlays from sampled records', () => {
  test('the depth series is the sampler’s log_grad_h_sq; trained grad_h_sq normalised gives the same', async () => {
    const spec = makeSpec({ depth: 6, width: 32, batch: 8 });
    const s = await sampleNetwork(spec, { seeds: 1, threads: 1 });
    const o = overlaysOf(s.records);
    const want = s.records.filter((r) => r.quantity === 'log_grad_h_sq' && r.seed === null).map((r) => [r.layer, r.value]);
    expect(want.length).toBe(6);
    expect(o.depth.map((p) => [p.layer, p.value])).toEqual(want);
    // the same net as a trained run: only grad_h_sq, at steps 0 and 5 (the first is drawn)
    const trained = s.records
      .filter((r) => r.quantity === 'grad_h_sq' && r.seed !== null)
      .flatMap((r) => [0, 5].map((step) => ({ ...r, source: 'trained' as const, step, value: step === 0 ? r.value : r.value * 7 })));
    const t = overlaysOf(trained);
    expect(t.depth.map((p) => p.layer)).toEqual(want.map((w) => w[0]));
    for (const [i, p] of t.depth.entries()) expect(p.value).toBeCloseTo(want[i][1] as number, 9);
    expect(t.notes.join(' ')).toContain('the first (0) is drawn');
    // measured growth at its batch size, the across-seed summary
    const g = s.records.find((r) => r.quantity === 'growth' && r.seed === null)!;
    expect(o.batch).toEqual([expect.objectContaining({ batch: 8, value: g.value, lo: g.lo, hi: g.hi })]);
  });

  test('sampled singular values: the atom at zero apart, the bins carry the rest of the mass', () => {
    const spec = makeSpec({ order: 'linear-act', depth: 3, width: 48, batch: 4 });
    const r = jacobianSpectrum(spec, { seeds: 2 });
    const o = overlaysOf(spectrumRecords(spec, r));
    const [series] = Object.keys(o.zeroFraction);
    const zero = o.zeroFraction[series];
    const mass = o.spectrum.reduce((a, b) => a + b.density * (b.sv1 - b.sv0), 0);
    expect(mass).toBeCloseTo(1 - zero, 12);
    // ReLU: the theory's atom at zero is 1/2; 48 units per layer, a rank of about half of them
    expect(Math.abs(zero - r.theory.zeroMass)).toBeLessThan(0.15);
    expect(Math.min(...o.spectrum.map((b) => b.sv0))).toBe(0);
    expect(ZERO_SV).toBeLessThan(1e-6);
  });
});
