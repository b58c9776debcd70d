import { fc, test as fcTest } from '@fast-check/vitest';
import { beforeAll, describe, expect, test } from 'vitest';
import { makeSpec, specToJSON, stableHash } from '../../src/network/index.js';
import { expandSweep, parseSweep, redactUrl, SweepError } from '../../src/sweep/index.js';
import { redisConnection } from '../../src/sweep/redis.js';
import { useFixtureKind } from './helpers.js';

beforeAll(useFixtureKind);

async function expectSweepError(raw: unknown, field: string, ...allowed: string[]) {
  try {
    await expandSweep(await parseSweep(raw));
    expect.unreachable(`expected a SweepError for ${field}`);
  } catch (e) {
    expect(e).toBeInstanceOf(SweepError);
    expect((e as SweepError).field).toBe(field);
    expect((e as Error).message.startsWith(`${field}: `)).toBe(true);
    for (const a of allowed) expect((e as Error).message).toContain(a);
  }
}

describe('sweep validation names the field, the value and what is allowed', () => {
  const ok = { kind: 'predict', base: { depth: 4, width: 8 } };
  test.each([
    [{ ...ok, kind: 'simulate' }, 'kind', 'predict | sample | train'],
    [{ ...ok, colour: 1 }, 'colour', 'a known field'],
    [{ ...ok, base: { depth: -1 } }, 'base.depth', 'an integer from 1'],
    [{ ...ok, base: { bn: { eps: -1 } } }, 'base.bn.eps', '>= 0'],
    [{ ...ok, axes: { depth: [2, 0] } }, 'axes.depth[1] → depth', '0 is not allowed', 'an integer from 1'],
    [{ ...ok, axes: { 'bn.eps': [1e-5, 'small'] } }, 'axes.bn.eps[1] → bn.eps', '"small"'],
    [{ ...ok, axes: { activation: ['relu', 'swish'] } }, 'axes.activation[1] → activation', 'leaky-relu'],
    [{ ...ok, axes: { depth: [] } }, 'axes.depth', 'a non-empty list'],
    [{ ...ok, axes: { depth: [2, 2] } }, 'axes.depth[1]', 'distinct values'],
    [{ ...ok, axes: { 'optimizer.name': ['sgd'] } }, 'axes.optimizer.name', 'kind predict takes no options'],
    [{ ...ok, axes: { seed: [1, 2] } }, 'axes.seed', 'top-level "seeds"'],
    [{ ...ok, axes: { bn: [{ eps: 1 }], 'bn.eps': [1e-3] } }, 'axes.bn.eps', 'overlaps axes.bn'],
    [{ ...ok, seeds: 0 }, 'seeds', 'a count from 1'],
    [{ ...ok, seeds: [1, 1.5] }, 'seeds[1]', 'an integer from 1 to 2147483647'],
    [{ ...ok, seeds: [3, 3] }, 'seeds[1]', 'distinct'],
    [{ ...ok, name: 'a b' }, 'name', 'letters, digits'],
    [{ ...ok, options: { loss: 'mse' } }, 'options.loss', 'kind predict takes no options'],
    [{ kind: 'sample', base: { depth: 4, width: 8, batch: null } }, 'base.batch', 'finite batch'],
    [
      { kind: 'sample', base: { depth: 4, width: 8 }, options: { loss: 'hinge' } },
      'options.loss',
      'readout | projection | mse | xent',
      "or null for the sampler's default",
    ],
    [
      { kind: 'sample', base: { depth: 4, width: 8 }, axes: { inputCorrelation: [0, 1] } },
      'axes.inputCorrelation[1] → inputCorrelation',
      'in [0, 1)',
    ],
    // A combination that no single axis value breaks: widths of length 3 against depth 2.
    [{ ...ok, base: { width: [8, 8, 8], depth: 3 }, axes: { depth: [3, 2] } }, 'axes.depth[1] → width', 'length depth = 2'],
  ])('%j', async (raw, field, ...allowed) => {
    await expectSweepError(raw, field, ...(allowed as string[]));
  });

  test('a combination of valid axis values that is invalid names the cell', async () => {
    // Each value is valid against the base (depth 3, width 8); widths [8,8,8] with depth 2 are not.
    const raw = { kind: 'predict', base: { depth: 3, width: 8 }, axes: { width: [8, [8, 8, 8]], depth: [3, 2] } };
    await expectSweepError(raw, 'cell (width=[8,8,8], depth=2, seed=1) → width', 'length depth = 2');
  });
});

describe('expansion into cells', () => {
  const depths = fc.uniqueArray(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 4 });
  const batches = fc.uniqueArray(fc.integer({ min: 2, max: 256 }), { minLength: 1, maxLength: 4 });
  const epss = fc.uniqueArray(fc.constantFrom(0, 1e-5, 1e-3, 0.1), { minLength: 1, maxLength: 3 });
  const seeds = fc.uniqueArray(fc.integer({ min: 1, max: 2 ** 31 - 1 }), { minLength: 1, maxLength: 3 });

  fcTest.prop([depths, batches, epss, seeds], { numRuns: 30 })(
    'cells are the product of the axes and seeds, with ids of their full configuration',
    async (ds, bs, es, ss) => {
      const base = { width: 16, order: 'linear-bn-act' as const, init: { sigmaW2: 2 } };
      const sweep = await parseSweep({
        kind: 'fixture',
        base,
        options: { sleepMs: 0 },
        axes: { depth: ds, batch: bs, 'bn.eps': es },
        seeds: ss,
      });
      const cells = await expandSweep(sweep);
      expect(cells.length).toBe(ds.length * bs.length * es.length * ss.length);
      // Every (depth, batch, eps, seed) appears exactly once; the id is recomputed independently here.
      const expected = new Map<string, string>();
      for (const depth of ds)
        for (const batch of bs)
          for (const eps of es)
            for (const seed of ss) {
              const spec = specToJSON(makeSpec({ ...base, depth, batch, bn: { eps } }));
              const id = stableHash({
                v: 1,
                kind: 'fixture',
                spec,
                options: { sleepMs: 0, failDepth: null, failFile: null, markFile: null, endFile: null },
                seed,
              });
              expected.set(id, JSON.stringify([depth, batch, eps, seed]));
            }
      expect(new Set(cells.map((c) => c.id)).size).toBe(cells.length);
      for (const c of cells) {
        expect(expected.get(c.id)).toBe(JSON.stringify([c.axes.depth, c.axes.batch, c.axes['bn.eps'], c.seed]));
        expect([c.spec.depth, c.spec.batch, (c.spec.bn as any).eps]).toEqual([c.axes.depth, c.axes.batch, c.axes['bn.eps']]);
      }
      // Reordering the axes or renaming the sweep leaves the ids unchanged.
      const again = await expandSweep(
        await parseSweep({
          name: 'other',
          kind: 'fixture',
          base,
          options: { sleepMs: 0 },
          axes: { 'bn.eps': es, batch: bs, depth: ds },
          seeds: ss,
        }),
      );
      expect(new Set(again.map((c) => c.id))).toEqual(new Set(cells.map((c) => c.id)));
    },
  );

  test('an axis value equal to the default gives the same id as leaving it out', async () => {
    const [a] = await expandSweep(await parseSweep({ kind: 'predict', base: { depth: 3, width: 8 } }));
    const [b] = await expandSweep(await parseSweep({ kind: 'predict', base: { depth: 3, width: 8, bn: { eps: 1e-5 } } }));
    expect(a.id).toBe(b.id);
    const [c] = await expandSweep(await parseSweep({ kind: 'predict', base: { depth: 3, width: 8, bn: { eps: 1e-4 } } }));
    expect(c.id).not.toBe(a.id);
  });

  test('options paths reach nested options; seeds as a count mean 1..K', async () => {
    const cells = await expandSweep(
      await parseSweep({ kind: 'sample', base: { depth: 3, width: 8, batch: 4 }, axes: { loss: ['readout', 'mse'] }, seeds: 3 }),
    );
    expect(cells.map((c) => [c.options.loss, c.seed])).toEqual([
      ['readout', 1],
      ['readout', 2],
      ['readout', 3],
      ['mse', 1],
      ['mse', 2],
      ['mse', 3],
    ]);
    // rng is always resolved (part of the cell id): the default generator, Philox4x32-10
    expect(cells[0].options).toEqual({ seedsPerCell: 1, loss: 'readout', inputCorrelation: 0, rng: 'philox4x32-10' });
  });
  test('rng: another generator is another cell; a bad name is refused naming the option', async () => {
    const sweep = (rng?: string) => ({ kind: 'sample', base: { depth: 3, width: 8, batch: 4 }, options: rng ? { rng } : {}, seeds: 1 });
    const [ph] = await expandSweep(await parseSweep(sweep()));
    const [ph2] = await expandSweep(await parseSweep(sweep('philox4x32-10')));
    const [mt] = await expandSweep(await parseSweep(sweep('mt19937')));
    expect(ph2.id).toBe(ph.id);
    expect(mt.id).not.toBe(ph.id);
    expect(mt.options.rng).toBe('mt19937');
    await expectSweepError(sweep('pcg64'), 'options.rng', "'philox4x32-10' or 'mt19937'");
  });
});

describe('--redis URLs', () => {
  test.each([
    ['http://127.0.0.1:6379', 'the scheme redis:// or rediss://'],
    ['redis://', 'expected a host'],
    ['127.0.0.1:6379', 'expected a URL redis://[:password@]host[:port][/db]'],
    ['redis://127.0.0.1:6379/x', 'a database number'],
  ])('%s is refused, naming --redis and what is allowed', (url, allowed) => {
    expect(() => redisConnection(url)).toThrow(/^--redis: /);
    expect(() => redisConnection(url)).toThrow(allowed);
  });
  test('good URLs pass; passwords never appear in messages', () => {
    expect(redisConnection('redis://:pw@10.0.0.5:6379/2')).toEqual({ url: 'redis://:pw@10.0.0.5:6379/2', maxRetriesPerRequest: null });
    expect(redisConnection('rediss://user:pw@host.example:6380').url).toBe('rediss://user:pw@host.example:6380');
    expect(redactUrl('redis://user:pw@10.0.0.5:6379')).toBe('redis://user:***@10.0.0.5:6379');
    expect(() => redisConnection('ftp://u:topsecret@h')).toThrow(/\*\*\*/);
    expect(() => redisConnection('ftp://u:topsecret@h')).not.toThrow(/topsecret/);
  });
});
