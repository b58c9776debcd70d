// The sampler's hot loop: one forward + backward with per-layer statistics (depth 32, width 512,
// batch 128, Linear-BN-ReLU, float64, readout loss) against PyTorch CPU (Debian's python3-torch,
// bench/sample_torch.py) doing the same work, in one run, interleaved in rounds so that load on the
// machine hits both alike; and the per-seed cost, a new seed's whole job (its weights, inputs and readout
// drawn: Philox4x32-10 on the addon for us, torch.randn for PyTorch, then forward, backward, statistics).
// Then the throughput of sampling K seeds on 1 thread vs every core.
// Usage: npx tsx bench/sample.ts [rounds=3] [repsPerRound=3]
import { spawnSync } from 'node:child_process';
import os, { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { drawNetwork, gaussianInputs, makeSpec, PHILOX } from '../src/network/index.js';
import { forwardBackward, kernels, nativeKernels, nativeKernelsError, sampleNetwork } from '../src/sample/index.js';
import { type SummaryRow, saveSummary } from './common.js';

const rounds = Number(process.argv[2] ?? 3);
const reps = Number(process.argv[3] ?? 3);
const depth = 32;
const width = 512;
const batch = 128;
const cores = availableParallelism();
const spec = makeSpec({ depth, width, batch });
// Work of the standard algorithm (what autograd does): per layer h = x Wᵀ, ∂x = ∂h W, ∂W = ∂hᵀ x,
// 2·B·N² flops each (no ∂x at layer 1), plus the B×B Gram for the correlation statistic.
const nominalFlops = depth * (3 * 2 * batch * width * width + 2 * batch * batch * width) - 2 * batch * width * width;
// What signalprop runs: no ∂W is formed; ‖∂W‖² = ⟨∂h ∂hᵀ, x xᵀ⟩ from two B×B Grams (syrk, B²N each).
const oursFlops = depth * (2 * 2 * batch * width * width + 2 * batch * batch * width) - 2 * batch * width * width;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const params = drawNetwork(spec, 1);
const inputs = gaussianInputs(batch, width, 1);

function ours(backend: 'native' | 'typescript', threads: number, n: number): number[] {
  const k = kernels(backend);
  k.setThreads(threads);
  forwardBackward(spec, 1, { params, inputs, backend }); // warm
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    forwardBackward(spec, 1, { params, inputs, backend });
    out.push(performance.now() - t);
  }
  return out;
}

// A new seed's whole job each call (seeds 2, 3, …: weights, inputs and readout drawn, then the pass).
let nextSeed = 2;
function oursFresh(threads: number, n: number): number[] {
  const k = kernels('native');
  k.setThreads(threads);
  forwardBackward(spec, nextSeed++, { backend: 'native', rng: PHILOX }); // warm
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    forwardBackward(spec, nextSeed++, { backend: 'native', rng: PHILOX });
    out.push(performance.now() - t);
  }
  return out;
}

function torch(threads: number, n: number): { autograd: number[]; manual: number[]; fresh: number[]; version: string } | null {
  const script = fileURLToPath(new URL('./sample_torch.py', import.meta.url));
  const r = spawnSync('/usr/bin/python3', [script, JSON.stringify({ depth, width, batch, reps: n, threads })], { encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(`torch peer failed: ${r.stderr.split('\n').slice(-3).join(' ')}\n`);
    return null;
  }
  const o = JSON.parse(r.stdout.trim().split('\n').pop()!);
  return { autograd: o.autograd_ms, manual: o.manual_ms, fresh: o.fresh_ms, version: o.torch };
}

const loadStart = os.loadavg()[0];
const native = nativeKernels();
const summary: SummaryRow[] = [];
const what = `sampled net forward + backward + statistics, depth ${depth}, width ${width}, B ${batch}, float64`;
process.stderr.write(`kernels: ${native ? 'openblas' : `typescript only (${nativeKernelsError()})`}; ${cores} cores\n`);
const rows: string[] = [];
const gf = (flops: number, ms: number) => (flops / (ms * 1e6)).toFixed(1);
for (const threads of [cores, 1]) {
  const t: Record<string, number[]> = { ours: [], oursFresh: [], autograd: [], manual: [], fresh: [] };
  let version = '';
  for (let r = 0; r < rounds; r++) {
    process.stderr.write(`threads ${threads}: round ${r + 1}/${rounds}\n`);
    if (native) {
      t.ours.push(...ours('native', threads, reps));
      t.oursFresh.push(...oursFresh(threads, reps));
    }
    const p = torch(threads, reps);
    if (p) {
      t.autograd.push(...p.autograd);
      t.manual.push(...p.manual);
      t.fresh.push(...p.fresh);
      version = p.version;
    }
  }
  const m = {
    ours: median(t.ours),
    oursFresh: median(t.oursFresh),
    autograd: median(t.autograd),
    manual: median(t.manual),
    fresh: median(t.fresh),
  };
  if (t.ours.length && t.autograd.length)
    summary.push({ what, threads, oursMs: m.ours, peer: `PyTorch ${version} autograd`, peerMs: m.autograd, ratio: m.ours / m.autograd });
  if (t.oursFresh.length && t.fresh.length)
    summary.push({
      what: `per-seed cost (Philox draw on the addon + forward + backward + statistics), depth ${depth}, width ${width}, B ${batch}, float64`,
      threads,
      oursMs: m.oursFresh,
      peer: `PyTorch ${version} torch.randn + autograd`,
      peerMs: m.fresh,
      ratio: m.oursFresh / m.fresh,
    });
  rows.push(
    `threads=${threads}  signalprop (OpenBLAS f64): ${m.ours.toFixed(1)} ms  [${gf(nominalFlops, m.ours)} nominal GFLOP/s, ${gf(oursFlops, m.ours)} executed]`,
  );
  rows.push(
    `threads=${threads}  torch ${version} autograd f64:  ${m.autograd.toFixed(1)} ms  [${gf(nominalFlops, m.autograd)} GFLOP/s]   ratio torch/ours = ${(m.autograd / m.ours).toFixed(2)}`,
  );
  rows.push(
    `threads=${threads}  torch manual (same algorithm as ours): ${m.manual.toFixed(1)} ms  [${gf(oursFlops, m.manual)} executed GFLOP/s]   ratio torch/ours = ${(m.manual / m.ours).toFixed(2)}`,
  );
  rows.push(
    `threads=${threads}  per seed, weights drawn: signalprop (Philox on the addon) ${m.oursFresh.toFixed(1)} ms, torch.randn + autograd ${m.fresh.toFixed(1)} ms   ratio ours/torch = ${(m.oursFresh / m.fresh).toFixed(2)}`,
  );
}
const tsTimes = ours('typescript', 1, 2);
rows.push(
  `fallback  signalprop (pure TypeScript f64, 1 thread): ${median(tsTimes).toFixed(0)} ms  [${gf(oursFlops, median(tsTimes))} executed GFLOP/s]`,
);
kernels().setThreads(cores);
const one = summary.find((r) => r.threads === 1);
if (one) {
  const ts = median(tsTimes);
  summary.push({
    what: `${what}, TypeScript kernels (no addon)`,
    threads: 1,
    oursMs: ts,
    peer: 'signalprop OpenBLAS',
    peerMs: one.oursMs,
    ratio: ts / one.oursMs,
  });
}

// Sampling K seeds end to end (weights drawn with Philox, forward, backward, records).
const K = 4 * cores;
const seedRun = async (threads: number) => {
  if (native) native.setThreads(threads === 1 ? 1 : cores);
  const t = performance.now();
  await sampleNetwork(spec, { seeds: K, threads, predictedGrowth: null, rng: PHILOX });
  return performance.now() - t;
};
const t1 = await seedRun(1);
const tCold = await seedRun(cores); // includes starting the worker threads (tsx loads the module graph in each)
const tn = await seedRun(cores); // the pool is shared and warm now, as in a sweep or a reproduce run
rows.push(
  `sampling ${K} seeds: 1 thread ${(t1 / 1000).toFixed(2)} s (${((K * 1000) / t1).toFixed(2)} nets/s), ${cores} worker threads ${(tn / 1000).toFixed(2)} s warm (${((K * 1000) / tn).toFixed(2)} nets/s, speed-up ${(t1 / tn).toFixed(2)}×), ${(tCold / 1000).toFixed(2)} s cold (thread start included)`,
);
// Drawing one net's weights alone (Philox on the addon): into fresh arrays (64 MiB of new Float64Arrays) and
// into the arrays of an earlier draw (drawNetwork's `into`, what forwardBackward does from the second seed on).
const into = drawNetwork(spec, 3, { rng: PHILOX });
for (const threads of native ? [1, cores] : [1]) {
  if (native) native.setThreads(threads);
  const fresh: number[] = [];
  const reused: number[] = [];
  for (let i = 0; i < 2 * reps + 1; i++) {
    let t = performance.now();
    drawNetwork(spec, 1000 + 2 * i, { rng: PHILOX });
    fresh.push(performance.now() - t);
    t = performance.now();
    drawNetwork(spec, 1001 + 2 * i, { rng: PHILOX }, into);
    reused.push(performance.now() - t);
  }
  rows.push(
    `threads=${threads}  drawing one net's weights (Philox): fresh arrays ${median(fresh).toFixed(1)} ms, into reused arrays ${median(reused).toFixed(1)} ms`,
  );
  summary.push({
    what: `drawing a depth-${depth} width-${width} net's weights (Philox), into reused arrays vs fresh`,
    threads,
    oursMs: median(reused),
    peer: 'signalprop, fresh arrays',
    peerMs: median(fresh),
    ratio: median(reused) / median(fresh),
  });
}
if (native) native.setThreads(cores);
process.stdout.write(
  `sample hot loop: depth ${depth}, width ${width}, batch ${batch}, Linear-BN-ReLU, float64; medians of ${rounds}×${reps}\n${rows.join('\n')}\n`,
);
saveSummary('sample', summary, loadStart);
