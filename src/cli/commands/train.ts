// signalprop train: real training on TensorFlow.js with per-layer probes (src/train).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { LockError } from '../../io/lock.js';
import { capThreads, estimateTrain, memoryProblem } from '../../io/memory.js';
import { NATIVE_ALIASES } from '../../io/native.js';
import { type NetworkSpec, specToJSON } from '../../network/index.js';
import {
  BACKENDS,
  dataDim,
  initBackend,
  makeDataConfig,
  OPTIMIZERS,
  SCHEDULES,
  type TrainConfig,
  TrainConfigError,
  trainRun,
} from '../../train/index.js';
import { checkOutPath, numberFlag, RNG_FLAG_HELP, readJsonFile, rngFlag, UsageError } from '../io.js';
import { addSpecFlags, specFromFlags, TRAIN_CONFIG_FIELDS } from '../specFlags.js';

function asObject(v: unknown, key: string): Record<string, unknown> {
  if (v == null) return {};
  if (typeof v === 'string') return { kind: v };
  if (typeof v === 'object' && !Array.isArray(v)) return { ...(v as Record<string, unknown>) };
  throw new UsageError(`${key}: ${JSON.stringify(v)} is not allowed; expected an object or a kind name`);
}

/** The TrainConfig of --config (a train config, or a bare spec) and the flags; flags win. */
export function trainConfigFromFlags(opts: Record<string, any>): TrainConfig {
  let file: Record<string, unknown> = {};
  if (opts.config) {
    const raw = readJsonFile(opts.config, '--config');
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      throw new UsageError(
        `--config: "${opts.config}" is not allowed; expected a JSON object (a train config, a spec or a run's manifest.json)`,
      );
    const r = raw as Record<string, any>;
    if (r.format === 'signalprop-train-run') {
      // a run's manifest.json: the config it ran
      if (!r.config || typeof r.config !== 'object')
        throw new UsageError(
          `--config: "${opts.config}" is a train run manifest without a config; expected a manifest.json written by signalprop train`,
        );
      file = { ...r.config };
    } else {
      const isTrain = Object.keys(raw).some((k) => TRAIN_CONFIG_FIELDS.includes(k) && k !== 'spec') || 'spec' in raw;
      file = isTrain ? (raw as Record<string, unknown>) : { spec: raw };
    }
  } else if (opts.resume && opts.out && existsSync(join(opts.out, 'manifest.json'))) {
    // resume without a config: the run's own config
    file = (readJsonFile(join(opts.out, 'manifest.json'), '--out') as any).config ?? {};
    if (!('steps' in file)) throw new UsageError(`--out: ${join(opts.out, 'manifest.json')} has no config; is it a signalprop train run?`);
  }
  const cfg: Record<string, unknown> = { ...file };
  // data first: its dimension is the spec's default inputDim
  let data: unknown = file.data;
  if (opts.data !== undefined) data = opts.data;
  if (opts.rho !== undefined) {
    const d = asObject(data ?? 'synthetic', '--data');
    if ((d.kind ?? 'synthetic') !== 'synthetic') throw new UsageError(`--rho: only applies to --data synthetic (the data is ${d.kind})`);
    data = { ...d, rho: numberFlag('--rho', opts.rho, { min: 0, max: 0.999999 }) };
  }
  if (data !== undefined) cfg.data = data;
  let dim: number | null = null;
  try {
    dim = dataDim(makeDataConfig(cfg.data));
  } catch (e) {
    if (e instanceof TrainConfigError) throw new UsageError(e.message);
    throw e;
  }
  const specDefaults = dim !== null ? { inputDim: dim } : {};
  const spec = specFromFlags(
    { ...opts, config: undefined },
    {
      ...(file.spec as object),
      ...specDefaults,
      ...(file.spec && (file.spec as any).inputDim !== undefined ? { inputDim: (file.spec as any).inputDim } : {}),
    },
  );
  cfg.spec = specToJSON(spec);
  if (opts.loss !== undefined) cfg.loss = opts.loss;
  // optimizer: --optimizer picks the kind (options from the file are kept only for the same kind)
  let opt = asObject(file.optimizer, 'optimizer');
  if (opts.optimizer !== undefined && opts.optimizer !== (opt.kind ?? 'sgd')) opt = { kind: opts.optimizer };
  const optFlags: [string, string, { int?: boolean; min?: number; max?: number }][] = [
    ['lr', '--lr', {}],
    ['momentum', '--momentum', {}],
    ['weightDecay', '--weight-decay', {}],
    ['trustCoefficient', '--trust-coefficient', {}],
    ['clipLow', '--clip-low', {}],
    ['clipHigh', '--clip-high', {}],
  ];
  for (const [key, flag] of optFlags) {
    const v = numberFlag(flag, opts[key]);
    if (v !== undefined) opt[key] = v;
  }
  if (opts.nesterov) opt.nesterov = true;
  if (Object.keys(opt).length) cfg.optimizer = opt;
  // schedule
  let sch = asObject(file.schedule, 'schedule');
  if (opts.schedule !== undefined) sch = { ...sch, kind: opts.schedule };
  if (opts.warmup !== undefined) {
    sch.warmupSteps = numberFlag('--warmup', opts.warmup, { int: true, min: 0 });
    if (sch.kind === undefined) sch.kind = 'warmup';
  }
  // step: the decay's period and factor (without --step-size a step schedule could not be set from flags)
  if (opts.stepSize !== undefined || opts.stepGamma !== undefined) {
    if ((sch.kind ?? 'constant') !== 'step')
      throw new UsageError(
        `--step-size / --step-gamma: "${opts.stepSize ?? opts.stepGamma}" is not allowed; expected --schedule step (the schedule is ${sch.kind ?? 'constant'})`,
      );
    if (opts.stepSize !== undefined) sch.stepSize = numberFlag('--step-size', opts.stepSize, { int: true, min: 1 });
    if (opts.stepGamma !== undefined) sch.gamma = numberFlag('--step-gamma', opts.stepGamma, { min: Number.MIN_VALUE, max: 1 });
  }
  if (Object.keys(sch).length) cfg.schedule = sch;
  // clipping
  if (opts.clip !== undefined && opts.clipLayer !== undefined)
    throw new UsageError('--clip and --clip-layer: choose one (global or per-layer gradient-norm clipping)');
  if (opts.clip !== undefined) cfg.clip = { kind: 'global', maxNorm: numberFlag('--clip', opts.clip) };
  if (opts.clipLayer !== undefined) cfg.clip = { kind: 'layer', maxNorm: numberFlag('--clip-layer', opts.clipLayer) };
  cfg.steps = numberFlag('--steps', opts.steps, { int: true, min: 1 }) ?? file.steps ?? 100;
  cfg.seed = numberFlag('--seed', opts.seed, { int: true, min: 1, max: 2147483647 }) ?? file.seed ?? 1;
  const rng = rngFlag(opts.rng);
  if (rng !== undefined) cfg.rng = rng;
  if (opts.backend !== undefined) cfg.backend = opts.backend;
  if (opts.probes === false && (opts.probeEvery !== undefined || opts.probeDense !== undefined)) {
    const [flag, v] = opts.probeEvery !== undefined ? ['--probe-every', opts.probeEvery] : ['--probe-dense', opts.probeDense];
    throw new UsageError(`${flag}: "${v}" is not allowed with --no-probes; expected one of them (--no-probes records no probes at all)`);
  }
  if (opts.probes === false) cfg.probe = false;
  else if (opts.probeEvery !== undefined || opts.probeDense !== undefined) {
    const p = file.probe && typeof file.probe === 'object' ? { ...(file.probe as object) } : {};
    cfg.probe = {
      ...p,
      ...(opts.probeEvery !== undefined ? { every: numberFlag('--probe-every', opts.probeEvery, { int: true, min: 1 }) } : {}),
      ...(opts.probeDense !== undefined ? { dense: numberFlag('--probe-dense', opts.probeDense, { int: true, min: 0 }) } : {}),
    };
  }
  if (opts.checkpointEvery !== undefined)
    cfg.checkpointEvery = numberFlag('--checkpoint-every', opts.checkpointEvery, { int: true, min: 1 });
  return cfg as unknown as TrainConfig;
}

/** The command that continues the run in dir (quoted for a POSIX shell where needed). */
function resumeHint(dir: string): string {
  const abs = resolve(dir);
  const q = /^[\w./:=+,@%-]+$/.test(abs) ? abs : `'${abs.replace(/'/g, `'\\''`)}'`;
  return `signalprop train --resume --out ${q}`;
}

/** The exit code of a process ended by a signal (128 + its number). */
function signalExitCode(sig: NodeJS.Signals): number {
  return 128 + (sig === 'SIGTERM' ? 15 : sig === 'SIGHUP' ? 1 : 2);
}

export function register(program: Command): void {
  const cmd = program
    .command('train')
    .description('Train the network of a spec on TensorFlow.js and record per-layer probes (records with source "trained").')
    .option(
      '--data <data>',
      "synthetic | mnist | fashion-mnist | csv:<path> (synthetic: correlated Gaussian inputs, teacher labels; fashion-mnist: Debian's dataset-fashion-mnist)",
    )
    .option('--rho <ρ>', 'synthetic data: within-batch input correlation in [0, 1)')
    .option('--loss <loss>', 'xent | mse', undefined)
    .option('--optimizer <kind>', OPTIMIZERS.join(' | '))
    .option('--lr <v>', 'base learning rate')
    .option('--momentum <μ>', 'momentum (momentum, lars, lalc)')
    .option('--nesterov', 'Nesterov momentum (momentum, lars, lalc)')
    .option('--weight-decay <v>', 'L2 weight decay')
    .option('--trust-coefficient <η>', 'lars / lalc trust coefficient η')
    .option('--clip-low <v>', 'lalc: lower bound of the layer factor')
    .option('--clip-high <v>', 'lalc: upper bound of the layer factor (<= 1)')
    .option('--schedule <kind>', SCHEDULES.join(' | '))
    .option('--warmup <steps>', 'linear warmup steps (with any schedule)')
    .option('--step-size <n>', 'step schedule: multiply the rate by --step-gamma every n steps')
    .option('--step-gamma <γ>', 'step schedule: the factor, in (0, 1] (default 0.1)')
    .option('--clip <maxNorm>', 'global gradient-norm clipping')
    .option('--clip-layer <maxNorm>', 'per-layer (per-tensor) gradient-norm clipping')
    .option('--steps <n>', 'training steps (default 100)')
    .option('--seed <s>', 'seed, an integer >= 1 (default 1)')
    .option('--rng <name>', `${RNG_FLAG_HELP}; --resume needs the run's own`)
    .option(
      '--backend <name>',
      `${BACKENDS.join(' | ')} (default auto: native when the native addon is built, else wasm; node/node-gpu need @tensorflow/tfjs-node(-gpu) installed); native is the canonical name, ${NATIVE_ALIASES.join(' and ')} are accepted for it`,
    )
    .option('--threads <n>', 'native backend: BLAS threads (default: every core); the records do not depend on it')
    .option('--probe-every <n>', 'after the dense phase, probe every n steps (default: log-spaced)')
    .option('--probe-dense <k>', 'probe every step for the first k steps (default 20)')
    .option('--no-probes', 'record only the loss (and the final test metrics)')
    .option('--checkpoint-every <n>', 'checkpoint every n steps (default steps/10)')
    .option('--out <runDir>', 'run directory: manifest.json, records.jsonl, checkpoints (without it nothing is written)')
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .option('--json', 'print the summary as JSON');
  addSpecFlags(cmd);
  cmd.addHelpText(
    'after',
    '\n--config <file> holds a train config {spec, data, loss, optimizer, schedule, clip, steps, seed, rng, probe, backend} (see docs/training.md) or a bare spec; flags override it.',
  );
  cmd.action(async (opts: Record<string, any>) => {
    if (opts.resume && !opts.out) throw new UsageError('--resume: needs --out <runDir> (the run to continue)');
    checkOutPath('--out', opts.out, 'dir');
    if (opts.resume && !existsSync(join(opts.out, 'manifest.json'))) {
      const why = existsSync(opts.out) ? 'it has no manifest.json' : 'it does not exist';
      throw new UsageError(
        `--resume: "${opts.out}" holds no run to continue (${why}); expected the --out of an earlier train run, or drop --resume to start a new one`,
      );
    }
    const config = trainConfigFromFlags(opts);
    const asked = numberFlag('--threads', opts.threads, { int: true, min: 1, max: 1024 });
    const capped = asked === undefined ? null : capThreads('--threads', asked);
    if (capped?.warning) process.stderr.write(`signalprop: ${capped.warning}\n`);
    const threads = capped?.threads ?? null;
    const dataKind = typeof config.data === 'string' ? config.data : (config.data as { kind?: string } | undefined)?.kind;
    const mem = memoryProblem(
      'train',
      estimateTrain(config.spec as unknown as NetworkSpec, dataKind === 'mnist' ? 70_000 * 785 * 4 * 2 : 0),
      '--width, --depth or --batch',
    );
    if (mem) throw new UsageError(mem);
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        noTTYOutput: true,
        notTTYSchedule: 5000,
        format: 'train |{bar}| {value}/{total} steps | loss {loss}',
        hideCursor: false,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    let result: Awaited<ReturnType<typeof trainRun>>;
    // SIGINT / SIGTERM: finish the step, checkpoint, mark the run interrupted (a second signal exits at once)
    const stop = new AbortController();
    let stopSignal: NodeJS.Signals | null = null;
    const onSignal = (sig: NodeJS.Signals) => {
      if (stopSignal) {
        process.stderr.write(
          `\nsignalprop: ${sig} again: stopped without a checkpoint${opts.out ? `; ${resumeHint(opts.out)} continues from the last one` : ''}\n`,
        );
        process.exit(signalExitCode(sig));
      }
      stopSignal = sig;
      stop.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      result = await trainRun(config, {
        signal: stop.signal,
        threads,
        runDir: opts.out,
        resume: Boolean(opts.resume),
        onProgress: (step, total, loss) => {
          if (!started) {
            bar.start(total, step, { loss: '…' });
            started = true;
          }
          bar.update(step, { loss: Number.isFinite(loss) ? loss.toPrecision(4) : String(loss) });
        },
      });
    } catch (e) {
      if (started) bar.stop();
      if (e instanceof TrainConfigError) throw new UsageError(e.message);
      if (e instanceof LockError) throw new UsageError(`--out: ${e.message}`);
      throw e;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    if (started) bar.stop();
    if (result.status === 'interrupted') {
      const sig = stopSignal ?? 'SIGINT';
      const where = opts.out ? `checkpointed in ${opts.out}; ${resumeHint(opts.out)} continues it` : 'nothing was saved (no --out)';
      process.stderr.write(`signalprop: ${sig}: interrupted after step ${result.steps} of ${config.steps ?? result.steps}; ${where}\n`);
      process.exitCode = signalExitCode(sig);
    } else if (stopSignal) {
      // the signal came after the last step (during the final evaluation or the last writes): the run is
      // complete and stored, but the command was interrupted, and says so with the signal's exit code
      const where = opts.out ? `it is complete in ${opts.out}` : 'its results are printed below';
      process.stderr.write(`signalprop: ${stopSignal}: received after the last step, while the run was finishing; ${where}\n`);
      process.exitCode = signalExitCode(stopSignal);
    }
    const backend = await initBackend(config.backend ?? 'auto', threads);
    const summary = {
      status: result.status,
      steps: result.steps,
      ...(result.divergedAt !== undefined ? { divergedAt: result.divergedAt } : {}),
      final: result.final,
      // the records themselves, as `sample --json` prints them (their count: records.length)
      records: result.records,
      runDir: opts.out ?? null,
      backend: {
        name: backend.name,
        tfjsVersion: backend.tfjsVersion,
        gpu: backend.gpu,
        ...(backend.threads !== undefined ? { threads: backend.threads } : {}),
      },
    };
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      return;
    }
    const f = (v: number | undefined) => (v === undefined ? '—' : Number.isFinite(v) ? v.toPrecision(4) : String(v));
    const lines = [
      `status: ${result.status}${result.divergedAt !== undefined ? ` at step ${result.divergedAt}` : ''} (${result.steps} steps)`,
      `train (last batch): loss ${f(result.final.loss)}, accuracy ${f(result.final.accuracy)}`,
      `test: loss ${f(result.final.testLoss)}, accuracy ${f(result.final.testAccuracy)}`,
      `backend: ${backend.name} (tfjs ${backend.tfjsVersion}${backend.gpu ? ', GPU' : ', CPU'})`,
      `records: ${result.records.length}${opts.out ? ` in ${join(opts.out, 'records.jsonl')}` : ' (not written: pass --out <runDir>)'}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  });
}
