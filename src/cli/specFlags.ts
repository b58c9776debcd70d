// The spec flags shared by predict, sample, spectrum, train: flags or --config spec.json.
import type { Command } from 'commander';
import { makeSpec, type NetworkSpec, SpecError, type SpecInput, unknownField } from '../network/index.js';
import { numberFlag, readJsonFile, UsageError } from './io.js';

export function addSpecFlags(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'spec as JSON (fields of NetworkSpec); flags override it')
    .option('--order <order>', 'linear-bn-act | linear-act-bn | linear-act')
    .option('--activation <act>', 'relu | leaky-relu:<slope> | identity | tanh | gelu | silu | elu:<alpha> | expr:<expression in x>')
    .option('--depth <L>', 'number of blocks')
    .option('--width <N>', 'width of every block, or comma-separated widths, one per block')
    .option('--input-dim <d>', 'input dimension (default: first width)')
    .option('--batch <B>', 'batch size B (theory: omit for the large-batch limit)')
    .option('--init <kind>', 'gaussian | orthogonal')
    .option('--sigma-w2 <v>', 'weight variance gain σ_w² (Var W = σ_w²/fan_in)')
    .option('--sigma-b2 <v>', 'bias variance σ_b²')
    .option('--gamma <v>', 'BatchNorm γ')
    .option('--beta <v>', 'BatchNorm β')
    .option('--eps <v>', 'BatchNorm ε')
    .option('--residual <scale>', 'residual blocks x + scale·block(x)');
}

const TRAIN_CONFIG_FIELDS = ['spec', 'data', 'loss', 'optimizer', 'schedule', 'clip', 'steps', 'seed', 'probe', 'backend', 'checkpointEvery'];

/**
 * The spec part of a --config file: a bare spec, a train config (its spec; other fields must be train
 * fields) or a train run's manifest.json (the spec of its config). Unknown fields are left to makeSpec.
 */
export function configSpec(cfg: unknown, path: string): SpecInput {
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) {
    throw new UsageError(`--config: "${path}" is not allowed; expected a JSON object (a spec, a train config or a run's manifest.json)`);
  }
  const c = cfg as Record<string, any>;
  if (c.format === 'signalprop-train-run') {
    if (!c.config || typeof c.config !== 'object' || !c.config.spec || typeof c.config.spec !== 'object') {
      throw new UsageError(`--config: "${path}" is a train run manifest without config.spec; expected a manifest.json written by signalprop train`);
    }
    return c.config.spec as SpecInput;
  }
  if ('spec' in c) {
    for (const k of Object.keys(c)) {
      if (!TRAIN_CONFIG_FIELDS.includes(k)) throw new UsageError(`--config: ${k}: ${JSON.stringify(c[k])} is not allowed; expected ${unknownField(k, TRAIN_CONFIG_FIELDS, 'a train config')}`);
    }
    if (!c.spec || typeof c.spec !== 'object' || Array.isArray(c.spec)) throw new UsageError(`--config: spec: ${JSON.stringify(c.spec)} is not allowed; expected an object (fields of NetworkSpec)`);
    return c.spec as SpecInput;
  }
  return c as SpecInput;
}

/** Build and validate a spec from --config and flags; a bad field becomes a UsageError (exit 2). */
export function specFromFlags(opts: Record<string, any>, defaults: SpecInput = {}, flagOpts: { theoryBatch?: boolean } = {}): NetworkSpec {
  let input: SpecInput = { ...defaults };
  if (opts.config) input = { ...input, ...configSpec(readJsonFile(opts.config, '--config'), opts.config) };
  const set = <K extends keyof SpecInput>(k: K, v: SpecInput[K] | undefined) => {
    if (v !== undefined) input[k] = v;
  };
  set('order', opts.order);
  set('activation', opts.activation);
  set('depth', numberFlag('--depth', opts.depth, { int: true, min: 1 }));
  if (opts.width !== undefined) {
    const parts = String(opts.width).split(',');
    const ws = parts.map((p) => numberFlag('--width', p, { int: true, min: 1 })!);
    input.width = ws.length === 1 ? ws[0] : ws;
  }
  set('inputDim', numberFlag('--input-dim', opts.inputDim, { int: true, min: 1 }));
  if (opts.batch !== undefined) {
    // the theory of a BatchNorm net needs B >= 4 (its gradient rate involves E[1/χ²_(B−1)] = 1/(B−3)); a net runs from B = 2
    const bnTheory = flagOpts.theoryBatch && (input.order ?? opts.order) !== 'linear-act';
    try {
      input.batch = numberFlag('--batch', opts.batch, { int: true, min: bnTheory ? 4 : 2 })!;
    } catch (e) {
      const why = bnTheory ? "the BatchNorm theory's gradient rate involves 1/(B−3); omit --batch for the large-batch limit" : 'BatchNorm needs two samples; its theory needs >= 4';
      throw new UsageError(`${(e as Error).message} (${why})`);
    }
  }
  const init = { ...(input.init ?? {}) };
  if (opts.init !== undefined) init.kind = opts.init;
  if (opts.sigmaW2 !== undefined) init.sigmaW2 = numberFlag('--sigma-w2', opts.sigmaW2);
  if (opts.sigmaB2 !== undefined) init.sigmaB2 = numberFlag('--sigma-b2', opts.sigmaB2);
  input.init = init;
  const bn = { ...(input.bn ?? {}) };
  if (opts.gamma !== undefined) bn.gamma = numberFlag('--gamma', opts.gamma);
  if (opts.beta !== undefined) bn.beta = numberFlag('--beta', opts.beta);
  if (opts.eps !== undefined) bn.eps = numberFlag('--eps', opts.eps);
  input.bn = bn;
  if (opts.residual !== undefined) input.residual = { scale: numberFlag('--residual', opts.residual)! };
  try {
    return makeSpec(input);
  } catch (e) {
    if (e instanceof SpecError) throw new UsageError(e.message);
    throw e;
  }
}
