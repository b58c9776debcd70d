// signalprop reproduce: every claim of Paik & Choi (2023) and Yang et al. (2019), theory against practice.
import type { Command } from 'commander';
import { join } from 'node:path';
import {
  type CellExecutor,
  CellFailedError,
  localExecutor,
  redisExecutor,
  reproduce,
  SCALES,
  type Scale,
  type Study,
} from '../../reproduce/index.js';
import { defaultThreads } from '../../parallel/pool.js';
import { capThreads, cellBytes, formatBytes, machineMemory, THREAD_BYTES } from '../../io/memory.js';
import { makeSpec } from '../../network/index.js';
import { checkOutPath, numberFlag, progress, UsageError } from '../io.js';
import { asUsage } from './compare.js';
import { queueFlag } from './sweep.js';
import { DEFAULT_QUEUE } from '../../sweep/constants.js';
import { packageVersion } from '../../io/package.js';

/**
 * The threads the studies can run on in this machine's memory: each thread holds one of a study's pieces
 * of work at a time (a sampled network, a training run), so the largest piece (Study.largest, estimated as
 * a sweep cell) times the threads must fit. Fewer threads when they would not (a warning); exit 2 when not
 * even one fits.
 */
function fitThreads(studies: Study[], scale: Scale, threads: number): number {
  let big = 0;
  let what = '';
  for (const s of studies) {
    for (const w of s.largest?.(scale) ?? []) {
      const b = cellBytes(w.kind, makeSpec(w.spec)) + THREAD_BYTES;
      if (b > big) {
        big = b;
        what = w.what;
      }
    }
  }
  if (big === 0) return threads;
  const have = machineMemory();
  const fit = Math.floor(have / big);
  if (fit < 1) {
    throw new UsageError(
      `reproduce: needs ≈ ${formatBytes(big)} of memory for ${what} at --scale ${scale}; this machine has ${formatBytes(have)}; use a smaller --scale`,
    );
  }
  if (fit >= threads) return threads;
  progress(
    `signalprop: reproduce: ${threads} threads would need ≈ ${formatBytes(big * threads)} of memory (${what}: ${formatBytes(big)} per thread); this machine has ${formatBytes(have)}; using ${fit}`,
  );
  return fit;
}

export function register(program: Command): void {
  program
    .command('reproduce')
    .description("Reproduce the seed paper's claims (Paik & Choi 2023; Yang et al. 2019): studies, figures, REPORT.md and report.html")
    .option('--scale <scale>', `tiny | default | paper (default: under 15 min on 2 cores; paper: full size)`, 'default')
    .option('--only <ids>', 'comma-separated study ids to run (e.g. claim2,claim5)')
    .option('--fresh', 'redo finished studies instead of reusing their results')
    .option('--out <dir>', 'where figures and the report go', 'figures')
    .option('--cache <dir>', 'where finished study results are kept for reuse', '.runs/reproduce')
    .option('--threads <n>', 'worker threads of the local pool (default: every core)')
    .option(
      '--redis <url>',
      "run the studies' cells (sample and train runs) as BullMQ jobs at redis://[:password@]host:port[/db], taken by `signalprop worker`s on any machines",
    )
    .option('--queue <name>', `with --redis: the BullMQ queue (default ${DEFAULT_QUEUE})`)
    .option('--format <list>', 'figure files: comma-separated svg, png, pdf (svg and png are needed by the reports)', 'svg,png,pdf')
    .option('--list', 'list the studies and exit')
    .action(async (opts) => {
      const { STUDIES } = (await import('../../../analysis/index.js')) as { STUDIES: Study[] };
      if (opts.list) {
        for (const s of STUDIES) process.stdout.write(`${s.id}\t${s.title}\n`);
        return;
      }
      if (!SCALES.includes(opts.scale)) throw new UsageError(`--scale: "${opts.scale}" is not allowed; expected ${SCALES.join(' | ')}`);
      const ids = STUDIES.map((s) => s.id);
      const only = opts.only
        ? String(opts.only)
            .split(',')
            .map((s: string) => s.trim())
        : [];
      for (const id of only)
        if (!ids.includes(id)) throw new UsageError(`--only: "${id}" is not a study; expected one of ${ids.join(', ')}`);
      const asked = numberFlag('--threads', opts.threads, { int: true, min: 1, max: 256 });
      if (opts.redis !== undefined && asked !== undefined)
        throw new UsageError('--threads: not used with --redis (the cells run on the workers; each worker sets --concurrency)');
      if (opts.queue !== undefined && opts.redis === undefined)
        throw new UsageError(
          `--queue: "${opts.queue}" is not allowed without --redis; expected --redis <url> with it (a local run has no queue)`,
        );
      const queue = opts.redis !== undefined ? queueFlag(opts.queue) : undefined;
      const capped = asked === undefined ? null : capThreads('--threads', asked);
      if (capped?.warning) progress(`signalprop: ${capped.warning}`);
      // with --redis each worker checks its own memory against the cells it takes
      const threads =
        opts.redis !== undefined
          ? (capped?.threads ?? defaultThreads())
          : fitThreads(
              STUDIES.filter((s) => only.length === 0 || only.includes(s.id)),
              opts.scale as Scale,
              capped?.threads ?? defaultThreads(),
            );
      const { parseFormats } = await import('../../figures/paper.js');
      const formats = await asUsage(() => parseFormats('--format', String(opts.format)));
      for (const need of ['svg', 'png'] as const)
        if (!formats.includes(need))
          throw new UsageError(
            `--format: "${opts.format}" is not allowed; expected a list with svg and png (report.html inlines the SVGs, REPORT.md links the PNGs), e.g. svg,png,pdf`,
          );
      checkOutPath('--out', opts.out, 'dir');
      checkOutPath('--cache', opts.cache, 'dir');
      // finished cells are kept by id beside the study results, so a run that stopped continues where it was
      const execOpts = { cellCache: join(opts.cache, 'cells'), fresh: Boolean(opts.fresh) };
      let executor: CellExecutor;
      if (opts.redis !== undefined) {
        const url = String(opts.redis);
        const { checkRedis, redactUrl } = await import('../../sweep/redis.js');
        await asUsage(() => checkRedis(url));
        executor = redisExecutor({ ...execOpts, url, queue, log: (m) => progress(`signalprop: ${m}`) });
        progress(
          `signalprop: reproduce: cells go to queue ${queue} at ${redactUrl(url)}; start workers with signalprop worker --redis <url> --queue ${queue}`,
        );
      } else executor = localExecutor(threads, execOpts);
      const { studyRenderer } = await import('../../../analysis/render.js');
      // the study renderer writes each figure in the formats asked (svg, png and, by default, pdf)
      const renderer = studyRenderer();
      const t0 = performance.now();
      let outcomes: Awaited<ReturnType<typeof reproduce>>;
      try {
        outcomes = await reproduce({
          executor,
          studies: STUDIES,
          scale: opts.scale as Scale,
          only,
          fresh: Boolean(opts.fresh),
          outDir: opts.out,
          cacheDir: opts.cache,
          threads,
          version: packageVersion(),
          renderer,
          formats,
          progress,
        }).finally(() => executor.close());
      } catch (e) {
        if (!(e instanceof CellFailedError)) throw e;
        // one line, exit 1: the finished cells are kept, so the same command continues (and retries the cell)
        progress(
          `signalprop: reproduce: ${e.message}; finished cells are kept in ${join(opts.cache, 'cells')}, run the same command again to continue`,
        );
        process.exitCode = 1;
        return;
      }
      for (const o of outcomes) process.stdout.write(`${o.id}\t${o.verdict}\t${o.title}\n`);
      process.stdout.write(`report: ${opts.out}/REPORT.md, ${opts.out}/report.html (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
    });
}
