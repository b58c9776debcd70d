// Peak resident memory of (a) `signalprop sample` at depth 1000, width 1024, B 256 (Linear-BN-ReLU, one
// seed, through sampleNetwork: the API the CLI calls) and (b) a 1,000-step training run at depth 32,
// width 512, B 128 (trainRun, the blas backend where the addon is built, default probes, SGD, MSE, synthetic
// data), each in its own child process so that the peaks are separate. The parent polls the child's
// /proc/<pid>/status (VmRSS) every 250 ms for a timeline; the child reports its own peak
// (process.resourceUsage().maxRSS, the kernel's high-water mark) and, for training, RSS, heap and
// tf.memory() every 100 steps, so that growth over steps is visible. Each is printed beside the size the
// arrays must take (the weights, the activations the pass keeps), and the load average.
// Usage: npx tsx bench/memory.ts [baseline|sample|train ...]   (default: all three; the sample needs ~9 GiB)
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const MiB = 2 ** 20;
const fmt = (bytes: number) => (bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / MiB).toFixed(0)} MiB`);
const load = () => os.loadavg()[0].toFixed(1);

interface ChildResult {
  job: string;
  maxRssBytes: number;
  wallS: number;
  loadStart: string;
  loadEnd: string;
  detail: Record<string, unknown>;
  steps?: { step: number; rss: number; heapUsed: number; external: number; numTensors: number; tfBytes: number }[];
}

const SAMPLE = { depth: 1000, width: 1024, batch: 256 };
const TRAIN = { depth: 32, width: 512, batch: 128, steps: 1000 };

async function childSample(): Promise<ChildResult> {
  const { makeSpec } = await import('../src/network/index.js');
  const { sampleNetwork } = await import('../src/sample/index.js');
  const loadStart = load();
  const t0 = performance.now();
  const spec = makeSpec({ ...SAMPLE, order: 'linear-bn-act', activation: 'relu' });
  // the CLI's call: sampleNetwork(spec, { seeds, baseSeed, threads, backend }); one seed runs in this thread
  const r = await sampleNetwork(spec, { seeds: 1, baseSeed: 1, backend: 'auto', predictedGrowth: null });
  return {
    job: 'sample',
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    wallS: (performance.now() - t0) / 1000,
    loadStart,
    loadEnd: load(),
    detail: { backend: r.backend, measuredGrowth: r.measuredGrowth, records: r.records.length, rssEnd: process.memoryUsage().rss },
  };
}

/** What a process holds before any work: Node, tsx, tfjs and signalprop's modules loaded, the backend set up. */
async function childBaseline(): Promise<ChildResult> {
  const loadStart = load();
  const t0 = performance.now();
  await import('../src/sample/index.js');
  const { initBackend } = await import('../src/train/index.js');
  const be = await initBackend('auto', 1);
  return {
    job: 'baseline',
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    wallS: (performance.now() - t0) / 1000,
    loadStart,
    loadEnd: load(),
    detail: { backend: be.name },
  };
}

async function childTrain(): Promise<ChildResult> {
  const tf = await import('@tensorflow/tfjs');
  const { trainRun } = await import('../src/train/index.js');
  const loadStart = load();
  const t0 = performance.now();
  const steps: NonNullable<ChildResult['steps']> = [];
  const snap = (step: number) => {
    const m = process.memoryUsage();
    const t = tf.memory();
    steps.push({
      step,
      rss: m.rss,
      heapUsed: m.heapUsed,
      external: m.external + m.arrayBuffers,
      numTensors: t.numTensors,
      tfBytes: t.numBytes,
    });
  };
  const r = await trainRun(
    {
      spec: { depth: TRAIN.depth, width: TRAIN.width, batch: TRAIN.batch, order: 'linear-bn-act', activation: 'relu' },
      data: { kind: 'synthetic' },
      loss: 'mse',
      optimizer: { kind: 'sgd', lr: 0.01 },
      steps: TRAIN.steps,
      seed: 1,
      backend: 'auto',
    },
    {
      threads: 1,
      onProgress: (step) => {
        if (step === 1 || step % 100 === 0) snap(step);
      },
    },
  );
  return {
    job: 'train',
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    wallS: (performance.now() - t0) / 1000,
    loadStart,
    loadEnd: load(),
    detail: { backend: tf.getBackend(), status: r.status, records: r.records.length, finalLoss: r.final.loss },
    steps,
  };
}

/** Run this file as a child doing `job`; poll its VmRSS; resolve with its result and the polled peak. */
function runChild(job: string): Promise<{ res: ChildResult; polled: { t: number; rss: number }[] }> {
  return new Promise((resolve, reject) => {
    const self = fileURLToPath(import.meta.url);
    const child = spawn(process.execPath, [...process.execArgv, self, '--child', job], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    const polled: { t: number; rss: number }[] = [];
    const t0 = performance.now();
    const timer = setInterval(() => {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) polled.push({ t: (performance.now() - t0) / 1000, rss: Number(m[1]) * 1024 });
      } catch {
        // the child has exited
      }
    }, 250);
    child.on('close', (code) => {
      clearInterval(timer);
      if (code !== 0) return reject(new Error(`bench/memory ${job}: child exited ${code}`));
      resolve({ res: JSON.parse(out.trim().split('\n').pop()!), polled });
    });
  });
}

/** What the arrays must take: the sampler's float64 weights and the activations its forward keeps. */
function sampleTheory() {
  const { depth: L, width: N, batch: B } = SAMPLE;
  const weights = L * (N * N + N) * 8; // W and b of every dense layer, float64: drawNetwork draws them all up front
  const seg = Math.ceil(Math.sqrt(L)); // the forward keeps checkpoints every √L blocks when the caches exceed 256 MiB
  const act = B * N * 8;
  const checkpoints = seg * (act + B * B * 8); // x and its B×B Gram at each checkpoint
  const segment = seg * 3 * act; // a segment's block caches (dense output, normalized, activation) on the way back
  return { weights, activations: checkpoints + segment };
}

/** The trainer's float32 state: W, b, γ, β, their gradients; a step's activations (h, BN, φ per block, kept for the backward). */
function trainTheory() {
  const { depth: L, width: N, batch: B } = TRAIN;
  const params = L * (N * N + 3 * N) * 4;
  return { weights: 2 * params, activations: L * 3 * B * N * 4 };
}

async function main() {
  const jobs = process.argv.slice(2).filter((a) => a === 'baseline' || a === 'sample' || a === 'train');
  const which = jobs.length ? jobs : ['baseline', 'sample', 'train'];
  process.stderr.write(`bench/memory: ${which.join(', ')} in child processes (load avg ${load()} on ${os.cpus().length} cores)\n`);
  const rows: string[] = [];
  for (const job of which) {
    const { res, polled } = await runChild(job);
    const peakPolled = Math.max(...polled.map((p) => p.rss));
    const th = job === 'sample' ? sampleTheory() : job === 'train' ? trainTheory() : { weights: 0, activations: 0 };
    const what =
      job === 'sample'
        ? `sample, depth ${SAMPLE.depth}, width ${SAMPLE.width}, B ${SAMPLE.batch}, 1 seed`
        : job === 'train'
          ? `train, depth ${TRAIN.depth}, width ${TRAIN.width}, B ${TRAIN.batch}, ${TRAIN.steps} steps (+ blas buffer pool, at most 512 MiB)`
          : 'baseline: modules loaded, backend set up, no work';
    rows.push(
      `| ${what} | ${fmt(res.maxRssBytes)} | ${fmt(peakPolled)} | ${fmt(th.weights)} | ${fmt(th.activations)} | ${res.wallS.toFixed(0)} s | ${res.loadStart} → ${res.loadEnd} |`,
    );
    console.log(`${job}: ${JSON.stringify(res.detail)}`);
    if (job === 'sample') {
      const every = Math.max(1, Math.floor(polled.length / 12));
      console.log(
        `sample RSS over time: ${polled
          .filter((_, i) => i % every === 0)
          .map((p) => `${p.t.toFixed(0)} s ${fmt(p.rss)}`)
          .join(', ')}`,
      );
    }
    if (res.steps) {
      console.log('\n| step | RSS | V8 heap used | external + ArrayBuffers | tf numTensors | tf numBytes |\n|---|---|---|---|---|---|');
      for (const s of res.steps)
        console.log(`| ${s.step} | ${fmt(s.rss)} | ${fmt(s.heapUsed)} | ${fmt(s.external)} | ${s.numTensors} | ${fmt(s.tfBytes)} |`);
      console.log('');
    }
  }
  console.log(
    '| job | peak RSS (maxRSS) | peak RSS (polled /proc) | weights (theory) | activations kept (theory) | wall | load avg |\n|---|---|---|---|---|---|---|',
  );
  for (const r of rows) console.log(r);
}

const ci = process.argv.indexOf('--child');
if (ci >= 0) {
  const job = process.argv[ci + 1];
  const res = job === 'sample' ? await childSample() : job === 'train' ? await childTrain() : await childBaseline();
  process.stdout.write(`\n${JSON.stringify(res)}\n`);
} else {
  await main();
}
