// Sweep throughput: cells per minute of a sampling (or, with --kind train, training) sweep with 1 thread
// against every core (the scaling), and with two local Redis workers (`signalprop worker` processes,
// BullMQ) against the local pool of the same size (the queue's overhead per cell). Medians of --reps
// runs, each into a fresh store. Each executor runs twice per rep: "cold" (its threads or worker
// processes start with the sweep: the wall time a user sees for a first sweep) and then "warm" (the same
// threads, the next cells: seeds cells+1 … 2·cells, as a later sweep of the same process or workers sees).
//
//   npx tsx bench/sweep.ts [--kind sample|train] [--cells 40] [--width 128] [--depth 16] [--batch 32] [--steps 20] [--reps 3] [--redis redis://127.0.0.1:6379]
//
// Where the time went (Linux): CPU time of every thread of this process (and of the worker processes),
// and the time those threads were ready to run but waited for a core (/proc/<pid>/task/*/schedstat):
// a wait that grows with the threads is other load on the machine, not the sweep's own overhead.
// Without --redis it starts its own redis-server on a loopback port (if installed) and stops it after.
// Timings on a shared machine are noisy: read the ratios, not the absolute numbers.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { closePools } from '../src/parallel/index.js';
import { parseSweep, runSweep, type SweepSummary } from '../src/sweep/index.js';

const BIN = fileURLToPath(new URL('../bin/signalprop.js', import.meta.url));
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const cells = Number(arg('cells', '40'));
const width = Number(arg('width', '128'));
const depth = Number(arg('depth', '16'));
const batch = Number(arg('batch', '32'));
const reps = Number(arg('reps', '3'));
const kind = arg('kind', 'sample');
const steps = Number(arg('steps', '20'));
const cores = availableParallelism();

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function startRedis(): Promise<{ url: string; stop: () => void }> {
  const given = arg('redis', '');
  if (given) return { url: given, stop: () => {} };
  const port = 6393;
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  await new Promise((r) => setTimeout(r, 500));
  if (child.exitCode !== null) throw new Error('redis-server did not start; pass --redis redis://127.0.0.1:<port>');
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

function spawnWorker(url: string, queue: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'worker', '--redis', url, '--queue', queue, '--concurrency', '1'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d) => {
      err += d;
      if (err.includes('ready on')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`worker exited with ${code}: ${err}`)));
  });
}

/** On-CPU and run-queue-wait seconds of every thread of a process, the main thread apart (Linux). */
interface Sched {
  cpu: Map<number, number>;
  wait: Map<number, number>;
}
const HAS_SCHEDSTAT = existsSync('/proc/self/task');

function sched(pid: number): Sched {
  const cpu = new Map<number, number>();
  const wait = new Map<number, number>();
  if (!HAS_SCHEDSTAT) return { cpu, wait };
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return { cpu, wait };
  }
  for (const t of tids) {
    try {
      const [c, w] = readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
      cpu.set(Number(t), c / 1e9);
      wait.set(Number(t), w / 1e9);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return { cpu, wait };
}

/** Seconds each thread gained from a to b (threads that ended in between are not counted). */
function gained(a: Map<number, number>, b: Map<number, number>, only?: number): number {
  let s = 0;
  for (const [tid, v] of b) if (only === undefined || tid === only) s += v - (a.get(tid) ?? 0);
  return s;
}

interface Usage {
  cpu: number;
  wait: number;
  mainCpu: number;
}

/** Run fn; CPU and wait seconds of this process's threads and of the given processes' threads meanwhile. */
async function measured<T>(pids: number[], fn: () => Promise<T>): Promise<{ value: T; usage: Usage }> {
  const all = [process.pid, ...pids];
  const before = all.map(sched);
  const value = await fn();
  const after = all.map(sched);
  const usage = { cpu: 0, wait: 0, mainCpu: gained(before[0].cpu, after[0].cpu, process.pid) };
  all.forEach((_, i) => {
    usage.cpu += gained(before[i].cpu, after[i].cpu);
    usage.wait += gained(before[i].wait, after[i].wait);
  });
  return { value, usage };
}

interface Row {
  label: string;
  parallel: number;
  seconds: number[];
  cellMs: number[];
  usage: Usage[];
}

async function main() {
  const base = { width, depth, batch, order: 'linear-bn-act' };
  const seedsOf = (from: number) => Array.from({ length: cells }, (_, i) => from + i);
  // train cells: synthetic data, MSE, SGD, no probes (each pool worker trains on the default backend with one BLAS thread)
  const sweepOf = (seeds: number[]) =>
    parseSweep(
      kind === 'train'
        ? {
            name: 'bench',
            kind: 'train',
            base,
            options: { steps, loss: 'mse', optimizer: { kind: 'sgd', lr: 0.01 }, probe: false },
            seeds,
          }
        : { name: 'bench', kind: 'sample', base, seeds },
    );
  // cold runs draw seeds 1..cells, warm runs the next cells seeds (other cells of the same cost: a Redis
  // job of a cell id run before could otherwise be collected instead of run)
  const coldSweep = await sweepOf(seedsOf(1));
  const warmSweep = await sweepOf(seedsOf(cells + 1));
  const root = mkdtempSync(join(tmpdir(), 'sp-bench-sweep-'));
  const redis = await startRedis();
  const rows: Row[] = [];
  const record = (label: string, parallel: number, s: SweepSummary, cellMs: number, usage: Usage) => {
    let row = rows.find((r) => r.label === label);
    if (!row) rows.push((row = { label, parallel, seconds: [], cellMs: [], usage: [] }));
    row.seconds.push(s.seconds);
    row.cellMs.push(cellMs);
    row.usage.push(usage);
  };
  const meanCellMs = (out: string) => {
    const ms = readFileSync(join(out, 'cells.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).ms as number);
    return ms.reduce((a, b) => a + b, 0) / ms.length;
  };
  const load0 = loadavg()[0];
  process.stderr.write(
    `sweep bench: ${cells} ${kind === 'train' ? `training cells (${steps} steps, ` : 'sampling cells ('}width ${width}, depth ${depth}, batch ${batch}), ${reps} reps, ${cores} cores; timings on a shared machine are noisy\n`,
  );
  try {
    for (let rep = 0; rep < reps; rep++) {
      for (const threads of [...new Set([1, 2, cores])]) {
        const name = `local pool, ${threads} thread${threads > 1 ? 's' : ''}`;
        await closePools(); // the cold run starts its threads
        for (const [when, sweep] of [
          ['cold', coldSweep],
          ['warm', warmSweep],
        ] as const) {
          const out = join(root, `local-${threads}-${when}-${rep}`);
          const { value: s, usage } = await measured([], () => runSweep(sweep, { out, threads }));
          record(`${name}, ${when}`, threads, s, meanCellMs(out), usage);
        }
      }
      await closePools();
      const queue = `sp-bench-${process.pid}-${rep}`;
      // cold: the sweep starts with the worker processes (their start-up counted); warm: the same workers, next cells
      let workers: ChildProcess[] = [];
      let workersAfterCold: Sched[] = [];
      try {
        for (const [when, sweep] of [
          ['cold', coldSweep],
          ['warm', warmSweep],
        ] as const) {
          const out = join(root, `redis-${when}-${rep}`);
          const t0 = performance.now();
          let startS = 0;
          const { value: s, usage } = await measured([], async () => {
            if (when === 'cold') {
              workers = await Promise.all([spawnWorker(redis.url, queue), spawnWorker(redis.url, queue)]);
              startS = (performance.now() - t0) / 1000;
            }
            return runSweep(sweep, { out, redis: { url: redis.url, queue, pollMs: 500 } });
          });
          // the worker processes' threads: their whole life for the cold run (they started in it), the warm run's gain
          const w = workers.map((c) => sched(c.pid!));
          if (when === 'cold') {
            for (const x of w) {
              usage.cpu += gained(new Map(), x.cpu);
              usage.wait += gained(new Map(), x.wait);
            }
            s.seconds += startS;
            workersAfterCold = w;
          } else {
            w.forEach((x, i) => {
              usage.cpu += gained(workersAfterCold[i].cpu, x.cpu);
              usage.wait += gained(workersAfterCold[i].wait, x.wait);
            });
          }
          record(`redis, 2 worker processes, ${when}`, 2, s, meanCellMs(out), usage);
        }
      } finally {
        for (const w of workers) w.kill('SIGTERM');
        const q = new Queue(queue, { connection: { url: redis.url, maxRetriesPerRequest: null } });
        await q.obliterate({ force: true }).catch(() => {});
        await q.close();
      }
      process.stderr.write(`rep ${rep + 1}/${reps} done (load average ${loadavg()[0].toFixed(1)})\n`);
    }
  } finally {
    redis.stop();
    rmSync(root, { recursive: true, force: true });
  }
  const med = (label: string) => median(rows.find((r) => r.label === label)!.seconds);
  // Non-compute time per cell: wall × parallel slots / cells − mean compute time of a cell (start-up,
  // queue round trips, store writes, idle slots at the end).
  const lines = [
    '| executor | run | median wall (s) | cells/min | mean cell (ms) | non-compute per cell (ms) | CPU, all threads (s) | waiting for a core (s) | main thread CPU per cell (ms) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  const f = (x: number, d = 1) => (HAS_SCHEDSTAT ? x.toFixed(d) : '–');
  for (const r of rows) {
    const w = median(r.seconds);
    const c = median(r.cellMs);
    const u = (k: keyof Usage) => median(r.usage.map((x) => x[k]));
    const [label, when] = [r.label.slice(0, r.label.lastIndexOf(',')), r.label.slice(r.label.lastIndexOf(',') + 2)];
    lines.push(
      `| ${label} | ${when} | ${w.toFixed(2)} | ${((cells / w) * 60).toFixed(1)} | ${c.toFixed(1)} | ${((w * 1000 * r.parallel) / cells - c).toFixed(1)} | ${f(u('cpu'), 2)} | ${f(u('wait'), 2)} | ${f((u('mainCpu') * 1000) / cells)} |`,
    );
  }
  lines.push('');
  for (const when of ['cold', 'warm']) {
    const t1 = med(`local pool, 1 thread, ${when}`);
    const tN = med(`local pool, ${cores} threads, ${when}`);
    const t2 = med(`local pool, 2 threads, ${when}`);
    const tR = med(`redis, 2 worker processes, ${when}`);
    lines.push(
      `${when}: scaling 1 → ${cores} threads ${(t1 / tN).toFixed(2)}× (efficiency ${((t1 / tN / cores) * 100).toFixed(0)}%); redis (2 worker processes) ${(t1 / tR).toFixed(2)}× one thread, ${(tR / t2).toFixed(2)}× the 2-thread pool's wall time (${(((tR - t2) / cells) * 1000).toFixed(1)} ms per cell)`,
    );
  }
  lines.push(
    `(noisy: other processes share this machine, load average ${load0.toFixed(1)} at the start and ${loadavg()[0].toFixed(1)} at the end on ${cores} cores; medians of ${reps} runs. CPU: on-CPU time of every thread of this process and of the worker processes; waiting: time those threads were ready but had no core; a wait or a mean cell time that grows with the threads means the cores were not free)`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
