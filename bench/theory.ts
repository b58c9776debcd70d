// Theory speed: (1) per-layer predictions for 1,000-layer specs (target < 50 ms), (2) λ(B) for every
// B from 4 to 4,096 for tanh (target < 1 s), (3) side by side with a numpy peer that evaluates Thm 7 as
// printed on a 2-D grid (bench/theory_numpy.py), on every 16th B, as a ratio of per-B times.
// Medians over repetitions; the first (cold) run is reported separately.
// Usage: npx tsx bench/theory.ts [reps=7] [--only-1] [--before <git rev>]
//   --only-1: parts (1) and (1b) only.
//   --before <rev>: parts (1) and (1b) for the theory of <rev> (its src/, from `git archive` into a temporary
//   folder) and of this checkout in the same process, calls alternating, with the ratio after/before, of
//   wall-time medians and of CPU-time medians (process.cpuUsage: less moved by other jobs on a loaded machine).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { makeSpec, type SpecInput } from '../src/network/index.js';
import * as theory from '../src/theory/index.js';
import { bnRateIntegral } from '../src/theory/index.js';

const reps = Number(process.argv[2] ?? 7);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const time = (f: () => void, n: number) => {
  const t0 = performance.now();
  f();
  const cold = performance.now() - t0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    f();
    out.push(performance.now() - t);
  }
  return { cold, median: median(out) };
};
/** CPU milliseconds of this process (user + system): less moved than wall time by other jobs on a loaded machine. */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
/**
 * Two versions of one job, calls alternating (so that both see the same load): cold runs, then n each;
 * wall and CPU medians.
 */
const timePair = (f: () => void, g: () => void, n: number) => {
  const t0 = performance.now();
  f();
  const t1 = performance.now();
  g();
  const t2 = performance.now();
  const a: number[] = [];
  const b: number[] = [];
  const ca: number[] = [];
  const cb: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = performance.now();
    const cu = cpuMs();
    f();
    const v = performance.now();
    const cv = cpuMs();
    g();
    const w = performance.now();
    const cw = cpuMs();
    a.push(v - u);
    b.push(w - v);
    ca.push(cv - cu);
    cb.push(cw - cv);
  }
  return {
    before: { cold: t1 - t0, median: median(a), cpu: median(ca) },
    after: { cold: t2 - t1, median: median(b), cpu: median(cb) },
  };
};

type Theory = typeof theory;
type MakeSpec = typeof makeSpec;
const beforeAt = process.argv.indexOf('--before');
const beforeRev = beforeAt > 0 ? process.argv[beforeAt + 1] : null;
let before: { theory: Theory; makeSpec: MakeSpec; dir: string } | null = null;
if (beforeAt > 0) {
  if (!beforeRev || beforeRev.startsWith('--')) {
    console.error('--before: expected a git revision (e.g. HEAD~3 or a commit hash)');
    process.exit(2);
  }
  const repo = fileURLToPath(new URL('..', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'signalprop-theory-before-'));
  const tar = spawnSync('sh', ['-c', 'git -C "$1" archive "$2" src package.json | tar -x -C "$3"', 'sh', repo, beforeRev, dir], {
    encoding: 'utf8',
  });
  if (tar.status !== 0) {
    console.error(`--before: ${JSON.stringify(beforeRev)} is not a revision git archive can read (${tar.stderr.trim()})`);
    process.exit(2);
  }
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
  const imp = (p: string) => import(pathToFileURL(join(dir, p)).href);
  before = { theory: await imp('src/theory/index.ts'), makeSpec: (await imp('src/network/index.ts')).makeSpec, dir };
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
}

console.log(`signalprop theory bench (node ${process.version}, ${reps} reps, medians)`);
const specs: [string, SpecInput][] = [
  ['linear-bn-act relu B=128', { depth: 1000, batch: 128 }],
  ['linear-bn-act relu B=∞', { depth: 1000, batch: null }],
  ['linear-bn-act tanh B=128', { depth: 1000, batch: 128, activation: 'tanh' }],
  ['linear-act-bn tanh B=128', { depth: 1000, batch: 128, activation: 'tanh', order: 'linear-act-bn' }],
  ['residual linear-bn-act tanh B=128', { depth: 1000, batch: 128, activation: 'tanh', residual: { scale: 1 } }],
  ['linear-act relu (no BN)', { depth: 1000, batch: 128, order: 'linear-act' }],
  [
    'linear-act tanh σ_w²=1.5 σ_b²=0.05 (no BN)',
    { depth: 1000, batch: 128, order: 'linear-act', activation: 'tanh', init: { sigmaW2: 1.5, sigmaB2: 0.05 } },
  ],
  ['linear-act tanh σ_w²=2 (no BN)', { depth: 1000, batch: 128, order: 'linear-act', activation: 'tanh' }],
  ['linear-act gelu σ_w²=2 (no BN)', { depth: 1000, batch: 128, order: 'linear-act', activation: 'gelu' }],
  [
    'linear-act gelu σ_w²=1.5 σ_b²=0.05 (no BN)',
    { depth: 1000, batch: 128, order: 'linear-act', activation: 'gelu', init: { sigmaW2: 1.5, sigmaB2: 0.05 } },
  ],
  [
    'linear-act silu σ_w²=1.5 σ_b²=0.05 (no BN)',
    { depth: 1000, batch: 128, order: 'linear-act', activation: 'silu', init: { sigmaW2: 1.5, sigmaB2: 0.05 } },
  ],
  [
    'residual linear-act tanh σ_b²=0.05 (no BN)',
    { depth: 1000, batch: 128, order: 'linear-act', activation: 'tanh', residual: { scale: 0.5 }, init: { sigmaW2: 1, sigmaB2: 0.05 } },
  ],
  ['linear-ln-act gelu (table)', { depth: 1000, batch: 128, order: 'linear-ln-act', activation: 'gelu' }],
];
const row = (name: string, r: { cold: number; median: number }) =>
  console.log(`  ${name.padEnd(46)} median ${r.median.toFixed(1).padStart(7)} ms   cold ${r.cold.toFixed(1).padStart(7)} ms`);
const pairRow = (name: string, r: ReturnType<typeof timePair>) =>
  console.log(
    `  ${name.padEnd(46)} median ${r.before.median.toFixed(1).padStart(7)} → ${r.after.median.toFixed(1).padStart(7)} ms (${(r.after.median / r.before.median).toFixed(2)}×)   cpu ${r.before.cpu.toFixed(1).padStart(7)} → ${r.after.cpu.toFixed(1).padStart(7)} ms (${(r.after.cpu / r.before.cpu).toFixed(2)}×)   cold ${r.before.cold.toFixed(1).padStart(7)} → ${r.after.cold.toFixed(1).padStart(7)} ms`,
  );
if (before) console.log(`before: ${beforeRev}; after: this checkout (calls alternating in one process)`);

console.log('\n(1) predict(spec), 1,000 layers (target < 50 ms)');
for (const [name, s] of specs) {
  const spec = makeSpec(s);
  if (before) {
    const b = before;
    const old = b.makeSpec(s);
    pairRow(
      name,
      timePair(
        () => b.theory.predict(old),
        () => theory.predict(spec),
        reps,
      ),
    );
  } else
    row(
      name,
      time(() => theory.predict(spec), reps),
    );
}

console.log('\n(1b) mean-field scalars for smooth activations');
const scalars: [string, (t: Theory) => void][] = [
  ['criticalLine(tanh, σ_b² = 0.05)', (t) => t.criticalLine('tanh', 0.05)],
  ['criticalLine(gelu, σ_b² = 0.05)', (t) => t.criticalLine('gelu', 0.05)],
  ['chi1(gelu, 1.5, 0.05) (q* included)', (t) => t.chi1('gelu', 1.5, 0.05)],
  ['cStar(tanh, 2, 0.05)', (t) => t.cStar('tanh', 2, 0.05)],
];
for (const [name, f] of scalars) {
  if (before) {
    const b = before;
    pairRow(
      name,
      timePair(
        () => f(b.theory),
        () => f(theory),
        reps,
      ),
    );
  } else
    row(
      name,
      time(() => f(theory), reps),
    );
}

if (process.argv.includes('--only-1')) process.exit(0);
console.log('\n(2) λ(B) for tanh, every B from 4 to 4,096 (target < 1 s)');
const all = Array.from({ length: 4093 }, (_, i) => i + 4);
// the BN-output rules are cached per B; clear them by running a different activation in between is not
// enough, so the cold figure is the honest "first sweep" and the median the warm-cache figure
const sweep = time(
  () => {
    for (const B of all) bnRateIntegral('tanh', B);
  },
  Math.max(3, reps >> 1),
);
console.log(`  4,093 values: median ${sweep.median.toFixed(0)} ms   cold (rules built) ${sweep.cold.toFixed(0)} ms`);

console.log('\n(3) against numpy (Thm 7 as printed, 2-D grid), every 16th B from 4 to 4,096');
const sub = all.filter((B) => (B - 4) % 16 === 0);
const oursSub = time(() => {
  for (const B of sub) bnRateIntegral('tanh', B);
}, reps);
const script = fileURLToPath(new URL('./theory_numpy.py', import.meta.url));
const py = spawnSync('/usr/bin/python3', [script, JSON.stringify({ batches: sub, reps: 3 })], { encoding: 'utf8', maxBuffer: 1 << 26 });
if (py.status !== 0) {
  console.log(`  numpy peer unavailable: ${py.stderr.trim().split('\n').slice(-1)[0]}`);
} else {
  const j = JSON.parse(py.stdout);
  const peer = median(j.seconds) * 1000;
  let maxDiff = 0;
  for (const B of sub.filter((b) => b >= 30)) maxDiff = Math.max(maxDiff, Math.abs(j.rates[String(B)] - bnRateIntegral('tanh', B)));
  console.log(
    `  ${sub.length} values: signalprop ${oursSub.median.toFixed(0)} ms, numpy ${j.numpy} ${peer.toFixed(0)} ms  → numpy/signalprop = ${(peer / oursSub.median).toFixed(1)}×`,
  );
  console.log(
    `  agreement for B ≥ 30: max |Δλ| = ${maxDiff.toExponential(2)} (the square grid cannot resolve the ellipse edge below B ≈ 30)`,
  );
}
