// The spec flags shared by predict, sample, spectrum, train: flags or --config spec.json.
import type { Command } from 'commander';
import { makeSpec, type NetworkSpec, SpecError, type SpecInput } from '../spec/index.js';
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

/** Build and validate a spec from --config and flags; a bad field becomes a UsageError (exit 2). */
export function specFromFlags(opts: Record<string, any>, defaults: SpecInput = {}): NetworkSpec {
  let input: SpecInput = { ...defaults };
  if (opts.config) {
    const cfg = readJsonFile(opts.config, '--config') as any;
    const specPart = cfg && typeof cfg === 'object' && cfg.spec && typeof cfg.spec === 'object' ? cfg.spec : cfg;
    input = { ...input, ...specPart };
  }
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
  if (opts.batch !== undefined) input.batch = numberFlag('--batch', opts.batch, { int: true, min: 2 })!;
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
