// Records name their generator (`rng`, next to the seed); a record file written before it was named has no
// such field, still loads, and reads as MT19937 (docs/random.md, docs/records.md).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRecords } from '../../src/compare/load.js';
import { makeSpec, recordedRng, specFields } from '../../src/network/index.js';
import { record } from '../../src/records/index.js';
import { sampleNetwork } from '../../src/sample/index.js';

const dir = mkdtempSync(join(tmpdir(), 'signalprop-rng-records-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the rng field of records', () => {
  const spec = makeSpec({ depth: 3, width: 8, batch: 4 });
  it('an old record file (no rng) loads and means mt19937; a new one carries it next to the seed', () => {
    const f = specFields(spec);
    const old = record(f, 'sampled', 'growth', null, 1.4, { seed: 1, tags: { loss: 'readout' } });
    expect('rng' in old).toBe(false);
    const now = record(f, 'sampled', 'growth', null, 1.4, { seed: 1, rng: 'philox4x32-10', tags: { loss: 'readout' } });
    expect(Object.keys(now).slice(0, 7)).toEqual(['source', 'quantity', 'layer', 'step', 'seed', 'rng', 'value']);
    const p = join(dir, 'records.jsonl');
    writeFileSync(p, `${JSON.stringify(old)}\n${JSON.stringify(now)}\n`);
    const [a, b] = loadRecords([p]);
    expect(recordedRng(a)).toBe('mt19937');
    expect(recordedRng(b)).toBe('philox4x32-10');
  });
  it('sampleNetwork writes its generator into every record, Philox by default; mt19937 draws other networks', async () => {
    const ph = await sampleNetwork(spec, { seeds: 2, threads: 1, predictedGrowth: null });
    const mt = await sampleNetwork(spec, { seeds: 2, threads: 1, predictedGrowth: null, rng: 'mt19937' });
    expect(ph.rng).toBe('philox4x32-10');
    expect(ph.records.every((r) => r.rng === 'philox4x32-10')).toBe(true);
    expect(mt.records.every((r) => r.rng === 'mt19937')).toBe(true);
    const loss = (r: typeof ph) => r.records.find((x) => x.quantity === 'loss' && x.seed === 1)!.value;
    expect(loss(mt)).not.toBe(loss(ph));
    await expect(sampleNetwork(spec, { seeds: 1, rng: 'xorshift' as never })).rejects.toThrow(/rng: "xorshift" is not allowed/);
  });
});
