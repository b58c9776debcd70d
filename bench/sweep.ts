// Sweep throughput: cells per minute of a sampling (or, with --kind train, training) sweep with 1 thread
// against every core (the scaling), and with two local Redis workers (`signalprop worker` processes,
// BullMQ) against the local pool of the same size (the queue's overhead per cell). Medians of --reps
// runs, each into a fresh store; the wall time includes thread start-up, as a user sees it.
//
//   npx tsx bench/sweep.ts [--kind sample|train] [--cells 40] [--width 128] [--depth 16] [--batch 32] [--steps 20] [--reps 3] [--redis redis://127.0.0.1:6379]
//
// Without --redis it starts its own redis-server on a loopback port (if installed) and stops it after.
// Timings on a shared machine are noisy: read the ratios, not the absolute numbers.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
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

interface Row {
  label: string;
  parallel: number;
  seconds: number[];
  cellMs: number[];
}

async function main() {
  const base = { width, depth, batch, order: 'linear-bn-act' };
  // train cells: synthetic data, MSE, SGD, no probes (each pool worker trains on the default backend with one BLAS thread)
  const sweep = await parseSweep(
    kind === 'train'
      ? {
          name: 'bench',
          kind: 'train',
          base,
          options: { steps, loss: 'mse', optimizer: { kind: 'sgd', lr: 0.01 }, probe: false },
          seeds: cells,
        }
      : { name: 'bench', kind: 'sample', base, seeds: cells },
  );
  const root = mkdtempSync(join(tmpdir(), 'sp-bench-sweep-'));
  const redis = await startRedis();
  const rows: Row[] = [];
  const record = (label: string, parallel: number, s: SweepSummary, cellMs: number) => {
    let row = rows.find((r) => r.label === label);
    if (!row) rows.push((row = { label, parallel, seconds: [], cellMs: [] }));
    row.seconds.push(s.seconds);
    row.cellMs.push(cellMs);
  };
  const meanCellMs = async (out: string) => {
    const { readFileSync } = await import('node:fs');
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
        const out = join(root, `local-${threads}-${rep}`);
        const s = await runSweep(sweep, { out, threads });
        record(`local pool, ${threads} thread${threads > 1 ? 's' : ''}`, threads, s, await meanCellMs(out));
      }
      const queue = `sp-bench-${process.pid}-${rep}`;
      const workers = await Promise.all([spawnWorker(redis.url, queue), spawnWorker(redis.url, queue)]);
      try {
        const out = join(root, `redis-${rep}`);
        const s = await runSweep(sweep, { out, redis: { url: redis.url, queue, pollMs: 500 } });
        record('redis, 2 worker processes', 2, s, await meanCellMs(out));
      } finally {
        for (const w of workers) w.kill('SIGTERM');
        const q = new Queue(queue, { connection: { url: redis.url, maxRetriesPerRequest: null } });
        await q.obliterate({ force: true }).catch(() => {});
        await q.close();
      }
      process.stderr.write(`rep ${rep + 1}/${reps} done\n`);
    }
  } finally {
    redis.stop();
    rmSync(root, { recursive: true, force: true });
  }
  const med = (label: string) => median(rows.find((r) => r.label.startsWith(label))!.seconds);
  // Non-compute time per cell: wall × parallel slots / cells − mean compute time of a cell (start-up,
  // queue round trips, store writes, idle slots at the end).
  const lines = [
    '| executor | median wall (s) | cells/min | mean cell compute (ms) | non-compute per cell (ms) |',
    '|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const w = median(r.seconds);
    const c = median(r.cellMs);
    lines.push(
      `| ${r.label} | ${w.toFixed(2)} | ${((cells / w) * 60).toFixed(1)} | ${c.toFixed(1)} | ${((w * 1000 * r.parallel) / cells - c).toFixed(1)} |`,
    );
  }
  const t1 = med('local pool, 1 thread');
  const tN = med(`local pool, ${cores} thread`);
  const t2 = med('local pool, 2 threads');
  const tR = med('redis');
  lines.push('');
  lines.push(`scaling 1 → ${cores} threads: ${(t1 / tN).toFixed(2)}× (efficiency ${((t1 / tN / cores) * 100).toFixed(0)}%)`);
  lines.push(
    `redis (2 worker processes, 1 thread each) vs local pool (2 threads): ${(tR / t2).toFixed(2)}× the wall time; overhead ${(((tR - t2) / cells) * 1000).toFixed(1)} ms per cell`,
  );
  lines.push(
    `(noisy: other processes share this machine, load average ${load0.toFixed(1)} at the start and ${loadavg()[0].toFixed(1)} at the end on ${cores} cores; medians of ${reps} runs; a mean cell compute time that grows with the number of threads means the cores were not free)`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
