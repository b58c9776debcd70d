// A table of bad inputs across every command, run in-process through the CLI's own main() (one spawn of the
// real bin per command would cost seconds each; three spawns check that the bin passes the code through).
// Each must exit 2 with one line on stderr that names the field or flag and the value and says what is
// allowed; no stack trace; nothing left behind in the directory it ran in.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_NAMES, main } from '../../src/cli/program.js';
import { makeSpec, specFields } from '../../src/network/index.js';
import { record } from '../../src/records/index.js';
import { runCli } from '../helpers/cli.js';

const f = specFields(makeSpec({ depth: 3, width: 8, batch: 4 }));
const GOOD = [record(f, 'theory', 'growth', null, 1.5), record(f, 'sampled', 'growth', null, 1.4, { seed: 1, tags: { loss: 'readout' } })];
const BOM = '\ufeff';
const SPEC = { depth: 2, width: 8, batch: 4 };
const sweep = (o: object) => JSON.stringify({ kind: 'predict', base: { depth: 3, width: 8 }, ...o });

/** Files every case finds in its directory (nothing else may appear there). */
const FILES: Record<string, string> = {
  'good.jsonl': `${GOOD.map((r) => JSON.stringify(r)).join('\n')}\n`,
  'badrec.jsonl': `${JSON.stringify({ ...GOOD[0], value: 'x' })}\n`,
  'typorec.jsonl': `${JSON.stringify({ ...GOOD[0], depht: 3 })}\n`,
  'notjson.json': '{ not json',
  'typo.json': JSON.stringify({ depht: 10, width: 8 }),
  'nested.json': JSON.stringify({ depth: 3, init: { sigmaW: 2 } }),
  'arr.json': '[1, 2]',
  'trainTypo.json': JSON.stringify({ spec: { depth: 3 }, stepz: 4 }),
  'bomTypo.json': `${BOM}${JSON.stringify({ widht: 8 })}`,
  'manifestBad.json': JSON.stringify({ format: 'signalprop-train-run', version: 1 }),
  'depthStr.json': JSON.stringify({ depth: 'ten' }),
  'layersTypo.json': JSON.stringify([
    { kind: 'dense', width: 8 },
    { kind: 'layernorm', gama: 2 },
  ]),
  'layersFirstAct.json': JSON.stringify([{ kind: 'act', activation: 'relu' }]),
  'batch0.json': JSON.stringify({ batch: 0 }),
  'schedul.json': JSON.stringify({ spec: SPEC, steps: 2, seed: 1, schedul: 'cosine' }),
  'lrr.json': JSON.stringify({ spec: SPEC, steps: 2, seed: 1, optimizer: { kind: 'sgd', lrr: 0.1 } }),
  'empty.csv': '',
  'semi.csv': 'a;b;c\n1;2;0\n3;4;1\n',
  'sw-typo.json': JSON.stringify({ kind: 'predict', bsae: {} }),
  'sw-kind.json': JSON.stringify({ kind: 'simulate' }),
  'sw-base.json': sweep({ base: { depht: 3 } }),
  'sw-axis.json': sweep({ axes: { depht: [3, 4] } }),
  'sw-opt.json': sweep({ options: { los: 'x' } }),
  'sw-bom.json': `${BOM}${sweep({ seedz: 2 })}`,
  'sw-seeds.json': sweep({ seeds: 0 }),
  'sw-axval.json': sweep({ axes: { depth: [3, 0] } }),
  'sw-good.json': sweep({}),
  'sw-arr.json': '[]',
};

/** [command line, substrings the one line must contain (the field or flag, and the value)]. */
const CASES: [string[], string[]][] = [
  // predict: spec flags
  [
    ['predict', '--depth', '0', '--out', 'o.json'],
    ['--depth', '"0"'],
  ],
  [
    ['predict', '--depth', '0x10'],
    ['--depth', '"0x10"', 'decimal'],
  ],
  [
    ['predict', '--depth', '1.5'],
    ['--depth', '"1.5"'],
  ],
  [
    ['predict', '--depth', '-3'],
    ['--depth', '"-3"'],
  ],
  [
    ['predict', '--depth', 'abc'],
    ['--depth', '"abc"'],
  ],
  [
    ['predict', '--depth', ''],
    ['--depth', '""'],
  ],
  [
    ['predict', '--depth', '1e9'],
    ['depth', '1000000000'],
  ],
  [
    ['predict', '--width', '0'],
    ['--width', '"0"'],
  ],
  [
    ['predict', '--width', '8,0', '--depth', '2'],
    ['--width', '"0"'],
  ],
  [
    ['predict', '--width', '8,8', '--depth', '3'],
    ['width', '[8,8]', 'length'],
  ],
  [
    ['predict', '--input-dim', '0'],
    ['--input-dim', '"0"'],
  ],
  [
    ['predict', '--batch', '1'],
    ['--batch', '"1"', '4'],
  ],
  [
    ['predict', '--batch', '3'],
    ['--batch', '"3"', '>= 4'],
  ],
  [
    ['predict', '--batch', '2.5'],
    ['--batch', '"2.5"'],
  ],
  [
    ['predict', '--batch', '0b11'],
    ['--batch', '"0b11"'],
  ],
  [
    ['predict', '--order', 'foo'],
    ['order', '"foo"', 'linear-bn-act'],
  ],
  [
    ['predict', '--activation', 'swish'],
    ['activation', '"swish"'],
  ],
  [
    ['predict', '--activation', 'leaky-relu:x'],
    ['activation', 'leaky-relu:x'],
  ],
  [
    ['predict', '--init', 'uniform'],
    ['init.kind', '"uniform"', 'gaussian'],
  ],
  [
    ['predict', '--sigma-w2', '0'],
    ['sigmaW2', '0'],
  ],
  [
    ['predict', '--sigma-w2', '-1'],
    ['sigmaW2', '-1'],
  ],
  [
    ['predict', '--sigma-w2', 'Infinity'],
    ['--sigma-w2', '"Infinity"'],
  ],
  [
    ['predict', '--sigma-b2', '-1'],
    ['sigmaB2', '-1'],
  ],
  [
    ['predict', '--gamma', '0'],
    ['gamma', '0'],
  ],
  [
    ['predict', '--eps', '-1'],
    ['eps', '-1'],
  ],
  [
    ['predict', '--residual', '0'],
    ['residual.scale', '0'],
  ],
  [
    ['predict', '--residual', '1', '--width', '8,16', '--depth', '2'],
    ['residual', 'equal widths'],
  ],
  [
    ['predict', '--input-corr', '1'],
    ['--input-corr', '"1"'],
  ],
  [
    ['predict', '--top-grad-corr', '2'],
    ['--top-grad-corr', '"2"'],
  ],
  [
    ['predict', '--dynamics', 'sometimes', '--depth', '4', '--batch', '8'],
    ['dynamics', 'sometimes'],
  ],
  [
    ['predict', '--dynamics-samples', '0'],
    ['--dynamics-samples', '"0"'],
  ],
  [
    ['predict', '--dynamics-replicas', '0'],
    ['--dynamics-replicas', '"0"'],
  ],
  [
    ['predict', '--seed', '0'],
    ['--seed', '"0"'],
  ],
  [
    ['predict', '--rows', '0'],
    ['--rows', '"0"'],
  ],
  [
    ['predict', '--depht', '3'],
    ["'--depht'", '--depth'],
  ],
  // predict: --config
  [
    ['predict', '--config', 'missing.json'],
    ['--config', '"missing.json"', 'ENOENT'],
  ],
  [
    ['predict', '--config', 'notjson.json'],
    ['--config', 'notjson.json', 'not valid JSON'],
  ],
  [
    ['predict', '--config', 'typo.json', '--out', 'o.json'],
    ['depht', '10', 'did you mean "depth"'],
  ],
  [
    ['predict', '--config', 'nested.json'],
    ['init.sigmaW', 'did you mean "sigmaW2"'],
  ],
  [
    ['predict', '--config', 'arr.json'],
    ['--config', 'arr.json', 'JSON object'],
  ],
  [
    ['predict', '--config', 'trainTypo.json'],
    ['stepz', '4', 'did you mean "steps"'],
  ],
  [
    ['predict', '--config', 'bomTypo.json'],
    ['widht', 'did you mean "width"'],
  ],
  [
    ['predict', '--config', 'manifestBad.json'],
    ['--config', 'manifestBad.json', 'config.spec'],
  ],
  [
    ['predict', '--config', 'depthStr.json'],
    ['depth', '"ten"'],
  ],
  [
    ['predict', '--config', 'batch0.json'],
    ['batch', '0'],
  ],
  // sample
  [
    ['sample', '--seeds', '0', '--depth', '3', '--width', '8', '--batch', '4', '--out', 'o.json'],
    ['--seeds', '"0"'],
  ],
  [
    ['sample', '--seeds', '1.5'],
    ['--seeds', '"1.5"'],
  ],
  [
    ['sample', '--seed', '0'],
    ['--seed', '"0"'],
  ],
  [
    ['sample', '--threads', '0'],
    ['--threads', '"0"'],
  ],
  [
    ['sample', '--input-correlation', '1'],
    ['--input-correlation', '"1"'],
  ],
  [
    ['sample', '--input-correlation', '-0.1'],
    ['--input-correlation', '"-0.1"'],
  ],
  [
    ['sample', '--backend', 'gpu'],
    ['--backend', '"gpu"', 'typescript'],
  ],
  [
    ['sample', '--loss', 'hinge'],
    ['--loss', '"hinge"', 'readout'],
  ],
  [
    ['sample', '--rng', 'pcg64'],
    ['--rng', '"pcg64"', 'philox4x32-10 | mt19937'],
  ],
  [
    ['train', '--rng', 'MT19937'],
    ['--rng', '"MT19937"', 'philox4x32-10 | mt19937'],
  ],
  [
    ['sample', '--batch', '1', '--depth', '3', '--width', '8'],
    ['--batch', '"1"', '>= 2'],
  ],
  [
    ['sample', '--depth', '0x3'],
    ['--depth', '"0x3"'],
  ],
  [
    ['sample', '--width', '8,8', '--depth', '3'],
    ['width', '[8,8]'],
  ],
  [
    ['sample', '--config', 'typo.json'],
    ['depht', 'did you mean "depth"'],
  ],
  [
    ['sample', '--gamma', 'x'],
    ['--gamma', '"x"'],
  ],
  // spectrum
  [
    ['spectrum', '--seeds', '0'],
    ['--seeds', '"0"'],
  ],
  [
    ['spectrum', '--bins', '0'],
    ['--bins', '"0"'],
  ],
  [
    ['spectrum', '--points', '0'],
    ['--points', '"0"'],
  ],
  [
    ['spectrum', '--depth', '0'],
    ['--depth', '"0"'],
  ],
  [
    ['spectrum', '--order', 'bogus'],
    ['order', '"bogus"'],
  ],
  [
    ['spectrum', '--seed', '-1'],
    ['--seed', '"-1"'],
  ],
  [
    ['spectrum', '--config', 'nested.json'],
    ['init.sigmaW', 'sigmaW2'],
  ],
  // train
  [
    ['train', '--steps', '0', '--out', 'run'],
    ['--steps', '"0"'],
  ],
  [
    ['train', '--steps', '1e9'],
    ['steps', '1000000000'],
  ],
  [
    ['train', '--seed', '0'],
    ['--seed', '"0"'],
  ],
  [
    ['train', '--lr', 'fast'],
    ['--lr', '"fast"'],
  ],
  [
    ['train', '--optimizer', 'rmsprop', ...['--depth', '2', '--width', '8', '--batch', '4']],
    ['optimizer.kind', '"rmsprop"', 'sgd'],
  ],
  [
    ['train', '--schedule', 'sawtooth', '--depth', '2', '--width', '8', '--batch', '4'],
    ['schedule.kind', '"sawtooth"', 'cosine'],
  ],
  [
    ['train', '--schedule', 'step', '--depth', '2', '--width', '8', '--batch', '4'],
    ['schedule.stepSize', 'integer >= 1'],
  ],
  [
    ['train', '--step-size', '2', '--depth', '2', '--width', '8', '--batch', '4'],
    ['--step-size', '"2"', '--schedule step'],
  ],
  [
    ['train', '--schedule', 'step', '--step-size', '2', '--step-gamma', '2'],
    ['--step-gamma', '"2"'],
  ],
  [
    ['train', '--schedule', 'step', '--step-size', '9', '--steps', '5', '--depth', '2', '--width', '8', '--batch', '4'],
    ['schedule.stepSize', '9', 'fewer than steps'],
  ],
  [
    ['train', '--warmup', '10', '--steps', '5', '--depth', '2', '--width', '8', '--batch', '4', '--out', 'run'],
    ['schedule.warmupSteps', '10', 'at most steps (5)'],
  ],
  [
    ['train', '--warmup', '-1'],
    ['--warmup', '"-1"'],
  ],
  [
    ['train', '--no-probes', '--probe-every', '2'],
    ['--probe-every', '"2"', '--no-probes'],
  ],
  [
    ['train', '--no-probes', '--probe-dense', '3'],
    ['--probe-dense', '"3"', '--no-probes'],
  ],
  [
    ['train', '--probe-every', '0'],
    ['--probe-every', '"0"'],
  ],
  [
    ['train', '--probe-dense', '-1'],
    ['--probe-dense', '"-1"'],
  ],
  [
    ['train', '--clip', '1', '--clip-layer', '1'],
    ['--clip', '--clip-layer', 'choose one'],
  ],
  [
    ['train', '--clip', 'x'],
    ['--clip', '"x"'],
  ],
  [
    ['train', '--backend', 'tpu', '--depth', '2', '--width', '8', '--batch', '4'],
    ['backend', '"tpu"', 'wasm'],
  ],
  [
    ['train', '--threads', '0'],
    ['--threads', '"0"'],
  ],
  [
    ['train', '--data', 'csv:empty.csv', '--out', 'run'],
    ['data.path', 'empty.csv', 'empty'],
  ],
  [
    ['train', '--data', 'csv:semi.csv'],
    ['data.path', 'semi.csv', 'delimited by ";"'],
  ],
  [
    ['train', '--data', 'csv:missing.csv', '--steps', '2', '--depth', '2', '--width', '8', '--batch', '4'],
    ['data.path', 'missing.csv', 'ENOENT'],
  ],
  [
    ['train', '--data', 'imagenet'],
    ['data.kind', '"imagenet"', 'mnist'],
  ],
  [
    ['train', '--rho', '1'],
    ['--rho', '"1"'],
  ],
  [
    ['train', '--rho', '0.5', '--data', 'mnist'],
    ['--rho', 'synthetic', 'mnist'],
  ],
  [
    ['train', '--loss', 'hinge', '--depth', '2', '--width', '8', '--batch', '4'],
    ['loss', '"hinge"', 'xent'],
  ],
  [
    ['train', '--resume'],
    ['--resume', '--out'],
  ],
  [
    ['train', '--checkpoint-every', '0'],
    ['--checkpoint-every', '"0"'],
  ],
  [
    ['train', '--momentum', 'x'],
    ['--momentum', '"x"'],
  ],
  [
    ['train', '--batch', '1'],
    ['--batch', '"1"'],
  ],
  [
    ['train', '--config', 'typo.json'],
    ['depht', 'did you mean "depth"'],
  ],
  [
    ['train', '--config', 'schedul.json', '--out', 'run'],
    ['schedul', '"cosine"', 'did you mean "schedule"'],
  ],
  [
    ['train', '--config', 'lrr.json'],
    ['optimizer.lrr', '0.1', 'did you mean "lr"'],
  ],
  [
    ['train', '--config', 'manifestBad.json'],
    ['--config', 'manifestBad.json', 'config'],
  ],
  [
    ['train', '--config', 'arr.json'],
    ['--config', 'arr.json', 'JSON object'],
  ],
  // probe: a model.json that is not JSON, or not an object; a bad flag
  [
    ['probe', 'notjson.json'],
    ['notjson.json', 'not valid JSON'],
  ],
  [
    ['probe', 'arr.json'],
    ['arr.json', 'not a JSON object'],
  ],
  [
    ['probe', 'good.jsonl', '--optimizer', 'nope'],
    ['--optimizer', 'nope', 'sgd'],
  ],
  // a spectrum past float64: refused before any sampling (it hung in the CDF's bracketing)
  [
    ['spectrum', '--sigma-w2', '1e300', '--depth', '8', '--width', '32', '--seeds', '1'],
    ['init.sigmaW2', '1e+300', 'float64'],
  ],
  // network: presets and layer lists (the same spec flags every command takes)
  [
    ['network', '--order', 'bogus'],
    ['order', '"bogus"', 'linear-ln-act'],
  ],
  [
    ['network', '--layers', 'layersTypo.json'],
    ['layers[1].gama', 'did you mean "gamma"'],
  ],
  [
    ['network', '--layers', 'layersFirstAct.json'],
    ['layers[0].kind', 'dense or residual'],
  ],
  [
    ['network', '--layers', 'layersTypo.json', '--depth', '3'],
    ['--depth', '"3"', 'inside the list'],
  ],
  [
    ['predict', '--order', 'linear-rms-act', '--beta', '0.5'],
    ['bn.beta', 'no shift'],
  ],
  // compare
  [['compare', 'missing.jsonl'], ['missing.jsonl']],
  [
    ['compare', 'good.jsonl', 'good.jsonl', '--out', 'cmp'],
    ['inputs', '"good.jsonl"', 'once'],
  ],
  [
    ['compare', 'good.jsonl', '--quantities', 'growht'],
    ['--quantities', '"growht"', 'did you mean "growth"'],
  ],
  [
    ['compare', 'good.jsonl', '--tolerance', '-1'],
    ['--tolerance', '"-1"'],
  ],
  [
    ['compare', 'good.jsonl', '--tolerance', 'growth=x'],
    ['--tolerance growth', '"x"'],
  ],
  [
    ['compare', 'good.jsonl', '--tolerance', 'growth'],
    ['--tolerance', '"growth"'],
  ],
  [
    ['compare', 'good.jsonl', '--spread', '-1'],
    ['--spread', '"-1"'],
  ],
  [
    ['compare', 'good.jsonl', '--min-agree', '2'],
    ['--min-agree', '"2"'],
  ],
  [
    ['compare', 'good.jsonl', '--join', 'depht'],
    ['--join', '"depht"', 'specId'],
  ],
  [
    ['compare', 'badrec.jsonl'],
    ['badrec.jsonl', 'value', '"x"'],
  ],
  [
    ['compare', 'typorec.jsonl'],
    ['typorec.jsonl:1', 'depht', 'did you mean "depth"'],
  ],
  [
    ['compare', 'notjson.json'],
    ['notjson.json', 'not valid JSON'],
  ],
  [['compare'], ['missing required argument', 'inputs']],
  [['compare', 'good.jsonl', '--frobnicate'], ["'--frobnicate'"]],
  // figure and report
  [
    ['figure', 'nofig', '--from', 'good.jsonl', '--out', 'figs'],
    ['nofig', 'gradient-vs-depth'],
  ],
  [['figure', 'gradient-vs-depth'], ['--from']],
  [['figure', 'gradient-vs-depth', '--from', 'missing.jsonl', '--out', 'figs'], ['missing.jsonl']],
  [
    ['figure', 'gradient-vs-depth', '--from', 'good.jsonl', '--scale', '0', '--out', 'figs'],
    ['--scale', '"0"'],
  ],
  [
    ['figure', 'gradient-vs-depth', '--from', 'badrec.jsonl', '--out', 'figs'],
    ['badrec.jsonl', '"x"'],
  ],
  [['report', '--from', 'missing.jsonl', '--out', 'r.html'], ['missing.jsonl']],
  [['report', '--from', 'good.jsonl', '--figures', 'nope', '--out', 'r.html'], ['nope']],
  [
    ['report', '--from', 'good.jsonl', '--tolerance', '-1', '--out', 'r.html'],
    ['--tolerance', '"-1"'],
  ],
  [
    ['report', '--from', 'good.jsonl', '--join', 'depht', '--out', 'r.html'],
    ['--join', '"depht"'],
  ],
  [['report'], ['--from']],
  // sweep
  [
    ['sweep', 'missing.json'],
    ['missing.json', 'ENOENT'],
  ],
  [
    ['sweep', 'sw-typo.json', '--out', 'sw'],
    ['bsae', 'did you mean "base"'],
  ],
  [
    ['sweep', 'sw-kind.json'],
    ['kind', '"simulate"', 'predict'],
  ],
  [
    ['sweep', 'sw-base.json'],
    ['base.depht', 'did you mean "depth"'],
  ],
  [
    ['sweep', 'sw-axis.json'],
    ['axes.depht', 'did you mean "depth"'],
  ],
  [['sweep', 'sw-opt.json'], ['options.los']],
  [
    ['sweep', 'sw-bom.json', '--out', 'sw'],
    ['seedz', 'did you mean "seeds"'],
  ],
  [
    ['sweep', 'sw-seeds.json'],
    ['seeds', '0'],
  ],
  [
    ['sweep', 'sw-axval.json'],
    ['axes.depth[1]', '0'],
  ],
  [
    ['sweep', 'sw-arr.json'],
    ['sweep', '[]'],
  ],
  [
    ['sweep', 'notjson.json'],
    ['notjson.json', 'not valid JSON'],
  ],
  [
    ['sweep', 'sw-good.json', '--threads', '0', '--out', 'sw'],
    ['--threads', '"0"'],
  ],
  [
    ['sweep', 'sw-good.json', '--runner', 'foo=missing.ts'],
    ['--runner', 'foo=missing.ts', 'exists'],
  ],
  [
    ['sweep', 'sw-good.json', '--runner', 'Foo'],
    ['--runner', '"Foo"', 'kind='],
  ],
  [
    ['sweep', 'sw-good.json', '--redis', 'http://127.0.0.1:6379'],
    ['--redis', 'http://127.0.0.1:6379'],
  ],
  [
    ['sweep', 'sw-good.json', '--queue', 'a:b'],
    ['--queue', '"a:b"'],
  ],
  [
    ['sweep', 'sw-good.json', '--clean-runs', '--redis', 'redis://127.0.0.1:1'],
    ['--clean-runs', '--redis'],
  ],
  [
    ['sweep', 'sw-good.json', '--redis', 'redis://127.0.0.1:1', '--poll-ms', '0'],
    ['--poll-ms', '"0"'],
  ],
  // worker (each refused before any connection)
  [['worker'], ['--redis']],
  [
    ['worker', '--redis', 'http://x'],
    ['--redis', 'http://x'],
  ],
  [
    ['worker', '--redis', 'redis://127.0.0.1:1', '--concurrency', '0'],
    ['--concurrency', '"0"'],
  ],
  [
    ['worker', '--redis', 'redis://127.0.0.1:1', '--lock-duration', 'x'],
    ['--lock-duration', '"x"'],
  ],
  [
    ['worker', '--redis', 'redis://127.0.0.1:1', '--exit-when-idle', '-1'],
    ['--exit-when-idle', '"-1"'],
  ],
  [
    ['worker', '--redis', 'redis://127.0.0.1:1', '--max-stalled', '-1'],
    ['--max-stalled', '"-1"'],
  ],
  [
    ['worker', '--redis', 'redis://127.0.0.1:1', '--runner', 'foo=missing.ts'],
    ['--runner', 'foo=missing.ts'],
  ],
  // reproduce
  [
    ['reproduce', '--scale', 'huge'],
    ['--scale', '"huge"', 'tiny'],
  ],
  [
    ['reproduce', '--only', 'claim99'],
    ['--only', '"claim99"', 'claim1'],
  ],
  [
    ['reproduce', '--threads', '0'],
    ['--threads', '"0"'],
  ],
  // explore (each refused before the page is bundled or a port is opened)
  [
    ['explore', '--port', '70000'],
    ['--port', '"70000"', '<= 65535'],
  ],
  [
    ['explore', '--port', 'http'],
    ['--port', '"http"', 'decimal integer'],
  ],
  [
    ['explore', '--out', 'good.jsonl'],
    ['--out', 'good.jsonl', 'expected a directory'],
  ],
  [
    ['explore', '--out', '/proc/signalprop-site'],
    ['--out', '/proc/signalprop-site', 'outside /proc'],
  ],
  [
    ['explore', '--out', 'site', '--port', '8080'],
    ['--port', '8080', 'only applies to the served page'],
  ],
  [
    ['explore', '--root', 'good.jsonl'],
    ['--root', 'good.jsonl', 'existing directory'],
  ],
  [
    ['explore', '--records', '../elsewhere.jsonl'],
    ['--records', '../elsewhere.jsonl', 'under --root'],
  ],
  [
    ['explore', '--records', 'missing.jsonl'],
    ['--records', 'missing.jsonl', 'existing records file'],
  ],
  // the program
  [['predcit'], ["'predcit'", 'predict']],
  [['--bogus'], ["'--bogus'"]],
];

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  left: string[];
}

let root: string;
const outcomes = new Map<string, Outcome>();

/** Run one case through main() in a fresh directory holding FILES, capturing stdout and stderr. */
async function runCase(args: string[]): Promise<Outcome> {
  const dir = mkdtempSync(join(root, 'case-'));
  for (const [name, text] of Object.entries(FILES)) writeFileSync(join(dir, name), text);
  const cwd = process.cwd();
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((s: string | Uint8Array) => {
    stdout += String(s);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => {
    stderr += String(s);
    return true;
  }) as typeof process.stderr.write;
  let code: number;
  try {
    process.chdir(dir);
    process.exitCode = undefined;
    code = await main(['node', 'signalprop', ...args]);
  } catch (e) {
    stderr += `THREW ${(e as Error).stack}`;
    code = -1;
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    process.exitCode = undefined;
    process.chdir(cwd);
  }
  const left = readdirSync(dir).filter((n) => !(n in FILES));
  rmSync(dir, { recursive: true, force: true });
  return { code, stdout, stderr, left };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sp-bad-'));
  for (const [args] of CASES) outcomes.set(JSON.stringify(args), await runCase(args));
}, 300_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('bad inputs across every command', () => {
  it('the table has at least 100 cases over every command', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(100);
    const commands = new Set(CASES.map(([a]) => a[0]));
    // every command of the CLI (its own table), so a new command needs its bad inputs here
    for (const c of COMMAND_NAMES) expect(commands).toContain(c);
    expect(new Set(CASES.map(([a]) => JSON.stringify(a))).size).toBe(CASES.length);
  });

  it.each(CASES.map(([args, want]) => [args.join(' ') || '(no arguments)', args, want] as const))('%s', (_label, args, want) => {
    const o = outcomes.get(JSON.stringify(args))!;
    const lines = o.stderr.split('\n').filter((l) => l.trim() !== '');
    expect({ code: o.code, lines }).toMatchObject({ code: 2, lines: [expect.stringMatching(/^signalprop: /)] });
    const line = lines[0];
    for (const w of want) expect(line).toContain(w);
    // what is allowed: an "expected …", a suggestion, or where the help is
    expect(line).toMatch(/expected|did you mean|see signalprop.* --help|choose one|needs|only applies/i);
    expect(line).not.toMatch(/\n\s+at |TypeError|ReferenceError|\bat .*\.ts:\d+/);
    expect(o.stdout).toBe('');
    expect(o.left).toEqual([]);
  });

  it('the real bin passes the exit code and the one line through (three spawns)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sp-bad-bin-'));
    try {
      writeFileSync(join(dir, 'typo.json'), FILES['typo.json']);
      for (const [args, want] of [
        [['predict', '--depth', '0x10', '--out', 'o.json'], '--depth: "0x10" is not allowed'],
        [['predict', '--config', 'typo.json'], 'did you mean "depth"'],
        [['predcit'], "unknown command 'predcit'"],
      ] as const) {
        const r = runCli([...args], { cwd: dir });
        expect(r.code).toBe(2);
        const lines = r.stderr.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain(want);
      }
      expect(readdirSync(dir)).toEqual(['typo.json']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
