// signalprop <command>: every command calls the same functions as the API.
// Only the module of the command being run is loaded (the others would pull in tfjs, vega, BullMQ, …),
// so `signalprop --help` and `--version` start fast; the help lists every command from the table below.
import { Command, CommanderError } from 'commander';
import { InputError } from '../network/errors.js';
import { packageVersion } from '../io/package.js';

type Loader = () => Promise<{ register: (p: Command) => void }>;

/** Each command: its one-line summary and its module (which exports `register(program)`). */
const COMMANDS: Record<string, { summary: string; load: Loader }> = {
  network: {
    summary: 'the layer list a spec describes: a preset expanded, or a --layers file checked',
    load: () => import('./commands/network.js'),
  },
  predict: {
    summary: 'theory: per-layer variances, correlations, gradient growth λ(B), depth scale',
    load: () => import('./commands/predict.js'),
  },
  sample: {
    summary: 'real random networks at initialization, K seeds: measured growth against predicted',
    load: () => import('./commands/sample.js'),
  },
  spectrum: {
    summary: 'input-output Jacobian singular values against the free-probability density',
    load: () => import('./commands/spectrum.js'),
  },
  train: { summary: 'real training on TensorFlow.js with per-layer probes', load: () => import('./commands/train.js') },
  probe: { summary: 'train a saved tfjs model with per-layer probes, its theory overlaid', load: () => import('./commands/probe.js') },
  compare: {
    summary: 'join theory, sampled and trained records: ratios, log errors, spread distances',
    load: () => import('./commands/compare.js'),
  },
  figure: { summary: 'one Vega-Lite figure from records: .vl.json, .svg, .png', load: () => import('./commands/figure.js') },
  report: { summary: 'a self-contained HTML report of every figure the records support', load: () => import('./commands/report.js') },
  sweep: { summary: 'run a grid of cells on every core, or on Redis workers (BullMQ)', load: () => import('./commands/sweep.js') },
  worker: { summary: 'take sweep cells from Redis and run them', load: () => import('./commands/worker.js') },
  reproduce: {
    summary: "the seed paper's claims, theory against measurement, with figures and a report",
    load: () => import('./commands/reproduce.js'),
  },
  explore: {
    summary: 'an interactive page where the theory runs live in the browser, records overlaid',
    load: () => import('./commands/explore.js'),
  },
};

export const COMMAND_NAMES = Object.keys(COMMANDS);

/** System error codes that mean a bad path given by the user (exit 2); others (ENOSPC, EIO, …) exit 1. */
const PATH_CODES = new Set(['EACCES', 'EPERM', 'EISDIR', 'ENOTDIR', 'ENOENT', 'EROFS', 'EEXIST', 'ENAMETOOLONG', 'ELOOP', 'EXDEV']);

const pkg = { version: packageVersion() };

/** The command named on the command line (`signalprop <cmd> …` or `signalprop help <cmd>`), if any. */
function commandIn(argv: string[]): string | undefined {
  const args = argv.slice(2);
  const first = args.find((a) => !a.startsWith('-'));
  if (first === 'help') return args[args.indexOf('help') + 1];
  return first;
}

export async function buildProgram(argv: string[] = process.argv): Promise<Command> {
  const program = new Command();
  program
    .name('signalprop')
    .description('Predict, measure and plot signal propagation in deep networks (BatchNorm mean field vs real nets).')
    .version(pkg.version)
    .exitOverride();
  const wanted = commandIn(argv);
  for (const [name, c] of Object.entries(COMMANDS)) {
    if (name === wanted) (await c.load()).register(program);
    else program.command(name).description(c.summary).allowUnknownOption().helpOption(false);
  }
  // a usage error is one line: commander's message and its suggestion joined, then where the help is
  const oneLine = (cmd: Command) => ({
    outputError: (str: string, write: (s: string) => void) => {
      const msg = str
        .replace(/^error: /, '')
        .trim()
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .join(' ');
      const name = cmd === program ? 'signalprop' : `signalprop ${cmd.name()}`;
      write(`signalprop: ${msg}; see ${name} --help\n`);
    },
  });
  program.showHelpAfterError(false).configureOutput(oneLine(program));
  for (const c of program.commands) c.exitOverride().showHelpAfterError(false).configureOutput(oneLine(c));
  return program;
}

export async function main(argv = process.argv): Promise<number> {
  const program = await buildProgram(argv);
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2; // commander already printed the message
    }
    if (e instanceof InputError) {
      process.stderr.write(`signalprop: ${(e as Error).message}\n`);
      return 2;
    }
    // A file-system error the checks before the work could not foresee (a race, a full disk): one line, no stack.
    const sys = e as NodeJS.ErrnoException;
    if (typeof sys?.code === 'string' && typeof sys.syscall === 'string') {
      process.stderr.write(`signalprop: ${sys.syscall} ${sys.path ?? ''}: ${sys.code} (${sys.message.replace(/^[A-Z]+: /, '')})\n`);
      return PATH_CODES.has(sys.code) ? 2 : 1;
    }
    process.stderr.write(`signalprop: ${(e as Error).stack ?? e}\n`);
    return 1;
  }
}
