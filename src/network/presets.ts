// The presets: the `order` of a spec (and `residual`) as a layer list. Each block of a preset is the same
// layers with the spec's init, norm parameters (spec.bn: γ, β, ε, read by whichever norm the preset uses)
// and activation; `residual` wraps each block as x + scale·block(x).
import type { ActivationFns } from './activation.js';
import type { Layer, NormLayer } from './layers.js';

/** What a preset needs from a spec to expand (a structural subset of NetworkSpec). */
export interface PresetSource {
  depth: number;
  width: number | number[];
  activation: string | ActivationFns;
  init: { kind: 'gaussian' | 'orthogonal'; sigmaW2: number; sigmaB2: number };
  bn: { gamma: number; beta: number; eps: number };
  residual: { scale: number } | null;
}

type Part = 'dense' | 'bn' | 'ln' | 'rms' | 'act';

export interface Preset {
  /** One line: what a block is. */
  doc: string;
  /** The layers of one block, in order. */
  block: readonly Part[];
  /** 'wrap': the block sits inside x + scale·block(x) when spec.residual is set (the historical --residual);
   * 'pre': always residual, the leading parts inside; 'post': always residual, the trailing norm after it. */
  residual: 'wrap' | 'pre' | 'post';
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
} as const satisfies Record<string, Preset>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** The norm parts of the presets and their layers. */
function norm(part: 'bn' | 'ln' | 'rms', bn: PresetSource['bn']): NormLayer {
  if (part === 'bn') return { kind: 'batchnorm', gamma: bn.gamma, beta: bn.beta, eps: bn.eps };
  if (part === 'ln') return { kind: 'layernorm', gamma: bn.gamma, beta: bn.beta, eps: bn.eps };
  return { kind: 'rmsnorm', gamma: bn.gamma, eps: bn.eps };
}

/** The layer list of a preset. */
export function expandPreset(name: PresetName, s: PresetSource): Layer[] {
  const p: Preset = PRESETS[name];
  const ws = Array.isArray(s.width) ? s.width : new Array<number>(s.depth).fill(s.width);
  const out: Layer[] = [];
  for (let l = 0; l < s.depth; l++) {
    const parts: Layer[] = p.block.map((part) =>
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
