// The spec flags shared by predict, sample, spectrum, train: flags or --config spec.json.
import type { Command } from 'commander';
import {
  activationHelp,
  hasBN,
  makeSpec,
  type NetworkSpec,
  PRESET_NAMES,
  SpecError,
  type SpecInput,
  unknownField,
} from '../network/index.js';
import { numberFlag, readJsonFile, UsageError } from './io.js';

export function addSpecFlags(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'spec as JSON (fields of NetworkSpec, or {layers: [...]}); flags override it')
    .option('--order <preset>', `a preset block (docs/network.md): ${PRESET_NAMES.join(' | ')}`)
    .option('--layers <file>', 'the network as a JSON layer list (or {layers, inputDim?, batch?}); see docs/network.md')
    .option('--activation <act>', activationHelp())
    .option('--depth <L>', 'number of blocks')
    .option('--width <N>', 'width of every block, or comma-separated widths, one per block')
    .option('--input-dim <d>', 'input dimension (default: first width)')
    .option('--batch <B>', 'batch size B (theory: omit for the large-batch limit)')
    .option('--init <kind>', 'gaussian | orthogonal (conv presets also delta-orthogonal)')
    .option('--channels <C>', 'conv presets: channels of every conv (vgg, resnet: of the first stage, doubling per stage); as --width')
    .option('--image <H>', 'conv presets and image layer lists: the input image H (H×H×C, C = --in-channels) or H,W,C')
    .option('--in-channels <c>', 'conv presets: channels of the input image (default: --channels)')
    .option('--kernel <k>', 'conv presets: the kernel size k (odd; same padding; default 3)')
    .option('--sigma-w2 <v>', 'weight variance gain σ_w² (Var W = σ_w²/fan_in)')
    .option('--sigma-b2 <v>', 'bias variance σ_b²')
    .option('--gamma <v>', "the norm's γ (BatchNorm, LayerNorm, RMSNorm)")
    .option('--beta <v>', "the norm's β (BatchNorm, LayerNorm)")
    .option('--eps <v>', "the norm's ε")
    .option('--residual <scale>', 'residual blocks x + scale·block(x)');
}

/** The top-level fields of a train config (TRAIN_CONFIG_SCHEMA's; listed here so that spec flags need no trainer). */
export const TRAIN_CONFIG_FIELDS = [
  'spec',
  'data',
  'loss',
  'optimizer',
  'schedule',
  'clip',
  'steps',
  'seed',
  'rng',
  'probe',
  'backend',
  'checkpointEvery',
];

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
      throw new UsageError(
        `--config: "${path}" is a train run manifest without config.spec; expected a manifest.json written by signalprop train`,
      );
    }
    return c.config.spec as SpecInput;
  }
  if ('spec' in c) {
    for (const k of Object.keys(c)) {
      if (!TRAIN_CONFIG_FIELDS.includes(k))
        throw new UsageError(
          `--config: ${k}: ${JSON.stringify(c[k])} is not allowed; expected ${unknownField(k, TRAIN_CONFIG_FIELDS, 'a train config')}`,
        );
    }
    if (!c.spec || typeof c.spec !== 'object' || Array.isArray(c.spec))
      throw new UsageError(`--config: spec: ${JSON.stringify(c.spec)} is not allowed; expected an object (fields of NetworkSpec)`);
    return c.spec as SpecInput;
  }
  return c as SpecInput;
}

/** Build and validate a spec from --config and flags; a bad field becomes a UsageError (exit 2). */
/** The flags a layer list describes itself (they would contradict it). */
const LIST_FLAGS: [string, string][] = [
  ['order', '--order'],
  ['activation', '--activation'],
  ['depth', '--depth'],
  ['width', '--width'],
  ['init', '--init'],
  ['sigmaW2', '--sigma-w2'],
  ['sigmaB2', '--sigma-b2'],
  ['gamma', '--gamma'],
  ['beta', '--beta'],
  ['eps', '--eps'],
  ['residual', '--residual'],
];

/** A --layers file: a JSON array of layers, or an object with layers (and inputDim, batch). */
function layersFile(path: string): SpecInput {
  const v = readJsonFile(path, '--layers');
  if (Array.isArray(v)) return { layers: v };
  if (v && typeof v === 'object' && Array.isArray((v as { layers?: unknown }).layers)) {
    const { layers, inputDim, batch, image, ...rest } = v as Record<string, unknown>;
    const extra = Object.keys(rest)[0];
    if (extra !== undefined)
      throw new UsageError(
        `--layers: ${extra}: ${JSON.stringify(rest[extra])} is not allowed; expected a file with layers, inputDim, batch and image only`,
      );
    return {
      layers: layers as unknown[],
      ...(inputDim !== undefined ? { inputDim: inputDim as number } : {}),
      ...(batch !== undefined ? { batch: batch as number | null } : {}),
      ...(image !== undefined ? { image: image as [number, number, number] } : {}),
    };
  }
  throw new UsageError(
    `--layers: "${path}" is not allowed; expected a JSON array of layers, or an object {layers: [...], inputDim?, batch?}`,
  );
}

export function specFromFlags(opts: Record<string, any>, defaults: SpecInput = {}, flagOpts: { theoryBatch?: boolean } = {}): NetworkSpec {
  let input: SpecInput = { ...defaults };
  if (opts.config) input = { ...input, ...configSpec(readJsonFile(opts.config, '--config'), opts.config) };
  if (opts.layers !== undefined || input.layers !== undefined) {
    for (const [k, flag] of LIST_FLAGS) {
      if (opts[k] !== undefined)
        throw new UsageError(
          `${flag}: "${opts[k]}" is not allowed with a layer list; expected the value inside the list (${opts.layers !== undefined ? '--layers' : '--config'} ${opts.layers ?? opts.config})`,
        );
    }
    const list = opts.layers !== undefined ? layersFile(opts.layers) : { layers: input.layers };
    // a layer list describes itself; only inputDim and batch come from elsewhere (defaults, --config, flags)
    input = {
      layers: list.layers,
      inputDim: list.inputDim ?? input.inputDim,
      batch: 'batch' in list ? list.batch : input.batch,
      image: list.image ?? input.image,
    };
    for (const k of Object.keys(input) as (keyof SpecInput)[]) if (input[k] === undefined) delete input[k];
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
  convFlags(opts, input);
  if (opts.batch !== undefined) {
    // the theory of a BatchNorm net needs B >= 4 (its gradient rate involves E[1/χ²_(B−1)] = 1/(B−3)); a net runs from B = 2.
    // An image net's BatchNorm2d pools B·H·W values per channel: the conv theory runs from B = 2 (claim 9 uses it)
    const bnTheory = flagOpts.theoryBatch && usesBatchNorm(input) && input.image === undefined;
    try {
      input.batch = numberFlag('--batch', opts.batch, { int: true, min: bnTheory ? 4 : 2 })!;
    } catch (e) {
      const why = bnTheory
        ? "the BatchNorm theory's gradient rate involves 1/(B−3); omit --batch for the large-batch limit"
        : 'BatchNorm needs two samples; its theory needs >= 4';
      throw new UsageError(`${(e as Error).message} (${why})`);
    }
  }
  if (input.layers !== undefined) return build(input);
  const init = { ...(input.init ?? {}) };
  if (opts.init !== undefined && !(input.conv && opts.init === 'delta-orthogonal')) init.kind = opts.init;
  if (opts.sigmaW2 !== undefined) init.sigmaW2 = numberFlag('--sigma-w2', opts.sigmaW2);
  if (opts.sigmaB2 !== undefined) init.sigmaB2 = numberFlag('--sigma-b2', opts.sigmaB2);
  input.init = init;
  const bn = { ...(input.bn ?? {}) };
  if (opts.gamma !== undefined) bn.gamma = numberFlag('--gamma', opts.gamma);
  if (opts.beta !== undefined) bn.beta = numberFlag('--beta', opts.beta);
  if (opts.eps !== undefined) bn.eps = numberFlag('--eps', opts.eps);
  input.bn = bn;
  if (opts.residual !== undefined) input.residual = { scale: numberFlag('--residual', opts.residual)! };
  return build(input);
}

/** --channels, --image, --in-channels, --kernel (and --init for a conv preset's convolutions) into the spec input. */
function convFlags(opts: Record<string, any>, input: SpecInput): void {
  const conv = ['conv-bn-act', 'vgg', 'resnet'].includes(String(input.order ?? ''));
  for (const [k, flag] of [
    ['channels', '--channels'],
    ['inChannels', '--in-channels'],
    ['kernel', '--kernel'],
  ] as const) {
    if (opts[k] !== undefined && !conv)
      throw new UsageError(`${flag}: "${opts[k]}" is not allowed; expected it with a conv preset (--order conv-bn-act | vgg | resnet)`);
  }
  if (opts.channels !== undefined) {
    if (opts.width !== undefined)
      throw new UsageError(`--channels: "${opts.channels}" is not allowed with --width; expected one of the two`);
    input.width = numberFlag('--channels', opts.channels, { int: true, min: 1 })!;
  }
  const c0 = Array.isArray(input.width) ? input.width[0] : input.width;
  if (opts.image !== undefined) {
    const parts = String(opts.image).split(',');
    if (parts.length !== 1 && parts.length !== 3) throw new UsageError(`--image: "${opts.image}" is not allowed; expected H or H,W,C`);
    const v = parts.map((p) => numberFlag('--image', p, { int: true, min: 1 })!);
    const cIn = numberFlag('--in-channels', opts.inChannels, { int: true, min: 1 }) ?? c0 ?? 512;
    input.image = v.length === 3 ? [v[0], v[1], v[2]] : [v[0], v[0], cIn];
  } else if (opts.inChannels !== undefined) {
    const cIn = numberFlag('--in-channels', opts.inChannels, { int: true, min: 1 })!;
    const [h, w] = input.image ?? [28, 28];
    input.image = [h, w, cIn];
  } else if (conv && input.image === undefined && c0 !== undefined) {
    input.image = [28, 28, c0];
  }
  if (conv) {
    const c = { ...(input.conv ?? {}) };
    if (opts.kernel !== undefined) c.kernel = numberFlag('--kernel', opts.kernel, { int: true, min: 1 })!;
    if (opts.init !== undefined) c.init = opts.init;
    input.conv = c;
  }
}

function build(input: SpecInput): NetworkSpec {
  try {
    return makeSpec(input);
  } catch (e) {
    if (e instanceof SpecError) throw new UsageError(e.message);
    throw e;
  }
}

/** Whether the spec being built has a BatchNorm layer (before it is validated: a bad spec answers later). */
function usesBatchNorm(input: SpecInput): boolean {
  try {
    return hasBN(makeSpec({ ...input, batch: null }));
  } catch {
    return false;
  }
}
