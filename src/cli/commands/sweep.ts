// signalprop sweep sweep.json: run a grid of cells on every core, or on BullMQ workers with --redis.
import { existsSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_QUEUE, KIND_RE, QUEUE_RE } from '../../sweep/constants.js';
import { maxOf } from '../../io/arrays.js';
import { capThreads, cellBytes, estimateSweep, machineCores, memoryProblem } from '../../io/memory.js';
import { makeSpec, type NetworkSpec, type SpecInput } from '../../network/index.js';
import { checkOutPath, numberFlag, progress, readJsonFile, UsageError } from '../io.js';

/** The sweep's largest net: the base with the largest value of each size axis (null if that is not a valid spec). */
function largestSpec(sweep: { base: SpecInput; axes: { path: string; target: string; values: unknown[] }[] }): NetworkSpec | null {
  const input: Record<string, unknown> = { ...sweep.base };
  for (const a of sweep.axes) {
    if (a.target !== 'spec' || !['depth', 'width', 'batch', 'inputDim'].includes(a.path)) continue;
    const nums = a.values.filter((v): v is number => typeof v === 'number');
    if (nums.length) input[a.path] = maxOf(nums);
  }
  try {
    return makeSpec(input as SpecInput);
  } catch {
    return null;
  }
}

/** --runner kind=module (repeatable): register a custom cell kind. */
export function runnerFlag(raw: string, prev: string[] = []): string[] {
  return [...prev, raw];
}

export async function registerRunners(raws: string[] | undefined): Promise<void> {
  const { registerCellKind } = await import('../../sweep/index.js');
  for (const raw of raws ?? []) {
    const i = raw.indexOf('=');
    const kind = i > 0 ? raw.slice(0, i) : '';
    const module = i > 0 ? raw.slice(i + 1) : '';
    if (!KIND_RE.test(kind) || module === '') {
      throw new UsageError(
        `--runner: "${raw}" is not allowed; expected kind=path/to/module.ts, the kind of lowercase letters, digits and "-"`,
      );
    }
    if (!existsSync(resolve(module)))
      throw new UsageError(
        `--runner: "${raw}" is not allowed; expected kind=path/to/module.ts with a module that exists (no file "${module}")`,
      );
    registerCellKind(kind, resolve(module));
  }
}

export function queueFlag(raw: string | undefined): string {
  const q = raw ?? DEFAULT_QUEUE;
  if (!QUEUE_RE.test(q)) throw new UsageError(`--queue: "${q}" is not allowed; expected letters, digits, ".", "_" or "-" (no ":")`);
  return q;
}

/** Redis URL problems and a store in use are the user's to fix: one line, exit 2. */
export async function asUsage<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof Error && (e.name === 'UsageError' || e.name === 'StoreError') && !(e instanceof UsageError))
      throw new UsageError(e.message);
    throw e;
  }
}

export function register(program: Command): void {
  program
    .command('sweep')
    .description('Run a sweep (a base spec plus axes, expanded into cells) on every core, or on BullMQ workers with --redis')
    .argument('<sweep.json>', 'sweep file: {name, kind: sample|train|predict, base, options, axes, seeds}; see docs/sweeps.md')
    .option('--out <dir>', 'records store of the sweep (default: sweep-<name>)')
    .option('--threads <N>', 'local worker threads (default: every core)')
    .option(
      '--redis <url>',
      'enqueue the cells on BullMQ at redis://[:password@]host:port[/db] and collect results from `signalprop worker`s',
    )
    .option('--queue <name>', `BullMQ queue name (default ${DEFAULT_QUEUE})`)
    .option('--poll-ms <ms>', 'with --redis: reconcile with the queue this often (default 2000)')
    .option('--runner <kind=module>', 'register a custom cell kind from a module (repeatable)', runnerFlag)
    .option('--dry-run', 'print the cells (id, seed, axes) as JSON lines and exit')
    .option('--clean-runs', "keep records only: delete each finished cell's run directory (train checkpoints) once its records are stored")
    .option('--json', 'print the summary as JSON')
    .option('--no-progress', 'no progress bar on stderr')
    .action(async (file: string, opts: Record<string, any>) => {
      await registerRunners(opts.runner);
      const { expandSweep, parseSweep, runSweep } = await import('../../sweep/index.js');
      const raw = readJsonFile(file, 'sweep file');
      const sweep = await parseSweep(raw, { name: basename(file, extname(file)).replace(/[^A-Za-z0-9._-]/g, '-') });
      let threads = numberFlag('--threads', opts.threads, { int: true, min: 1, max: 1024 });
      const pollMs = numberFlag('--poll-ms', opts.pollMs, { int: true, min: 10, max: 600_000 });
      if (opts.dryRun) {
        // in chunks: one write per cell is slow for a million cells, one string for all of them is huge
        const cells = await expandSweep(sweep);
        for (let i = 0; i < cells.length; i += 10_000) {
          let chunk = '';
          for (const c of cells.slice(i, i + 10_000))
            chunk += `${JSON.stringify({ id: c.id, index: c.index, seed: c.seed, axes: c.axes })}\n`;
          process.stdout.write(chunk);
        }
        return;
      }
      if (opts.redis !== undefined && threads !== undefined)
        throw new UsageError('--threads: not used with --redis (each worker sets --concurrency)');
      const redis = opts.redis !== undefined ? { url: String(opts.redis), queue: queueFlag(opts.queue), pollMs } : undefined;
      if (opts.cleanRuns && redis)
        throw new UsageError(
          '--clean-runs: not allowed with --redis; expected a local sweep (with --redis the workers hold the run directories: start them with signalprop worker --clean-runs)',
        );
      if (opts.queue !== undefined && !redis)
        throw new UsageError(
          `--queue: "${opts.queue}" is not allowed without --redis; expected --redis <url> with it (a local sweep has no queue)`,
        );
      checkOutPath('--out', opts.out ?? `sweep-${sweep.name}`, 'dir');
      if (threads !== undefined) {
        const c = capThreads('--threads', threads);
        if (c.warning) progress(`signalprop: ${c.warning}`);
        threads = c.threads;
      }
      const big = !redis && (sweep.kind === 'sample' || sweep.kind === 'train') ? largestSpec(sweep) : null;
      if (big) {
        const cells = sweep.axes.reduce((n, a) => n * a.values.length, sweep.seeds.length);
        const mem = memoryProblem(
          'sweep',
          estimateSweep(cellBytes(sweep.kind, big), cells, threads ?? machineCores()),
          'the largest width, depth or batch on the axes, or --threads',
        );
        if (mem) throw new UsageError(mem);
      }
      // With --redis, Ctrl-C stops following: the cells stay queued and the workers go on. Locally,
      // SIGINT / SIGTERM stop the pool: finished cells stay stored, the running ones run again next time.
      const stop = new AbortController();
      let stopSignal: NodeJS.Signals | null = null;
      const onSigint = (sig: NodeJS.Signals) => {
        if (stopSignal && !redis) process.exit(sig === 'SIGTERM' ? 143 : 130); // a second signal: at once
        stopSignal = sig;
        stop.abort();
      };
      if (redis) process.once('SIGINT', onSigint);
      else {
        process.on('SIGINT', onSigint);
        process.on('SIGTERM', onSigint);
      }
      let s: Awaited<ReturnType<typeof runSweep>>;
      try {
        s = await asUsage(() =>
          runSweep(sweep, {
            out: opts.out ?? `sweep-${sweep.name}`,
            threads,
            redis: redis && { ...redis, signal: stop.signal },
            signal: redis ? undefined : stop.signal,
            progress: opts.progress !== false,
            cleanRuns: Boolean(opts.cleanRuns),
          }),
        );
      } catch (e) {
        if (redis && stop.signal.aborted) {
          process.stderr.write(
            'signalprop: stopped following; the remaining cells stay queued for the workers; run the same command again to collect them\n',
          );
          process.exitCode = 130;
          return;
        }
        throw e;
      } finally {
        process.off('SIGINT', onSigint);
        process.off('SIGTERM', onSigint);
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
      } else {
        const lines = [
          `sweep ${s.name} (${s.kind}, ${s.executor}): ${s.done}/${s.cells} cells done, ${s.failed} failed, ${s.skipped} skipped as already done, ${s.ran} run in ${s.seconds.toFixed(1)} s (${s.cellsPerMinute.toFixed(1)} cells/min)`,
          `records: ${s.records} in ${s.out}/records.jsonl; cells: ${s.out}/cells.jsonl`,
        ];
        if (s.duplicates) lines.push(`duplicates ignored: ${s.duplicates}`);
        if (s.foreignCells) lines.push(`note: the store also holds ${s.foreignCells} done cells that are not in this sweep`);
        for (const f of s.failures.slice(0, 20)) lines.push(`failed ${f.id} seed=${f.seed} ${JSON.stringify(f.axes)}: ${f.error}`);
        if (s.failures.length > 20) lines.push(`... and ${s.failures.length - 20} more failures (cells.jsonl)`);
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      if (s.failed > 0) process.exitCode = 1;
      if (s.interrupted) {
        const again = process.argv.slice(2).map((a) => (/^[\w./:=+,@%-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`));
        if (opts.out === undefined) again.push('--out', s.out);
        process.stderr.write(
          `signalprop: ${stopSignal ?? 'SIGINT'}: sweep interrupted with ${s.done} of ${s.cells} cells done, stored in ${s.out}; the cells that were running run again (train cells from the checkpoint they wrote) when you resume with: signalprop ${again.join(' ')}\n`,
        );
        process.exitCode = stopSignal === 'SIGTERM' ? 143 : 130;
      }
    });
}
