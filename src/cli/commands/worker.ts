// signalprop worker --redis URL: take sweep cells from BullMQ and run them on this machine's cores.
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { capThreads } from '../../io/memory.js';
import { STALL_DEFAULTS } from '../../sweep/constants.js';
import { checkOutPath, numberFlag, progress, UsageError } from '../io.js';
import { asUsage, queueFlag, registerRunners, runnerFlag } from './sweep.js';

export function register(program: Command): void {
  program
    .command('worker')
    .description('Take sweep cells from a BullMQ queue on Redis and run them (start one per machine; stop with Ctrl-C)')
    .requiredOption(
      '--redis <url>',
      'redis://[:password@]host:port[/db] of the queue (the same as the submitting `signalprop sweep --redis`)',
    )
    .option('--concurrency <N>', 'cells run at once on this machine, each on its own thread (default 1)')
    .option('--queue <name>', 'BullMQ queue name (default signalprop-sweep)')
    .option(
      '--lock-duration <ms>',
      `a cell's lock lives this long without renewal; a killed worker's cell is retried after about this long (default ${STALL_DEFAULTS.lockDuration})`,
    )
    .option('--stalled-interval <ms>', `how often to look for cells of dead workers (default ${STALL_DEFAULTS.stalledInterval})`)
    .option(
      '--max-stalled <N>',
      `how often one cell may be recovered from a dead worker before it is recorded as failed (default ${STALL_DEFAULTS.maxStalledCount})`,
    )
    .option('--runner <kind=module>', 'register a custom cell kind from a module (repeatable; the submitter needs it too)', runnerFlag)
    .option('--run-dir <dir>', 'where cells may write run directories (default: <tmp>/signalprop-runs)')
    .option(
      '--clean-runs',
      "delete each cell's run directory (train checkpoints) once its result is sent, done or failed (default: keep them, so a cell recovered on this machine resumes)",
    )
    .option('--exit-when-idle <s>', 'stop after this many seconds without a cell (default: run until stopped)')
    .action(async (opts: Record<string, any>) => {
      await registerRunners(opts.runner);
      const { cellKindModules, redactUrl, startWorker } = await import('../../sweep/index.js');
      const asked = numberFlag('--concurrency', opts.concurrency, { int: true, min: 1, max: 1024 }) ?? 1;
      const capped = capThreads('--concurrency', asked);
      if (capped.warning) progress(`signalprop: ${capped.warning}`);
      const concurrency = capped.threads;
      const lockDuration = numberFlag('--lock-duration', opts.lockDuration, { int: true, min: 100, max: 86_400_000 });
      const stalledInterval = numberFlag('--stalled-interval', opts.stalledInterval, { int: true, min: 100, max: 86_400_000 });
      const maxStalledCount = numberFlag('--max-stalled', opts.maxStalled, { int: true, min: 0, max: 1000 });
      const idle = numberFlag('--exit-when-idle', opts.exitWhenIdle, { min: 0 });
      checkOutPath('--run-dir', opts.runDir, 'dir');
      if (lockDuration !== undefined && stalledInterval !== undefined && stalledInterval > lockDuration) {
        throw new UsageError(
          `--stalled-interval: ${stalledInterval} is not allowed; expected at most --lock-duration (${lockDuration}) so that dead workers are noticed promptly`,
        );
      }
      const url = String(opts.redis);
      const w = await asUsage(() =>
        startWorker({
          url,
          queue: queueFlag(opts.queue),
          concurrency,
          lockDuration,
          stalledInterval,
          maxStalledCount,
          modules: cellKindModules(),
          runRoot: resolve(opts.runDir ?? join(tmpdir(), 'signalprop-runs')),
          cleanRuns: Boolean(opts.cleanRuns),
          idleExitMs: idle === undefined ? undefined : idle * 1000,
          log: (m) => progress(`worker: ${m}`),
        }),
      );
      progress(`worker: ready on ${redactUrl(url)} queue ${queueFlag(opts.queue)}, ${concurrency} thread(s), pid ${process.pid}`);
      let signals = 0;
      const stop = (sig: string) => {
        if (++signals > 1) process.exit(130);
        progress(`worker: ${sig}: finishing running cells (again to quit at once)`);
        void w.close();
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
      await w.closed;
      progress(`worker: stopped after ${w.finished()} cell(s)`);
    });
}
