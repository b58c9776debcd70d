// signalprop sample: K random networks of a spec at initialization, per-layer statistics and the
// measured gradient growth next to the theory's prediction.
import type { Command } from 'commander';
import { capThreads, estimateSample, machineCores, memoryProblem } from '../../io/memory.js';
import { canonicalBackend, NATIVE_ALIASES } from '../../io/native.js';
import { LOSSES, type LossKind, specToJSON } from '../../network/index.js';
import type { SPRecord } from '../../records/index.js';
import { type BackendChoice, isBackendChoice, SAMPLE_BACKENDS } from '../../sample/linalg.js';
import { checkOutPath, numberFlag, progress, RNG_FLAG_HELP, rngFlag, UsageError, writeFileAtomic } from '../io.js';
import { nonFiniteCell, reportNonFinite } from '../nonFinite.js';
import { addSpecFlags, specFromFlags } from '../specFlags.js';

const TABLE: [string, string][] = [
  ['preact_var', 'var h'],
  ['postact_mean', 'mean φ'],
  ['postact_var', 'var φ'],
  ['corr', 'corr'],
  ['log_grad_h_sq', 'ln|dL/dh|²'],
  ['log_grad_w_sq', 'ln|dL/dW|²'],
  ['grad_growth', 'growth'],
];

function fmt(v: number | undefined): string {
  if (v === undefined) return '-';
  if (!Number.isFinite(v)) return nonFiniteCell(v);
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(3) : v.toFixed(4);
}

/** Per-layer table of the across-seed means (± sd for growth). */
export function formatSampleTable(records: SPRecord[], depth: number): string {
  const summary = new Map<string, SPRecord>();
  for (const r of records) if (r.seed === null && r.layer !== null) summary.set(`${r.quantity}:${r.layer}`, r);
  const head = ['layer', ...TABLE.map(([, h]) => h)];
  const rows: string[][] = [];
  for (let l = 1; l <= depth; l++) {
    rows.push([
      String(l),
      ...TABLE.map(([q]) => {
        const r = summary.get(`${q}:${l}`);
        if (!r) return '-';
        return q === 'grad_growth' && r.sd !== undefined && (r.n ?? 0) > 1 ? `${fmt(r.value)} ± ${fmt(r.sd)}` : fmt(r.value);
      }),
    ]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

export function register(program: Command): void {
  const cmd = program
    .command('sample')
    .description(
      'Sample K random networks of the spec at initialization (float64, real BatchNorm batch statistics): per-layer statistics and the measured gradient growth vs the theory',
    );
  addSpecFlags(cmd)
    .option('--seeds <K>', 'number of networks (default 8)')
    .option('--seed <s>', 'base seed; networks use seeds s, s+1, …, s+K−1 (default 1)')
    .option(
      '--loss <loss>',
      `${LOSSES.join(' | ')} (default readout; projection where a readout is constant: φ(γẑ + β) affine after BN; mse for linear-act-bn)`,
    )
    .option('--input-correlation <rho>', 'within-batch correlation ρ of the Gaussian inputs, in [0, 1) (default 0)')
    .option('--rng <name>', RNG_FLAG_HELP)
    .option('--threads <n>', 'worker threads (default: every core)')
    .option(
      '--backend <name>',
      `float64 kernels: auto (native when the native addon is built, else typescript) | native | typescript (default auto); native is the canonical name, ${NATIVE_ALIASES.join(' and ')} are accepted for it`,
    )
    .option('--json', 'print { spec, measuredGrowth, measuredGrowthSE, predictedGrowth, seeds, rng, records } as JSON')
    .option('--out <file>', 'also write that JSON to a file (atomically)')
    .action(async (opts: Record<string, any>) => {
      const spec = specFromFlags(opts);
      if (spec.batch === null) throw new UsageError('--batch: sampled networks need a batch size (an integer >= 2)');
      const seeds = numberFlag('--seeds', opts.seeds, { int: true, min: 1, max: 100000 }) ?? 8;
      const seed = numberFlag('--seed', opts.seed, { int: true, min: 1, max: 2147483647 }) ?? 1;
      const threads = numberFlag('--threads', opts.threads, { int: true, min: 1, max: 1024 });
      const rng = rngFlag(opts.rng);
      const rho = numberFlag('--input-correlation', opts.inputCorrelation, { min: 0 });
      if (rho !== undefined && !(rho < 1))
        throw new UsageError(`--input-correlation: "${opts.inputCorrelation}" is not allowed; expected a number >= 0 and < 1`);
      if (opts.backend !== undefined && !isBackendChoice(opts.backend))
        throw new UsageError(
          `--backend: "${opts.backend}" is not allowed; expected ${SAMPLE_BACKENDS.join(' | ')} (native is also accepted as ${NATIVE_ALIASES.join(' or ')})`,
        );
      const backend = opts.backend === undefined ? undefined : canonicalBackend(opts.backend as BackendChoice);
      let loss: LossKind | undefined;
      if (opts.loss !== undefined) {
        if (!(LOSSES as readonly string[]).includes(opts.loss))
          throw new UsageError(`--loss: "${opts.loss}" is not allowed; expected ${LOSSES.join(' | ')}`);
        loss = opts.loss as LossKind;
      }
      checkOutPath('--out', opts.out, 'file');
      let threadsUsed = threads;
      if (threads !== undefined) {
        const c = capThreads('--threads', threads);
        if (c.warning) progress(`signalprop: ${c.warning}`);
        threadsUsed = c.threads;
      }
      const mem = memoryProblem(
        'sample',
        estimateSample(spec, seeds, threadsUsed ?? machineCores()),
        '--width, --depth, --batch or --threads',
      );
      if (mem) throw new UsageError(mem);
      const { kernels, sampleNetwork } = await import('../../sample/index.js');
      const { chooseLoss } = await import('../../sample/sampler.js');
      if (backend === 'native') {
        try {
          kernels('native');
        } catch (e) {
          throw new UsageError(`--backend: "${opts.backend}" is not allowed here; ${(e as Error).message.replace(/^backend: /, '')}`);
        }
      }
      let chosen: ReturnType<typeof chooseLoss>;
      try {
        chosen = chooseLoss(spec, loss);
      } catch (e) {
        throw new UsageError(`--${(e as Error).message}`);
      }
      progress(`sample: ${seeds} network(s), depth ${spec.depth}, batch ${spec.batch}, loss ${chosen.loss}`);
      if (chosen.note) progress(`sample: ${chosen.note}`);
      let last = 0;
      const res = await sampleNetwork(spec, {
        seeds,
        baseSeed: seed,
        loss,
        inputCorrelation: rho,
        rng,
        threads: threadsUsed,
        backend,
        onProgress: (done, total) => {
          const now = Date.now();
          if (done === total || now - last > 500) {
            progress(`sample: ${done}/${total} networks`);
            last = now;
          }
        },
      });
      const out = {
        spec: specToJSON(spec),
        measuredGrowth: res.measuredGrowth,
        measuredGrowthSE: res.measuredGrowthSE,
        predictedGrowth: res.predictedGrowth,
        interior: res.interior,
        seeds: res.seeds,
        rng: res.rng,
        backend: res.backend,
        loss: res.loss,
        lossNote: res.lossNote,
        records: res.records,
      };
      const json = JSON.stringify(out);
      if (opts.out) writeFileAtomic(opts.out, `${json}\n`);
      reportNonFinite('sample', spec, res.records, { name: 'measured growth', value: res.measuredGrowth });
      if (opts.json) {
        process.stdout.write(`${json}\n`);
        return;
      }
      const lines = [
        formatSampleTable(res.records, spec.depth),
        '',
        res.interior[1] < res.interior[0]
          ? `measured growth of ‖∂L/∂h‖² per layer: none (depth ${spec.depth} has no interior layers: layer 1 is not at the fixed point; the growth needs depth >= 3)`
          : `measured growth of ‖∂L/∂h‖² per layer: ${fmt(res.measuredGrowth)} ± ${fmt(res.measuredGrowthSE)} (SE; geometric mean over layers ${res.interior[0]}–${res.interior[1]} and ${seeds} seed(s))`,
        `predicted growth (theory): ${res.predictedGrowth === null ? 'none for this spec' : fmt(res.predictedGrowth)}`,
        `kernels: ${res.backend}; generator: ${res.rng}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
