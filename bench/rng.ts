// Gaussian draws, ns per normal (float64), side by side in one run: stdlib's MT19937 + ziggurat (what
// random.ts drew with before Philox), Philox4x32-10 in TypeScript (src/network/philox.ts) and in the native
// addon (its portable kernel at 1 thread; the kernel it runs, AVX2 where the CPU has it, at 1 thread and
// every core), and numpy's standard_normal (PCG64 and Philox bit generators) and torch.randn
// (1 thread and every core) under /usr/bin/python3. Then the draw of a depth-32, width-512 network's weights
// (32 matrices of 512 × 512): drawNetwork on MT19937, Philox in TypeScript and native, torch.randn the same shape.
// Medians over rounds; ratios against MT19937 and against torch.randn at the same thread count.
// Usage: npx tsx bench/rng.ts [rounds=7] [n=4194304]
import { spawnSync } from 'node:child_process';
import os, { availableParallelism } from 'node:os';
import { loadNative, nativeRandom, nativeUnavailableReason } from '../src/io/native.js';
import { drawNetwork, fillNormal, fillNormalPhilox, makeSpec, normalStream, PHILOX, philoxKey } from '../src/network/index.js';
import { setPhiloxNormalFill } from '../src/network/philox.js';
import { median, type SummaryRow, saveSummary } from './common.js';

const rounds = Number(process.argv[2] ?? 7);
const n = Number(process.argv[3] ?? 2 ** 22);
const cores = availableParallelism();
const depth = 32;
const width = 512;
const loadStart = os.loadavg()[0];
const native = nativeRandom();
if (!native) process.stderr.write(`native Philox skipped: ${nativeUnavailableReason() ?? 'the built addon predates philoxNormal'}\n`);

/** ms of each of `rounds` calls of f after one warm-up call. */
function times(f: () => void): number[] {
  f();
  const out: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    f();
    out.push(performance.now() - t);
  }
  return out;
}

// src/io/native.ts hands fillNormalPhilox's bulk fills to the addon: the TypeScript rows run with it unset
const addonFill = setPhiloxNormalFill(null);
const buf = new Float64Array(n);
const key = philoxKey(1, 'W', 1);
const ours: Record<string, number[]> = {
  'MT19937 ziggurat (stdlib, the old default)': times(() => fillNormal(buf, normalStream(1, 'W', 1))),
  'Philox4x32-10 TypeScript': times(() => fillNormalPhilox(buf, key, 0)),
};
const kernel = native?.philoxKernel();
if (native && kernel) {
  if (kernel !== 'portable') {
    // the portable kernel (one block a step), as every CPU without AVX2 runs it
    native.philoxKernel('portable');
    ours['Philox4x32-10 native portable kernel, 1 thread'] = times(() => native.philoxNormal(buf, key[0], key[1], 0, 1, 1));
    native.philoxKernel(kernel);
  }
  ours[`Philox4x32-10 native ${kernel}, 1 thread`] = times(() => native.philoxNormal(buf, key[0], key[1], 0, 1, 1));
  ours[`Philox4x32-10 native ${kernel}, ${cores} threads`] = times(() => native.philoxNormal(buf, key[0], key[1], 0, 1, cores));
}

// the network draw: 32 weight matrices 512 × 512, entries N(0, σ_w²/fan_in)
const spec = makeSpec({ depth, width, batch: 128 });
const scale = Math.sqrt(spec.init.sigmaW2 / width);
const W = Array.from({ length: depth }, () => new Float64Array(width * width));
const net: Record<string, number[]> = {
  'drawNetwork (MT19937, the old default)': times(() => drawNetwork(spec, 1)),
  'Philox TypeScript': times(() => {
    for (let l = 0; l < depth; l++) fillNormalPhilox(W[l], philoxKey(1, 'W', l + 1), 0, scale);
  }),
};
if (native) {
  // what the sampler runs: drawNetwork on Philox, its bulk fills on the addon at the BLAS thread count
  const blas = loadNative()?.threads.get() ?? 1;
  setPhiloxNormalFill(addonFill);
  net[`drawNetwork (Philox, addon fill), ${blas} thread${blas > 1 ? 's' : ''}`] = times(() => drawNetwork(spec, 1, { rng: PHILOX }));
  setPhiloxNormalFill(null);
  for (const t of [1, cores])
    net[`Philox native ${kernel}, ${t} thread${t > 1 ? 's' : ''}`] = times(() => {
      for (let l = 0; l < depth; l++) {
        const k = philoxKey(1, 'W', l + 1);
        native.philoxNormal(W[l], k[0], k[1], 0, scale, t);
      }
    });
}

// the peers: one python process, the same n and rounds
const PEER = `
import json, sys, time
import numpy as np
a = json.loads(sys.argv[1]); n, rounds, depth, width = a['n'], a['rounds'], a['depth'], a['width']
def times(f):
    f(); out = []
    for _ in range(rounds):
        t = time.perf_counter(); f(); out.append((time.perf_counter() - t) * 1e3)
    return out
res = {'numpy': np.__version__}
g = np.random.default_rng(1); buf = np.empty(n)
res['numpy standard_normal (PCG64)'] = times(lambda: g.standard_normal(out=buf))
p = np.random.Generator(np.random.Philox(1))
res['numpy standard_normal (Philox)'] = times(lambda: p.standard_normal(out=buf))
try:
    import torch
    res['torch'] = torch.__version__
    torch.manual_seed(1)
    for t in (1, a['cores']):
        torch.set_num_threads(t)
        res['torch.randn float64, %d thread%s' % (t, 's' if t > 1 else '')] = times(lambda: torch.randn(n, dtype=torch.float64))
        res['net torch.randn, %d thread%s' % (t, 's' if t > 1 else '')] = times(lambda: [torch.randn(width, width, dtype=torch.float64) for _ in range(depth)])
except ImportError:
    pass
print(json.dumps(res))
`;
const py = spawnSync('/usr/bin/python3', ['-c', PEER, JSON.stringify({ n, rounds, depth, width, cores })], { encoding: 'utf8' });
const peer: Record<string, number[] | string> = py.status === 0 ? JSON.parse(py.stdout.trim().split('\n').pop()!) : {};
if (py.status !== 0) process.stderr.write(`python peer failed: ${py.stderr.trim().split('\n').pop()}\n`);

const mt = median(ours['MT19937 ziggurat (stdlib, the old default)']);
const torch1 = peer['torch.randn float64, 1 thread'] as number[] | undefined;
const torch1Ms = torch1 ? median(torch1) : Number.NaN;
const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '–');
console.log(
  `rng bench: ${n} float64 normals, ${rounds} rounds, ${cores} cores, ${os.cpus()[0]?.model.trim()}, native kernel ${kernel ?? '–'}, load ${loadStart.toFixed(2)}`,
);
console.log(`numpy ${peer.numpy ?? '–'}, torch ${peer.torch ?? '–'}`);
console.log('\n| generator | ns / normal | × MT19937 | × torch.randn 1 thread |');
console.log('|---|---:|---:|---:|');
const rows: SummaryRow[] = [];
const all: [string, number[]][] = [
  ...Object.entries(ours),
  ...Object.entries(peer).filter((e): e is [string, number[]] => Array.isArray(e[1]) && !e[0].startsWith('net ')),
];
for (const [name, ms] of all) {
  const m = median(ms);
  console.log(`| ${name} | ${f((m * 1e6) / n)} | ${f(m / mt)} | ${f(m / torch1Ms)} |`);
}
console.log(`\n| depth ${depth}, width ${width} weight draw | ms | × drawNetwork MT19937 | × torch.randn same threads |`);
console.log('|---|---:|---:|---:|');
const today = median(net['drawNetwork (MT19937, the old default)']);
const netPeer = (t: number) => peer[`net torch.randn, ${t} thread${t > 1 ? 's' : ''}`] as number[] | undefined;
for (const [name, ms] of [
  ...Object.entries(net),
  ...[1, cores].map((t) => [`torch.randn, ${t} thread${t > 1 ? 's' : ''}`, netPeer(t) ?? []] as [string, number[]]),
]) {
  if (!ms.length) continue;
  const m = median(ms);
  const t = /(\d+) threads?/.exec(name)?.[1];
  const tp = netPeer(t ? Number(t) : 1);
  const vsTorch = tp ? m / median(tp) : Number.NaN;
  console.log(`| ${name} | ${f(m, 1)} | ${f(m / today)} | ${f(vsTorch)} |`);
  if (!name.startsWith('torch') && tp)
    rows.push({
      what: `weight draw, depth ${depth}, width ${width}: ${name}`,
      threads: t ? Number(t) : 1,
      oursMs: m,
      peer: 'torch.randn',
      peerMs: median(tp),
      ratio: vsTorch,
    });
}
console.log(`\nload average ${loadStart.toFixed(2)} → ${os.loadavg()[0].toFixed(2)}`);
saveSummary('rng', rows, loadStart);
