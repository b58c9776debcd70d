// The MLP of a spec on tfjs: its layer list (layersOf(spec)) built through the trainer's layer table
// (TRAIN_LAYERS, src/train/layers/) and walked block by block. Weights come from the same seeded draws as
// the sampler (src/network/random.ts), so that step 0 of training is the sampled network of the same seed.
import * as tf from '@tensorflow/tfjs';
import {
  blocksOf,
  checkSupported,
  DEFAULT_RNG,
  drawNetwork,
  drawReadout,
  imageOf,
  type Layer,
  layersOf,
  type NetworkSpec,
  type RngName,
} from '../network/index.js';
import type { TfActivation } from './activations.js';
import {
  type BnBatchStats,
  type BuildContext,
  type Built,
  type ForwardContext,
  kernelFromRowMajor,
  linear,
  type Node,
  type ParamKind,
  TRAIN_LAYERS,
} from './layers/index.js';
import { tap } from './layers/tap.js';

type T2 = tf.Tensor2D;
type T1 = tf.Tensor1D;

export type { ParamKind };

export interface ParamInfo {
  /** e.g. "block3.W", "readout.b". */
  name: string;
  /** Block index 1..depth, or null for the readout. */
  layer: number | null;
  kind: ParamKind;
  shape: number[];
  /** 1-D parameters (biases, norm γ/β): excluded from LARS/LAMB/LALC adaptation and weight decay by default. */
  oneD: boolean;
}

/** What a forward pass hands out for probes (all tensors kept; the caller disposes them). */
export interface Capture {
  /** h_l: the dense output of block l (pre-normalization), B × n_l. */
  h: T2[];
  /** The argument of block l's first φ (the BN output for linear-bn-act, h_l for linear-act); the block output when it has no act layer. */
  actIn: T2[];
  /** Block outputs x_l, B × n_l. */
  out: T2[];
  /** ‖∂L/∂h_l‖² (scalars), filled during the backward pass. */
  dhSq: tf.Scalar[];
  /** ∂L/∂h_l itself (B × n_l), filled during the backward pass (a clone: shares the values, changes nothing). */
  dh: T2[];
  /** ∂L/∂y at the readout output (B × nOut), filled during the backward pass. */
  dy?: T2;
  /** ∂L/∂x_l at block outputs (B × n_l), filled during the backward pass (an identity tap on x_l: the gradient the next block hands back). */
  dx?: T2[];
}

export function emptyCapture(depth: number): Capture {
  return {
    h: new Array(depth),
    actIn: new Array(depth),
    out: new Array(depth),
    dhSq: new Array(depth),
    dh: new Array(depth),
    dx: new Array(depth),
  };
}

export function disposeCapture(c: Capture): void {
  for (const list of [c.h, c.actIn, c.out, c.dhSq, c.dh, c.dx ?? []]) for (const t of list) t?.dispose();
  c.dy?.dispose();
}

export { kernelFromRowMajor };

/** A table entry with its kind erased: each node is handed to the entry of its own layer's kind. */
interface AnyEntry {
  build(layer: Layer, ctx: BuildContext): Built<unknown>;
  forward(node: Node, x: T2, ctx: ForwardContext): T2;
}
const entry = (l: Layer): AnyEntry => TRAIN_LAYERS[l.kind] as unknown as AnyEntry;

/** Nodes and their inner nodes, depth first. */
function flatNodes(ns: readonly Node[]): Node[] {
  return ns.flatMap((n) => [n, ...flatNodes(n.inner)]);
}

function run(nodes: readonly Node[], x: T2, ctx: ForwardContext): T2 {
  let v = x;
  for (const n of nodes) v = entry(n.layer).forward(n, v, ctx);
  return v;
}

export class Mlp {
  readonly spec: NetworkSpec;
  readonly nOut: number;
  readonly info: ParamInfo[];
  /** Parameters, in the order of `info`: block by block, each layer's in list order, then the readout. */
  params: tf.Tensor[];
  /** Running statistics (of each BN layer's input, in list order), updated by `updateRunningStats`. */
  runMean: T1[];
  runVar: T1[];
  /** PyTorch's convention: running ← (1 − m)·running + m·batch, unbiased batch variance. */
  readonly bnMomentum = 0.1;
  /** The compiled layers, one list per block. */
  readonly blocks: Node[][];
  private readonly readoutIndex: { W: number; b: number };

  /** Values per sample behind each running-statistics slot (1; H·W for BatchNorm2d). */
  private statRows: number[] = [];

  private constructor(spec: NetworkSpec, nOut: number, blocks: Node[][], params: tf.Tensor[], info: ParamInfo[], statWidths: number[]) {
    this.spec = spec;
    this.nOut = nOut;
    this.blocks = blocks;
    this.params = params;
    this.info = info;
    this.runMean = statWidths.map((n) => tf.zeros([n]) as T1);
    this.runVar = statWidths.map((n) => tf.ones([n]) as T1);
    this.readoutIndex = {
      W: info.findIndex((p) => p.layer === null && p.kind === 'W'),
      b: info.findIndex((p) => p.layer === null && p.kind === 'b'),
    };
  }

  /**
   * The network of `seed`: each block's dense layer from drawNetwork(spec, seed), norm γ/β from their
   * layers, readout weights from drawReadout(width_L, nOut, seed), readout bias 0, with generator `rng`
   * (default DEFAULT_RNG, as the sampler's, so that step 0 is the sampled network).
   */
  static fromSeed(spec: NetworkSpec, nOut: number, seed: number, rng: RngName = DEFAULT_RNG): Mlp {
    // what the trainer's table marks unsupported (resblock today) is refused here, one SpecError (exit 2)
    checkSupported(spec, TRAIN_LAYERS as Record<Layer['kind'], { unsupported?: string }>, 'the trainer');
    const draws = drawNetwork(spec, seed, { rng });
    const params: tf.Tensor[] = [];
    const info: ParamInfo[] = [];
    const statWidths: number[] = [];
    let width = spec.inputDim;
    let shape = imageOf(spec);
    const statRows: number[] = [];
    const blocks = blocksOf(layersOf(spec)).map((layers, i) => {
      const block = i + 1;
      const seen = new Map<ParamKind, number>();
      const build = (list: readonly Layer[]): Node[] =>
        list.map((layer) => {
          const b = entry(layer).build(layer, { block, width, shape, dense: draws[i] });
          const slots = b.statSlots ?? (b.runningStats ? [{ width: b.statWidth ?? width, rows: b.statRows ?? 1 }] : []);
          const node: Node = { layer, block, params: [], stat: slots.length ? statWidths.length : -1, inner: [], data: b.data };
          for (const sl of slots) {
            statWidths.push(sl.width);
            statRows.push(sl.rows);
          }
          for (const p of b.params) {
            const k = (seen.get(p.kind) ?? 0) + 1;
            seen.set(p.kind, k);
            node.params.push(params.length);
            params.push(p.init());
            info.push({
              name: `block${block}.${p.kind}${k > 1 ? k : ''}`,
              layer: block,
              kind: p.kind,
              shape: p.shape,
              oneD: p.shape.length === 1,
            });
          }
          if (b.inner) node.inner = build(b.inner);
          width = b.width;
          if (b.shape !== undefined) shape = b.shape;
          return node;
        });
      return build(layers);
    });
    params.push(tf.tensor2d(kernelFromRowMajor(drawReadout(width, nOut, seed, { rng }), nOut, width), [width, nOut]));
    info.push({ name: 'readout.W', layer: null, kind: 'W', shape: [width, nOut], oneD: false });
    params.push(tf.zeros([nOut]));
    info.push({ name: 'readout.b', layer: null, kind: 'b', shape: [nOut], oneD: true });
    const model = new Mlp(spec, nOut, blocks, params, info, statWidths);
    model.statRows = statRows;
    return model;
  }

  /** The nodes of block l (1..depth), inner nodes included, in list order. */
  blockNodes(l: number): Node[] {
    return flatNodes(this.blocks[l - 1]);
  }

  /** Index into params of block l's first γ (l = 1..depth), or −1 when it has none. */
  gammaIndex(l: number): number {
    return this.info.findIndex((p) => p.layer === l && p.kind === 'gamma');
  }

  /** Index into params of block l's kernel (l = 1..depth), or of the readout kernel (l = null). */
  weightIndex(l: number | null): number {
    return l === null ? this.readoutIndex.W : this.info.findIndex((p) => p.layer === l && p.kind === 'W');
  }

  /** The tf form of block l's first φ. */
  activation(l: number): TfActivation {
    const n = this.blockNodes(l).find((x) => x.layer.kind === 'act');
    if (!n) throw new Error(`block ${l} has no act layer`);
    return n.data as TfActivation;
  }

  /**
   * Forward pass with parameters `p` (same order as `info`). Training mode uses batch statistics and
   * hands them to `bnStats`, one per running-statistics slot (kept tensors; caller disposes). Returns the
   * readout outputs (B × nOut).
   */
  forward(p: tf.Tensor[], x: T2, mode: 'train' | 'eval', capture?: Capture, bnStats?: BnBatchStats[]): T2 {
    const ctx: ForwardContext = {
      mode,
      p,
      capture,
      bnStats,
      runMean: this.runMean,
      runVar: this.runVar,
      run: (nodes, v) => run(nodes, v, ctx),
    };
    let cur = x;
    for (const [i, block] of this.blocks.entries()) {
      cur = run(block, cur, ctx);
      if (capture) {
        capture.out[i] = tf.keep(cur);
        capture.actIn[i] ??= cur;
        const dx = capture.dx;
        const k = i;
        if (dx)
          cur = tap(cur, (g) => {
            dx[k] = tf.keep(tf.clone(g));
          });
      }
    }
    const onReadoutGrad = capture
      ? (dy: T2) => {
          capture.dy = tf.keep(tf.clone(dy));
        }
      : undefined;
    return linear(cur, p[this.readoutIndex.W] as T2, p[this.readoutIndex.b] as T1, onReadoutGrad);
  }

  /** running ← (1 − m)·running + m·batch (variance made unbiased by n/(n − 1), n = B, or B·H·W for BatchNorm2d); disposes the stats. */
  updateRunningStats(stats: BnBatchStats[], batch: number): void {
    const m = this.bnMomentum;
    for (let i = 0; i < stats.length; i++) {
      const s = stats[i];
      if (!s) continue;
      const n = batch * (this.statRows[i] ?? 1);
      const unbias = n > 1 ? n / (n - 1) : 1;
      const nm = tf.tidy(() => tf.add(tf.mul(this.runMean[i], 1 - m), tf.mul(s.mean, m)) as T1);
      const nv = tf.tidy(() => tf.add(tf.mul(this.runVar[i], 1 - m), tf.mul(s.variance, m * unbias)) as T1);
      this.runMean[i].dispose();
      this.runVar[i].dispose();
      this.runMean[i] = nm;
      this.runVar[i] = nv;
      s.mean.dispose();
      s.variance.dispose();
    }
  }

  dispose(): void {
    for (const t of [...this.params, ...this.runMean, ...this.runVar]) t.dispose();
  }
}
