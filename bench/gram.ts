// Speed and numbers of the batch Gram dynamics (src/theory/gramDynamics.ts) at B = 256: the audit's
// Claim 3 set-up (Linear → BN → φ, σ_w² = 2, ε = 1e-5, signalprop's Gaussian inputs of dimension 512).
// Usage: npx tsx bench/gram.ts [activation=silu] [samples=512] [replicas=4] [depth=120] [backwardSamples=samples] [batch=256]
// Prints the load average too: the machine may be shared, and the timing is per core.
import { loadavg } from 'node:os';
import { bnGradientRate } from '../src/theory/batchnorm.js';
import { gramDynamics } from '../src/theory/gramDynamics.js';

const [act = 'silu', Ms = '512', Rs = '4', Ls = '120', Ks, Bs = '256'] = process.argv.slice(2);
const B = Number(Bs);
const M = Number(Ms);
const R = Number(Rs);
const L = Number(Ls);
const K = Ks ? Number(Ks) : M;
const load0 = loadavg()[0];
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const r = gramDynamics(
  { order: 'linear-bn-act', activation: act, batch: B, depth: L, init: { sigmaW2: 2, sigmaB2: 0 }, bn: { gamma: 1, beta: 0, eps: 1e-5 } },
  {
    samples: M,
    backwardSamples: K,
    replicas: R,
    seed: 1,
    progress: (p) => {
      if (p.layer === L) console.error(`replica ${p.replica} done at ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    },
  },
);
const wall = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const load1 = loadavg()[0];
const f = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '–');
console.log(`${act}, B = ${B}, depth ${L}: samples M = ${M}, backward ensemble K = ${K}, ${R} replicas`);
console.log(
  `wall ${wall.toFixed(1)} s, CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s (one thread); load average ${load0.toFixed(2)} → ${load1.toFixed(2)} on this machine`,
);
console.log(`Yang λ(B) at BSB1: ${bnGradientRate(act, B, { gamma: 1, beta: 0, eps: 1e-5 }, { sigmaW2: 2 }).toFixed(4)}`);
console.log('layer  corr   normSpread  large  distinct  effRank  devL   devM   rate ± SE');
for (const l of [2, 10, 20, 30, 45, 70, 100, 120, 150].filter((x) => x <= L)) {
  const x = r.layers[l];
  console.log(
    `${String(l).padStart(5)}  ${f(x.corr)}  ${f(x.normSpread).padStart(10)}  ${f(x.large, 1).padStart(5)}  ${f(x.distinct, 1).padStart(8)}  ${f(x.effRank, 1).padStart(7)}  ${f(x.devL, 2)}  ${f(x.devM, 2)}  ${f(x.rate)} ± ${f(x.rateSE)}`,
  );
}
const a = r.attractor;
console.log(
  `attractor: ${a.state}, settled ${a.settled}, layers ${a.from}–${a.to}: rate ${f(a.rate, 4)} ± ${f(a.rateSE, 4)} (SE over ${R} replicas)`,
);
console.log(
  `  corr ${f(a.diagnostics.corr)}, normSpread ${f(a.diagnostics.normSpread)}, large ${f(a.diagnostics.large, 1)}, effRank ${f(a.diagnostics.effRank, 1)}`,
);
