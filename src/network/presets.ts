// The presets: the `order` of a spec (and `residual`) as a layer list. Each block of a preset is the same
// layers with the spec's init, norm parameters (spec.bn: γ, β, ε, read by whichever norm the preset uses)
// and activation; `residual` wraps each block as x + scale·block(x).
import type { ActivationFns } from './activation.js';
import type { ConvInitKind, Layer, NormLayer } from './layers.js';

/** What a preset needs from a spec to expand (a structural subset of NetworkSpec). */
export interface PresetSource {
  depth: number;
  width: number | number[];
  activation: string | ActivationFns;
  init: { kind: 'gaussian' | 'orthogonal'; sigmaW2: number; sigmaB2: number };
  bn: { gamma: number; beta: number; eps: number };
  residual: { scale: number } | null;
  /** The conv presets' convolution (kernel, init); absent for the others. */
  conv?: { kernel: number; init: ConvInitKind };
}

type Part = 'dense' | 'bn' | 'ln' | 'rms' | 'act' | 'conv';

export interface Preset {
  /** One line: what a block is. */
  doc: string;
  /** The layers of one block, in order. */
  block: readonly Part[];
  /** 'wrap': the block sits inside x + scale·block(x) when spec.residual is set (the historical --residual);
   * 'pre': always residual, the leading parts inside; 'post': always residual, the trailing norm after it;
   * 'none': never wrapped (the conv presets: --residual is refused). */
  residual: 'wrap' | 'pre' | 'post' | 'none';
  /** An image net (conv presets): expanded by expandConv, with global average pooling before the readout. */
  image?: true;
}

export const PRESETS = {
  'linear-bn-act': { doc: 'dense → batchnorm → act (Yang et al. 2019; the seed paper)', block: ['dense', 'bn', 'act'], residual: 'wrap' },
  'linear-act-bn': { doc: 'dense → act → batchnorm', block: ['dense', 'act', 'bn'], residual: 'wrap' },
  'linear-act': { doc: 'dense → act (no normalization)', block: ['dense', 'act'], residual: 'wrap' },
  'linear-ln-act': { doc: 'dense → layernorm → act', block: ['dense', 'ln', 'act'], residual: 'wrap' },
  'linear-act-ln': { doc: 'dense → act → layernorm', block: ['dense', 'act', 'ln'], residual: 'wrap' },
  'linear-rms-act': { doc: 'dense → rmsnorm → act', block: ['dense', 'rms', 'act'], residual: 'wrap' },
  'preln-residual': {
    doc: 'residual(scale: layernorm → dense → act): x + scale·φ(W·LN(x) + b), pre-LN',
    block: ['ln', 'dense', 'act'],
    residual: 'pre',
  },
  'postln-residual': {
    doc: 'residual(scale: dense → act) → layernorm: LN(x + scale·φ(W x + b)), post-LN',
    block: ['dense', 'act', 'ln'],
    residual: 'post',
  },
  'conv-bn-act': {
    doc: 'conv2d(C, k×k, same) → batchnorm (per channel over B·H·W) → act; global average pooling after the last block',
    block: ['conv', 'bn', 'act'],
    residual: 'none',
    image: true,
  },
  vgg: {
    doc: 'VGG-style: stages of conv2d → batchnorm → act, the first conv of stage s ≥ 2 with stride 2 and twice the channels (depth = stages·per-stage, 3 stages); global average pooling',
    block: ['conv', 'bn', 'act'],
    residual: 'none',
    image: true,
  },
  resnet: {
    doc: 'ResNet: 3 stages of basic blocks (resblock), the first of stage s ≥ 2 with stride 2, twice the channels and a 1×1 projection; global average pooling',
    block: ['conv', 'bn', 'act'],
    residual: 'none',
    image: true,
  },
} as const satisfies Record<string, Preset>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** The norm parts of the presets and their layers. */
function norm(part: 'bn' | 'ln' | 'rms', bn: PresetSource['bn']): NormLayer {
  if (part === 'bn') return { kind: 'batchnorm', gamma: bn.gamma, beta: bn.beta, eps: bn.eps };
  if (part === 'ln') return { kind: 'layernorm', gamma: bn.gamma, beta: bn.beta, eps: bn.eps };
  return { kind: 'rmsnorm', gamma: bn.gamma, eps: bn.eps };
}

/** The MLP presets (flat inputs, dense blocks). */
export const MLP_PRESET_NAMES = PRESET_NAMES.filter((n) => !(PRESETS[n] as Preset).image);

/** The stage of each block of a vgg or resnet preset of `depth` blocks (3 stages, as equal as can be). */
export function stageOf(depth: number, block: number): number {
  const per = Math.ceil(depth / 3);
  return Math.floor(block / per);
}

/** The conv presets' lists: block l's channels = width·2^stage (vgg, resnet) or width (conv-bn-act). */
function expandConv(name: PresetName, s: PresetSource): Layer[] {
  const conv = s.conv ?? { kernel: 3, init: 'gaussian' as ConvInitKind };
  const base = Array.isArray(s.width) ? s.width[0] : s.width;
  const out: Layer[] = [];
  for (let l = 0; l < s.depth; l++) {
    const stage = name === 'conv-bn-act' ? 0 : stageOf(s.depth, l);
    const first = l > 0 && stage > stageOf(s.depth, l - 1) && name !== 'conv-bn-act';
    const channels = Array.isArray(s.width) ? s.width[l] : base * 2 ** stage;
    // a new stage: stride 2 (vgg, resnet; the channels are the spec's widths per block)
    const stride = first ? 2 : 1;
    const common = { channels, kernel: conv.kernel, stride, init: conv.init, sigmaW2: s.init.sigmaW2, sigmaB2: s.init.sigmaB2 };
    if (name === 'resnet') {
      out.push({ kind: 'resblock', ...common, gamma: s.bn.gamma, beta: s.bn.beta, eps: s.bn.eps, activation: s.activation });
    } else {
      out.push({ kind: 'conv2d', ...common, padding: 'same' }, norm('bn', s.bn), { kind: 'act', activation: s.activation });
    }
  }
  out.push({ kind: 'gap' });
  return out;
}

/** The layer list of a preset. */
export function expandPreset(name: PresetName, s: PresetSource): Layer[] {
  const p: Preset = PRESETS[name];
  if (p.image) return expandConv(name, s);
  const ws = Array.isArray(s.width) ? s.width : new Array<number>(s.depth).fill(s.width);
  const out: Layer[] = [];
  for (let l = 0; l < s.depth; l++) {
    const parts: Layer[] = (p.block as Exclude<Part, 'conv'>[]).map((part) =>
      part === 'dense'
        ? { kind: 'dense', width: ws[l], init: s.init.kind, sigmaW2: s.init.sigmaW2, sigmaB2: s.init.sigmaB2 }
        : part === 'act'
          ? { kind: 'act', activation: s.activation }
          : norm(part, s.bn),
    );
    if (p.residual === 'wrap') {
      if (s.residual) out.push({ kind: 'residual', scale: s.residual.scale, layers: parts });
      else out.push(...parts);
    } else if (p.residual === 'pre') {
      out.push({ kind: 'residual', scale: s.residual?.scale ?? 1, layers: parts });
    } else {
      out.push({ kind: 'residual', scale: s.residual?.scale ?? 1, layers: parts.slice(0, -1) }, parts[parts.length - 1]);
    }
  }
  return out;
}
