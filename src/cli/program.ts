// signalprop <command>: every command calls the same functions as the API.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { SpecError } from '../spec/index.js';
import { UsageError } from './io.js';

// One line per command module; each exports `register(program)`.
const COMMANDS: (() => Promise<{ register: (p: Command) => void }>)[] = [
  () => import('./commands/compare.js'),
  () => import('./commands/figure.js'),
  () => import('./commands/report.js'),
  () => import('./commands/train.js'),
  () => import('./commands/sample.js'),
  () => import('./commands/spectrum.js'),
  () => import('./commands/predict.js'),
];

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));

export async function buildProgram(): Promise<Command> {
  const program = new Command();
  program
    .name('signalprop')
    .description('Predict, measure and plot signal propagation in deep networks (BatchNorm mean field vs real nets).')
    .version(pkg.version)
    .showHelpAfterError()
    .exitOverride();
  for (const load of COMMANDS) (await load()).register(program);
  for (const c of program.commands) c.exitOverride();
  return program;
}

export async function main(argv = process.argv): Promise<number> {
  const program = await buildProgram();
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2; // commander already printed the message
    }
    if (e instanceof UsageError || e instanceof SpecError || (e as Error).name === 'SeedError') {
      process.stderr.write(`signalprop: ${(e as Error).message}\n`);
      return 2;
    }
    process.stderr.write(`signalprop: ${(e as Error).stack ?? e}\n`);
    return 1;
  }
}

