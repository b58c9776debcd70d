// describe(model): a user's tfjs LayersModel read as a signalprop layer list (src/network/layers.ts), so that
// the theory room can predict what the probe measures (docs/probe.md, "Theory on the model"). Each model layer
// maps onto a kind (Dense → dense, BatchNormalization → batchnorm, …) or onto nothing with a note saying why;
// a layer without theory stops the list (no spec), while the probe still measures every layer.
import type * as tf from '@tensorflow/tfjs';
import {
  ActivationError,
  erf,
  InputError,
  type LayerKind,
  type NetworkSpec,
  normPdf,
  parseActivation,
  type SpecInput,
  makeSpec,
} from '../network/index.js';

/** A layer of the described list, in the JSON form parseLayers takes ({kind, …}). */
export type LayerInput = Record<string, unknown>;

/** How one model layer maps onto signalprop. */
export interface ModelLayerMap {
  /** The model layer's name (tags.name of the probe's records). */
  modelLayer: string;
  /** Its tfjs class (Dense, BatchNormalization, …). */
  className: string;
  /**
   * The signalprop kind it maps onto; 'readout' for the last Dense (the trainer's readout, not a block),
   * 'identity' for a layer that changes nothing (InputLayer, Dropout at rate 0, a linear Activation), null
   * where it has no theory.
   */
  kind: LayerKind | 'readout' | 'identity' | null;
  /** The block (1..depth, the theory's `layer` index) the layer belongs to; null outside the blocks. */
  block: number | null;
  /** A Dense's or Conv2D's σ_w² = Var(W)·fan_in and how it was derived from the initializer. */
  sigmaW2?: number;
  how?: string;
  /** A Dense's or Conv2D's fused activation (an act layer after it), when not linear. */
  activation?: string;
}

export interface Description {
  /** The layer list, or null where a layer has no theory (see notes). */
  layers: LayerInput[] | null;
  /** The spec of the list (makeSpec), where the theory room has one for it. */
  spec?: NetworkSpec;
  /** What was mapped and how; every layer without theory: "no theory for layer <name> (<className>): <why>". */
  notes: string[];
  map: ModelLayerMap[];
  /** The model's input: a flat dimension, or an image [H, W, C]. */
  inputDim: number | null;
  image: [number, number, number] | null;
  /** The readout Dense's name (the last Dense), or null. */
  readout: string | null;
  /**
   * For the BatchNorm presets, whose spec carries one σ_w² for every block: the factor σ_w²(block 1)/σ_w² by
   * which the input's second moment is scaled so that block 1's pre-activation variance is the model's
   * (theoryOverlay applies it; 1 when every block has the same σ_w², or for a custom list).
   */
  inputScale: number;
}

export interface DescribeOptions {
  /** The batch size the theory is for (null: the large-batch limit). Default null. */
  batch?: number | null;
}

/** Variance of a standard normal truncated to [−a, a] (tf.truncatedNormal re-draws beyond 2 sd: a = 2). */
export function truncatedNormalVariance(a = 2): number {
  return 1 - (2 * a * normPdf(a)) / erf(a / Math.SQRT2);
}

type Json = Record<string, any>;

function fans(shape: number[]): { fanIn: number; fanOut: number } {
  // as tfjs computeFans: a dense kernel [in, out]; a conv kernel [k…, in, out] with the receptive field
  if (shape.length === 2) return { fanIn: shape[0], fanOut: shape[1] };
  const rf = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return { fanIn: rf * shape[shape.length - 2], fanOut: rf * shape[shape.length - 1] };
}

/**
 * σ_w² = Var(W)·fan_in of a kernel initializer, and how; null (with the reason) where it has none.
 * VarianceScaling (glorot*, he*, lecun*): scale/n, n = fan_in, fan_out or their mean, times
 * truncatedNormalVariance(2) ≈ 0.7737 for 'normal' (tfjs draws tf.truncatedNormal with sd √(scale/n)) and
 * 1 for 'uniform' (U(−√(3·scale/n), +√(3·scale/n))).
 */
export function initVariance(
  init: Json | string | null | undefined,
  shape: number[],
): { sigmaW2: number; init: 'gaussian' | 'orthogonal'; how: string } | { sigmaW2: null; why: string } {
  const { fanIn, fanOut } = fans(shape);
  if (init == null) return { sigmaW2: null, why: 'no kernel initializer in its config' };
  const cls = typeof init === 'string' ? init : String(init.className);
  const c: Json = typeof init === 'string' ? {} : (init.config ?? {});
  const isVS = ['VarianceScaling', 'GlorotUniform', 'GlorotNormal', 'HeNormal', 'HeUniform', 'LeCunNormal', 'LeCunUniform'];
  if (isVS.includes(cls) || ('scale' in c && 'mode' in c && 'distribution' in c)) {
    const defaults: Record<string, [number, string, string]> = {
      GlorotUniform: [1, 'fanAvg', 'uniform'],
      GlorotNormal: [1, 'fanAvg', 'normal'],
      HeNormal: [2, 'fanIn', 'normal'],
      HeUniform: [2, 'fanIn', 'uniform'],
      LeCunNormal: [1, 'fanIn', 'normal'],
      LeCunUniform: [1, 'fanIn', 'uniform'],
      VarianceScaling: [1, 'fanIn', 'normal'],
    };
    const d = defaults[cls] ?? defaults.VarianceScaling;
    const scale = Number(c.scale ?? d[0]);
    const mode = String(c.mode ?? d[1]).replace(/_(\w)/g, (_, x) => x.toUpperCase());
    const dist = String(c.distribution ?? d[2]).replace(/_(\w)/g, (_, x) => x.toUpperCase());
    const n = mode === 'fanIn' ? fanIn : mode === 'fanOut' ? fanOut : mode === 'fanAvg' ? (fanIn + fanOut) / 2 : Number.NaN;
    if (!Number.isFinite(n)) return { sigmaW2: null, why: `VarianceScaling mode ${JSON.stringify(c.mode)} is not fanIn, fanOut or fanAvg` };
    let f: number;
    let what: string;
    if (dist === 'normal' || dist === 'truncatedNormal') {
      f = truncatedNormalVariance(2);
      what = `truncated normal at 2 sd (variance × ${f.toFixed(4)})`;
    } else if (dist === 'uniform') {
      f = 1;
      what = 'uniform';
    } else if (dist === 'untruncatedNormal') {
      f = 1;
      what = 'normal';
    } else return { sigmaW2: null, why: `VarianceScaling distribution ${JSON.stringify(c.distribution)} is not normal or uniform` };
    const sw = (f * scale * fanIn) / Math.max(1, n);
    return {
      sigmaW2: sw,
      init: 'gaussian',
      how: `${cls}: Var W = ${what} · scale ${scale} / ${mode} ${n}; σ_w² = Var W · fan_in ${fanIn} = ${sw.toPrecision(6)}`,
    };
  }
  if (cls === 'RandomNormal' || cls === 'TruncatedNormal') {
    const mean = Number(c.mean ?? 0);
    const sd = Number(c.stddev ?? 0.05);
    if (mean !== 0) return { sigmaW2: null, why: `${cls} with mean ${mean} (the mean field takes zero-mean weights)` };
    const f = cls === 'TruncatedNormal' ? truncatedNormalVariance(2) : 1;
    const sw = f * sd * sd * fanIn;
    return {
      sigmaW2: sw,
      init: 'gaussian',
      how: `${cls}: Var W = ${f === 1 ? '' : `${f.toFixed(4)} · `}${sd}²; σ_w² = Var W · fan_in ${fanIn} = ${sw.toPrecision(6)}`,
    };
  }
  if (cls === 'RandomUniform') {
    const lo = Number(c.minval ?? -0.05);
    const hi = Number(c.maxval ?? 0.05);
    if (lo !== -hi)
      return { sigmaW2: null, why: `RandomUniform on [${lo}, ${hi}] is not centred (the mean field takes zero-mean weights)` };
    const sw = ((hi - lo) ** 2 / 12) * fanIn;
    return {
      sigmaW2: sw,
      init: 'gaussian',
      how: `RandomUniform: Var W = (${hi} − ${lo})²/12; σ_w² = Var W · fan_in ${fanIn} = ${sw.toPrecision(6)}`,
    };
  }
  if (cls === 'Orthogonal') {
    const gain = Number(c.gain ?? 1);
    // orthonormal columns (fan_in ≥ fan_out) or rows: each entry has variance gain²/max(fan_in, fan_out)
    const sw = (gain * gain * fanIn) / Math.max(fanIn, fanOut);
    if (shape.length !== 2)
      return {
        sigmaW2: null,
        why: 'an Orthogonal conv kernel (signalprop takes orthogonal on the flattened kernel, which tfjs does not draw)',
      };
    return {
      sigmaW2: sw,
      init: 'orthogonal',
      how: `Orthogonal gain ${gain}: σ_w² = gain² · fan_in/max(fan_in, fan_out) = ${sw.toPrecision(6)}`,
    };
  }
  return { sigmaW2: null, why: `its kernel initializer ${cls} has no σ_w² (zero-mean random weights of a known variance)` };
}

/** tfjs activation names → signalprop activation strings (src/network/activation.ts). */
const ACTIVATIONS: Record<string, string | null> = {
  linear: 'identity',
  relu: 'relu',
  tanh: 'tanh',
  gelu: 'gelu',
  gelu_new: 'expr:0.5*x*(1+tanh(sqrt(2/pi)*(x+0.044715*x^3)))',
  swish: 'silu',
  elu: 'elu:1',
  softplus: 'softplus',
  sigmoid: 'expr:1/(1+exp(-x))',
  // SELU as one smooth-looking expression mathjs differentiates: max(x, 0) = (|x| + x)/2, min(x, 0) = (x − |x|)/2
  selu: 'expr:1.0507009873554805*(abs(x)/2+x/2+1.6732632423543772*(exp((x-abs(x))/2)-1))',
  mish: 'expr:x*tanh(log(1+exp(x)))',
  softsign: 'expr:x/(1+abs(x))',
};

/** The signalprop activation of a tfjs activation name, or the reason there is none. */
export function tfjsActivation(name: string): { activation: string } | { activation: null; why: string } {
  const a = ACTIVATIONS[name];
  if (a === undefined || a === null)
    return {
      activation: null,
      why: `activation ${JSON.stringify(name)} has no signalprop form (${Object.keys(ACTIVATIONS).join(', ')} do)`,
    };
  try {
    parseActivation(a);
  } catch (e) {
    if (e instanceof ActivationError) return { activation: null, why: `activation ${name} (${a}) does not parse: ${e.message}` };
    throw e;
  }
  return { activation: a };
}

function initValue(init: Json | string | null | undefined, d: number): number | null {
  if (init == null) return d;
  const cls = typeof init === 'string' ? init : init.className;
  if (cls === 'Ones' || cls === 'ones') return 1;
  if (cls === 'Zeros' || cls === 'zeros') return 0;
  if (cls === 'Constant' || cls === 'constant') return Number((init as Json).config?.value ?? 0);
  return null;
}

interface Node {
  layer: tf.layers.Layer;
  inbound: string[];
}

function inboundOf(l: tf.layers.Layer): string[] {
  const nodes = (l as any).inboundNodes as { inboundLayers: tf.layers.Layer[] }[] | undefined;
  return nodes && nodes.length > 0 ? nodes[0].inboundLayers.map((x) => x.name) : [];
}

/** Read a tfjs LayersModel as a signalprop layer list (see the file's head and docs/probe.md). */
export function describe(model: tf.LayersModel, options: DescribeOptions = {}): Description {
  const notes: string[] = [];
  const map: ModelLayerMap[] = [];
  const shape = model.inputs[0]?.shape ?? [];
  const dims = shape.slice(1) as (number | null)[];
  let inputDim: number | null = null;
  let image: [number, number, number] | null = null;
  if (dims.length === 1 && typeof dims[0] === 'number') inputDim = dims[0];
  else if (dims.length === 3 && dims.every((d) => typeof d === 'number')) {
    image = dims as [number, number, number];
    inputDim = image[0] * image[1] * image[2];
  }
  if (model.inputs.length !== 1) notes.push(`the model has ${model.inputs.length} inputs; the theory takes one`);
  if (model.outputs.length !== 1) notes.push(`the model has ${model.outputs.length} outputs; the theory takes one`);
  const nodes: Node[] = model.layers.map((l) => ({ layer: l, inbound: inboundOf(l) }));
  // the readout: the last Dense, when only activations, softmax or dropout follow it
  let readoutIdx = -1;
  for (let i = nodes.length - 1; i >= 0; i--) {
    const c = nodes[i].layer.getClassName();
    if (c === 'Dense') {
      readoutIdx = i;
      break;
    }
    if (!['Activation', 'Softmax', 'Dropout'].includes(c)) break;
  }
  const list: LayerInput[] = [];
  // for each list entry: the model layers it came from (to fold a branch into a residual)
  const owners: string[][] = [];
  let ok = dims.length > 0 && inputDim !== null && model.inputs.length === 1 && model.outputs.length === 1;
  if (inputDim === null) notes.push(`the model's input shape ${JSON.stringify(shape)} is neither [batch, n] nor [batch, H, W, C]`);
  let head: string | null = null; // the model layer whose output the list ends with
  const noTheory = (m: ModelLayerMap, why: string) => {
    m.kind = null;
    notes.push(`no theory for layer ${m.modelLayer} (${m.className}): ${why}`);
    ok = false;
  };
  let seenBlock = false;
  for (let i = 0; i < nodes.length; i++) {
    const { layer, inbound } = nodes[i];
    const cls = layer.getClassName();
    const c = layer.getConfig() as Json;
    const m: ModelLayerMap = { modelLayer: layer.name, className: cls, kind: null, block: null };
    map.push(m);
    const push = (entry: LayerInput) => {
      list.push(entry);
      owners.push([layer.name]);
      head = layer.name;
    };
    if (cls === 'InputLayer') {
      m.kind = 'identity';
      head = layer.name;
      continue;
    }
    // a layer must read the list's current end (a chain), except Add (a residual) and the first layer
    const chained = head === null ? inbound.length <= 1 : inbound.length === 1 && inbound[0] === head;
    if (i === readoutIdx) {
      m.kind = 'readout';
      if (!chained) noTheory(m, 'it does not read the previous layer (a branch the theory does not follow)');
      if (c.activation && c.activation !== 'linear' && c.activation !== 'softmax')
        notes.push(
          `the readout ${layer.name} has activation ${c.activation}: the theory's readout is linear (softmax belongs to the loss)`,
        );
      continue;
    }
    if (i > readoutIdx && readoutIdx >= 0) {
      m.kind = 'identity';
      if (cls === 'Dropout' && Number(c.rate ?? 0) > 0) notes.push(`dropout ${layer.name} after the readout (rate ${c.rate})`);
      continue;
    }
    if (cls === 'Add') {
      m.kind = 'residual';
      const ins = inbound;
      // a skip around a chain: Add(a, b) where b ends a chain of list entries that starts reading a
      const j = ins.length === 2 ? ins.indexOf(head as unknown as string) : -1;
      const skip = j >= 0 ? ins[1 - j] : null;
      let start = -1;
      if (skip !== null) {
        // the chain's first entry reads `skip`: walk back over the list's trailing entries
        for (let k = owners.length - 1; k >= 0; k--) {
          const first = owners[k][0];
          const node = nodes.find((n) => n.layer.name === first)!;
          if (node.inbound.length === 1 && node.inbound[0] === skip) {
            start = k;
            break;
          }
        }
      }
      if (start < 0 || list.slice(start).some((e) => e.kind === 'residual')) {
        noTheory(m, 'an Add that is not a skip connection around a chain of single-input layers');
        continue;
      }
      const inner = list.splice(start);
      const innerOwners = owners.splice(start).flat();
      const dense = inner.filter((e) => e.kind === 'dense').length;
      if (dense !== 1) {
        noTheory(m, `a residual branch with ${dense} Dense layers (signalprop's residual holds exactly one)`);
        continue;
      }
      list.push({ kind: 'residual', scale: 1, layers: inner });
      owners.push([...innerOwners, layer.name]);
      head = layer.name;
      continue;
    }
    if (!chained) {
      noTheory(m, `it reads ${inbound.join(', ') || 'nothing'}, not the previous layer's output (a branch the theory does not follow)`);
      head = layer.name;
      continue;
    }
    if (cls === 'Dense' || cls === 'Conv2D') {
      const kernel = (layer.getWeights()[0]?.shape ?? []) as number[];
      const iv = initVariance(c.kernelInitializer, kernel);
      seenBlock = true;
      if (iv.sigmaW2 === null) {
        noTheory(m, iv.why);
        head = layer.name;
        continue;
      }
      m.sigmaW2 = iv.sigmaW2;
      m.how = iv.how;
      if (c.useBias !== false) {
        const b = initValue(c.biasInitializer, 0);
        if (b !== 0) notes.push(`${layer.name}: its bias initializer is not zero; the theory takes σ_b² = 0 and a zero-mean bias`);
      }
      if (cls === 'Dense') push({ kind: 'dense', width: c.units, init: iv.init, sigmaW2: iv.sigmaW2, sigmaB2: 0 });
      else {
        const ks = Array.isArray(c.kernelSize) ? c.kernelSize : [c.kernelSize, c.kernelSize];
        const st = Array.isArray(c.strides) ? c.strides : [c.strides ?? 1, c.strides ?? 1];
        const dil = Array.isArray(c.dilationRate) ? c.dilationRate : [c.dilationRate ?? 1, c.dilationRate ?? 1];
        if (ks[0] !== ks[1] || st[0] !== st[1] || dil.some((d: number) => d !== 1) || (c.dataFormat ?? 'channelsLast') !== 'channelsLast') {
          noTheory(
            m,
            'a non-square kernel or stride, a dilation, or channels-first data (signalprop takes square, undilated NHWC convolutions)',
          );
          head = layer.name;
          continue;
        }
        if (c.padding === 'same' && ks[0] % 2 === 0) {
          noTheory(m, `'same' padding with an even kernel ${ks[0]} (tfjs pads it asymmetrically)`);
          head = layer.name;
          continue;
        }
        push({
          kind: 'conv2d',
          channels: c.filters,
          kernel: ks[0],
          stride: st[0],
          padding: c.padding === 'same' ? 'same' : 0,
          init: iv.init,
          sigmaW2: iv.sigmaW2,
          sigmaB2: 0,
        });
      }
      m.kind = cls === 'Dense' ? 'dense' : 'conv2d';
      const act = String(c.activation ?? 'linear');
      if (act !== 'linear') {
        m.activation = act;
        const a = tfjsActivation(act);
        if (a.activation === null) noTheory(m, a.why);
        else {
          list.push({ kind: 'act', activation: a.activation });
          owners[owners.length - 1].push(layer.name);
        }
      }
      continue;
    }
    if (!seenBlock) {
      noTheory(m, 'it comes before the first Dense or Conv2D (a signalprop list starts with a weight layer)');
      head = layer.name;
      continue;
    }
    if (cls === 'BatchNormalization' || cls === 'LayerNormalization') {
      const axis = c.axis;
      const last = axis === -1 || (Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === dims.length));
      const gamma = c.scale === false ? 1 : initValue(c.gammaInitializer, 1);
      const beta = c.center === false ? 0 : initValue(c.betaInitializer, 0);
      if (!last && cls === 'BatchNormalization' && !(Array.isArray(axis) && axis[0] === -1)) {
        noTheory(m, `axis ${JSON.stringify(axis)}: the theory normalises each unit (channel) over the batch, axis −1`);
      } else if (cls === 'LayerNormalization' && !last) {
        noTheory(m, `axis ${JSON.stringify(axis)}: the theory normalises each sample over its last axis`);
      } else if (gamma === null || beta === null || gamma === 0) {
        noTheory(m, 'its γ or β initializer is not a constant (Ones, Zeros, Constant) with γ ≠ 0');
      } else {
        const kind = cls === 'BatchNormalization' ? 'batchnorm' : 'layernorm';
        if (kind === 'layernorm' && image) noTheory(m, 'a LayerNormalization on an image (signalprop has layernorm for flat activations)');
        else {
          m.kind = kind;
          push({ kind, gamma, beta, eps: Number(c.epsilon ?? 1e-3) });
        }
      }
      head = layer.name;
      continue;
    }
    if (cls === 'Activation' || cls === 'ReLU' || cls === 'LeakyReLU' || cls === 'ELU') {
      let a: ReturnType<typeof tfjsActivation>;
      if (cls === 'Activation') a = tfjsActivation(String(c.activation));
      else if (cls === 'ReLU')
        a = c.maxValue == null ? { activation: 'relu' } : { activation: null, why: `ReLU with maxValue ${c.maxValue} (a clipped ReLU)` };
      else if (cls === 'LeakyReLU') a = { activation: `leaky-relu:${Number(c.alpha ?? 0.3)}` };
      else a = { activation: `elu:${Number(c.alpha ?? 1)}` };
      if (a.activation === null) noTheory(m, a.why);
      else if (a.activation === 'identity') m.kind = 'identity';
      else {
        m.kind = 'act';
        push({ kind: 'act', activation: a.activation });
      }
      head = layer.name;
      continue;
    }
    if (cls === 'Dropout') {
      if (Number(c.rate ?? 0) === 0) m.kind = 'identity';
      else noTheory(m, `dropout at rate ${c.rate} (its mask is noise the mean field here does not model)`);
      head = layer.name;
      continue;
    }
    if (cls === 'GlobalAveragePooling2D' || cls === 'Flatten') {
      m.kind = cls === 'Flatten' ? 'flatten' : 'gap';
      push({ kind: m.kind });
      continue;
    }
    noTheory(
      m,
      `signalprop has no ${cls} kind (${['Dense', 'BatchNormalization', 'LayerNormalization', 'Activation', 'ReLU', 'LeakyReLU', 'ELU', 'Add', 'Conv2D', 'GlobalAveragePooling2D', 'Flatten', 'Dropout'].join(', ')} map)`,
    );
    head = layer.name;
  }
  // blocks: each starts at a dense/residual/conv2d; the map's block index follows the list
  let block = 0;
  owners.forEach((names, k) => {
    const e = list[k];
    if (e.kind === 'dense' || e.kind === 'residual' || e.kind === 'conv2d') block++;
    for (const n of names) {
      const m = map.find((x) => x.modelLayer === n)!;
      if (m.block === null) m.block = block;
    }
  });
  const readout = readoutIdx >= 0 ? nodes[readoutIdx].layer.name : null;
  if (readout === null) {
    notes.push('no readout Dense at the end: the theory needs a linear readout after the last block');
    ok = false;
  }
  const desc: Description = { layers: ok ? list : null, notes, map, inputDim, image, readout, inputScale: 1 };
  if (!ok || list.length === 0) {
    desc.layers = null;
    if (ok) notes.push('no blocks before the readout');
    return desc;
  }
  try {
    const { spec, inputScale } = specOf(list, inputDim!, image, options.batch ?? null, notes);
    desc.spec = spec;
    desc.inputScale = inputScale;
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    notes.push(`no spec for the described list: ${e.message}`);
  }
  return desc;
}

/** The preset a list of identical blocks is, when it is one (the BatchNorm theory needs a preset). */
function presetOf(list: LayerInput[]): { order: 'linear-bn-act' | 'linear-act-bn'; blocks: LayerInput[][] } | null {
  const blocks: LayerInput[][] = [];
  for (const e of list) {
    if (e.kind === 'dense') blocks.push([e]);
    else if (blocks.length > 0) blocks[blocks.length - 1].push(e);
    else return null;
  }
  const sig = (b: LayerInput[]) => b.map((e) => e.kind).join('→');
  const s = sig(blocks[0]);
  if (!blocks.every((b) => sig(b) === s)) return null;
  const order = s === 'dense→batchnorm→act' ? 'linear-bn-act' : s === 'dense→act→batchnorm' ? 'linear-act-bn' : null;
  if (!order) return null;
  const same = (k: string) =>
    blocks.every((b) => JSON.stringify(b.find((e) => e.kind === k)) === JSON.stringify(blocks[0].find((e) => e.kind === k)));
  if (!same('batchnorm') || !same('act')) return null;
  return { order, blocks };
}

function specOf(
  list: LayerInput[],
  inputDim: number,
  image: [number, number, number] | null,
  batch: number | null,
  notes: string[],
): { spec: NetworkSpec; inputScale: number } {
  const p = image ? null : presetOf(list);
  if (p) {
    const dense = p.blocks.map((b) => b[0]);
    const bn = p.blocks[0].find((e) => e.kind === 'batchnorm')!;
    const act = p.blocks[0].find((e) => e.kind === 'act')!;
    const ws = dense.map((d) => d.width as number);
    const sw = dense.map((d) => d.sigmaW2 as number);
    const inits = new Set(dense.map((d) => d.init));
    const interior = sw.length > 1 ? sw[1] : sw[0];
    if (sw.slice(1).some((v) => Math.abs(v - interior) > 1e-12 * interior) || inits.size > 1)
      throw new InputError('layers', sw, 'blocks 2..L with one σ_w² and one init (the BatchNorm presets carry one of each)');
    const input: SpecInput = {
      order: p.order,
      depth: dense.length,
      width: ws.every((w) => w === ws[0]) ? ws[0] : ws,
      inputDim,
      batch,
      activation: act.activation as string,
      init: { kind: dense[0].init as 'gaussian', sigmaW2: interior, sigmaB2: 0 },
      bn: { gamma: bn.gamma as number, beta: bn.beta as number, eps: bn.eps as number },
    };
    const inputScale = sw[0] / interior;
    if (inputScale !== 1)
      notes.push(
        `the ${p.order} preset takes one σ_w² (${interior.toPrecision(6)}, blocks 2..L); block 1's ${sw[0].toPrecision(6)} enters as the input's second moment × ${inputScale.toPrecision(6)} (the same pre-activation variance of block 1)`,
      );
    notes.push(`described as the preset ${p.order}: ${dense.length} blocks, the readout outside them`);
    return { spec: makeSpec(input), inputScale };
  }
  return {
    spec: makeSpec({ layers: list, inputDim, batch, ...(image ? { image } : {}) }),
    inputScale: 1,
  };
}

// the room's index re-exports the model-theory names through this file (one line there)
export {
  blocksOfDescription,
  defaultLayerIndex,
  giaRecords,
  gradRatios,
  inputMoments,
  type Overlay,
  type OverlayBlock,
  type OverlayOptions,
  theoryOverlay,
} from './theory.js';
export { loadModel, ModelFileError, readModelArtifacts, saveModel } from './load.js';
