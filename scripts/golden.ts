// Writes the golden records (test/fixtures/golden/*.json) that test/golden.test.ts compares against,
// bit for bit: predict (dynamics 'never' and the defaults), sampleNetwork (2 seeds, threads 1, the
// TypeScript kernels and, where the addon is built, OpenBLAS) and a 3-step trainRun (tfjs cpu and blas).
//   npx tsx scripts/golden.ts            all files
//   npx tsx scripts/golden.ts predict    only the named ones (predict, sample-typescript, sample-native, train-cpu, train-blas)
// Regenerating changes what "unchanged" means: do it only with a reason, stated in the commit.
import { mkdirSync, writeFileSync } from 'node:fs';
import {
  computePredict,
  computeSample,
  computeTrain,
  formatGolden,
  GOLDEN_DIR,
  GOLDEN_FILES,
  type GoldenEntry,
  type GoldenName,
  nativeCore,
  PREDICT_CASES,
  PREDICT_MODES,
  SAMPLE_CASES,
  TRAIN_CASES,
} from '../test/helpers/golden.js';

const ABOUT = 'golden records of the current code (test/golden.test.ts); regenerate with `npx tsx scripts/golden.ts`, giving the reason in the commit';

async function entries(name: GoldenName): Promise<GoldenEntry[] | null> {
  switch (name) {
    case 'predict':
      return PREDICT_CASES.flatMap((c) => (c.modes ?? PREDICT_MODES).map((m) => computePredict(c, m)));
    case 'sample-typescript':
    case 'sample-native': {
      const backend = name === 'sample-native' ? 'native' : 'typescript';
      if (backend === 'native' && nativeCore() === null) return null;
      const out: GoldenEntry[] = [];
      for (const c of SAMPLE_CASES) out.push(await computeSample(c, backend));
      return out;
    }
    case 'train-cpu':
    case 'train-blas': {
      const backend = name === 'train-blas' ? 'blas' : 'cpu';
      if (backend === 'blas' && nativeCore() === null) return null;
      const out: GoldenEntry[] = [];
      for (const c of TRAIN_CASES) out.push(await computeTrain(c, backend));
      return out;
    }
  }
}

const wanted = process.argv.slice(2);
for (const w of wanted) if (!(GOLDEN_FILES as readonly string[]).includes(w)) throw new Error(`unknown golden file ${w}; one of ${GOLDEN_FILES.join(', ')}`);
mkdirSync(GOLDEN_DIR, { recursive: true });
for (const name of GOLDEN_FILES) {
  if (wanted.length && !wanted.includes(name)) continue;
  const t0 = Date.now();
  const list = await entries(name);
  if (list === null) {
    console.error(`${name}: skipped (the native addon is not built)`);
    continue;
  }
  const native = name === 'sample-native' || name === 'train-blas';
  const text = formatGolden({ about: ABOUT, ...(native ? { nativeCore: nativeCore() } : {}), entries: list });
  writeFileSync(new URL(`${name}.json`, GOLDEN_DIR), text);
  const errors = list.filter((e) => 'error' in e.summary).length;
  console.error(`${name}: ${list.length} entries (${errors} errors), ${(text.length / 1024).toFixed(0)} KiB, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
process.exit(0);
