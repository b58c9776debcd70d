// The generator of a run (docs/random.md): Philox4x32-10 by default for every seeded draw of a run (weights,
// inputs, targets, data order), 'mt19937' selectable; manifests and records name it; a manifest written before
// it was named (no rng) means 'mt19937', resumes with it and is refused with another generator.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_RNG,
  philox4x32,
  philoxKey,
  philoxUniformStream,
  recordedRng,
  uniformStream,
  uniformStreamOf,
} from '../../src/network/index.js';
import { permutation } from '../../src/train/data/index.js';
import { permutationOf } from '../../src/train/data/memory.js';
import { type TrainConfig, trainRun } from '../../src/train/index.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'signalprop-rng-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('the Philox uniform stream (data order, labels)', () => {
  it('element i is word i mod 4 of the block floor(i/4), (w + 1/2)·2^-32, across its 64-element refills', () => {
    const u = philoxUniformStream(7, 'shuffle', 3);
    const key = philoxKey(7, 'shuffle', 3);
    for (let i = 0; i < 200; i++) {
      // the block straight from the round function (checked against Random123's known answers in test/network)
      const w = philox4x32([Math.floor(i / 4), 0, 0, 0], key)[i % 4];
      expect(u()).toBe((w + 0.5) * 2 ** -32);
    }
  });
  it('uniformStreamOf picks the generator; mt19937 is stdlib’s stream of deriveSeed', () => {
    const a = uniformStreamOf('mt19937', 4, 'x');
    const b = uniformStream(4, 'x');
    for (let i = 0; i < 10; i++) expect(a()).toBe(b());
    const p = uniformStreamOf('philox4x32-10', 4, 'x');
    const q = philoxUniformStream(4, 'x');
    for (let i = 0; i < 10; i++) expect(p()).toBe(q());
    expect(DEFAULT_RNG).toBe('philox4x32-10');
  });
  it('Fisher–Yates on it gives uniform permutations: each of 4 items first equally often', () => {
    // 8000 permutations of 4 (one stream each): the count of each first item is Binomial(8000, 1/4),
    // sd √(8000·3/16) = 38.7; 5 sd either side (two-sided 5.7e-7 per count)
    const n = 8000;
    const first = [0, 0, 0, 0];
    for (let k = 0; k < n; k++) first[permutationOf('philox4x32-10', 4, 11, 'perm-test', k)[0]]++;
    const sd = Math.sqrt((n * 3) / 16);
    for (const c of first) expect(Math.abs(c - n / 4)).toBeLessThan(5 * sd);
    // and it is a permutation, other than MT19937's, and permutation() is the default generator's
    const p = permutationOf('philox4x32-10', 50, 3, 'split');
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect([...p]).not.toEqual([...permutationOf('mt19937', 50, 3, 'split')]);
    expect([...permutation(50, 3, 'split')]).toEqual([...p]);
  });
});

describe('records and manifests name the generator', () => {
  it('recordedRng: absent means mt19937 (files written before the switch); a bad value is refused naming the field', () => {
    expect(recordedRng({})).toBe('mt19937');
    expect(recordedRng({ rng: null })).toBe('mt19937');
    expect(recordedRng({ rng: 'philox4x32-10' })).toBe('philox4x32-10');
    expect(() => recordedRng({ rng: 'pcg64' })).toThrow(/rng: "pcg64" is not allowed; expected 'philox4x32-10' or 'mt19937'/);
  });

  const TINY: TrainConfig = {
    spec: { depth: 3, width: 12, batch: 8 },
    data: { kind: 'synthetic', nTest: 16 },
    steps: 8,
    seed: 3,
    probe: { dense: 2 },
    checkpointEvery: 4,
  };

  it('a run writes rng into its manifest and records; mt19937 draws another network', async () => {
    const dir = tmp();
    const a = await trainRun(TINY, { runDir: dir });
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(m.config.rng).toBe('philox4x32-10');
    expect(a.records.every((r) => r.rng === 'philox4x32-10')).toBe(true);
    const b = await trainRun({ ...TINY, rng: 'mt19937' });
    expect(b.records.every((r) => r.rng === 'mt19937')).toBe(true);
    const loss = (rs: typeof a.records) => rs.find((r) => r.quantity === 'loss' && r.step === 0)!.value;
    expect(loss(b.records)).not.toBe(loss(a.records));
    await expect(trainRun({ ...TINY, rng: 'pcg' as never })).rejects.toThrow(
      /rng: "pcg" is not allowed; expected 'philox4x32-10' or 'mt19937'/,
    );
  });

  it('an old manifest (no rng) resumes with mt19937, to the records of an uninterrupted mt19937 run, and refuses Philox', async () => {
    const mt = { ...TINY, rng: 'mt19937' as const };
    const whole = await trainRun(mt, { runDir: tmp() });
    const cut = tmp();
    await expect(
      trainRun(mt, {
        runDir: cut,
        onProgress: (step) => {
          if (step === 6) throw new Error('interrupted');
        },
      }),
    ).rejects.toThrow('interrupted');
    // make it a manifest of before the switch: no rng in its config
    const mp = join(cut, 'manifest.json');
    const m = JSON.parse(readFileSync(mp, 'utf8'));
    delete m.config.rng;
    writeFileSync(mp, JSON.stringify(m, null, 1));
    await expect(trainRun(TINY, { runDir: cut, resume: true })).rejects.toThrow(
      /^rng: "philox4x32-10" is not allowed; expected the generator of the run being resumed in .* \('mt19937'; pass --rng mt19937 to resume it\)$/,
    );
    const resumed = await trainRun(mt, { runDir: cut, resume: true });
    expect(JSON.stringify(resumed.records)).toBe(JSON.stringify(whole.records));
  });
});
