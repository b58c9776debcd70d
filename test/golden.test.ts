// Golden records: predict, sampleNetwork and a 3-step trainRun, recomputed and compared bit for bit (the
// JSON of every number) with test/fixtures/golden/*.json, written from the code before the blocks
// refactor (issue 12). The cases (test/helpers/golden.ts) cover every order, --residual, both inits,
// γ/β/ε and σ² variations and every activation form; a failure names the case, the quantity and the layer.
//
// Regenerate with `npx tsx scripts/golden.ts` (or `npx tsx scripts/golden.ts predict` for one file) only
// when a change of the numbers is intended, and say why in the commit: regenerating redefines "unchanged".
//
// The TypeScript sampler kernels and tfjs's cpu backend give the same bits on every machine. The OpenBLAS
// files (sample-native, train-blas) are compared only where the addon runs on the core they were written
// on (their kernels, and so their rounding, depend on it); elsewhere those tests are skipped.
import { describe, expect, test } from 'vitest';
import {
  computePredict,
  computeSample,
  computeTrain,
  diffEntry,
  type GoldenEntry,
  type GoldenName,
  nativeCore,
  PREDICT_CASES,
  PREDICT_MODES,
  readGolden,
  SAMPLE_CASES,
  TRAIN_CASES,
} from './helpers/golden.js';

function check(name: GoldenName, want: GoldenEntry | undefined, got: GoldenEntry): void {
  if (!want) throw new Error(`${name}.json has no entry ${got.id}: add it with \`npx tsx scripts/golden.ts ${name}\``);
  const diffs = diffEntry(want, got);
  expect(diffs, `${name}.json differs from the code:\n${diffs.join('\n')}`).toEqual([]);
}

function byId(name: GoldenName): Map<string, GoldenEntry> {
  const g = readGolden(name);
  if (!g) throw new Error(`test/fixtures/golden/${name}.json is missing: \`npx tsx scripts/golden.ts ${name}\``);
  return new Map(g.entries.map((e) => [e.id, e]));
}

const core = nativeCore();
function nativeSkip(name: GoldenName): string | null {
  if (core === null) return 'the native addon is not built';
  const g = readGolden(name);
  if (!g) return `${name}.json was not written (no addon where it was generated)`;
  if (g.nativeCore !== core) return `written on OpenBLAS core ${g.nativeCore}, this machine has ${core}`;
  return null;
}

describe('golden predict records', () => {
  const golden = byId('predict');
  const cases = PREDICT_CASES.flatMap((c) => (c.modes ?? PREDICT_MODES).map((m) => ({ c, m, id: `${c.name} / dynamics ${m.key}` })));
  test('every golden entry is still a case', () => {
    expect([...golden.keys()].filter((id) => !cases.some((x) => x.id === id))).toEqual([]);
  });
  test.each(cases.map((x) => [x.id, x] as const))('%s', (_id, { c, m }) => {
    const got = computePredict(c, m);
    check('predict', golden.get(got.id), got);
  });
});

describe('golden sampled records (TypeScript kernels)', () => {
  const golden = byId('sample-typescript');
  test.each(SAMPLE_CASES.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const got = await computeSample(c, 'typescript');
    check('sample-typescript', golden.get(got.id), got);
  });
});

const sampleNativeSkip = nativeSkip('sample-native');
describe.skipIf(sampleNativeSkip !== null)(
  `golden sampled records (OpenBLAS)${sampleNativeSkip ? `: skipped, ${sampleNativeSkip}` : ''}`,
  () => {
    const golden = sampleNativeSkip ? new Map<string, GoldenEntry>() : byId('sample-native');
    test.each(SAMPLE_CASES.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
      const got = await computeSample(c, 'native');
      check('sample-native', golden.get(got.id), got);
    });
  },
);

describe('golden training records (tfjs cpu, 3 steps)', () => {
  const golden = byId('train-cpu');
  test.each(TRAIN_CASES.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const got = await computeTrain(c, 'cpu');
    check('train-cpu', golden.get(got.id), got);
  });
});

const trainBlasSkip = nativeSkip('train-blas');
describe.skipIf(trainBlasSkip !== null)(
  `golden training records (blas, 3 steps)${trainBlasSkip ? `: skipped, ${trainBlasSkip}` : ''}`,
  () => {
    const golden = trainBlasSkip ? new Map<string, GoldenEntry>() : byId('train-blas');
    test.each(TRAIN_CASES.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
      const got = await computeTrain(c, 'blas');
      check('train-blas', golden.get(got.id), got);
    });
  },
);
