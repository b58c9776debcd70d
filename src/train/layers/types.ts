// What an entry of the trainer's layer table (TRAIN_LAYERS, index.ts) is: how a layer of a network's list
// becomes tfjs parameters, and its forward pass in training and eval mode. The Mlp (model.ts) compiles
// the list into nodes once, then walks them; an entry sees only its own node.
import type * as tf from '@tensorflow/tfjs';
import type { ImageShape, Layer, LayerKind, LayerOf, LinearParams, MaybeSupported } from '../../network/index.js';
import type { Capture } from '../model.js';

export type T2 = tf.Tensor2D;
export type T1 = tf.Tensor1D;

/** The kinds of trainable tensors; a parameter is named `block<l>.<kind>` (`block<l>.<kind><k>` for the k-th of a kind in a block, k ≥ 2). */
export type ParamKind = 'W' | 'b' | 'gamma' | 'beta';

/** One parameter a layer declares: its kind, shape and initial value. */
export interface ParamInit {
  kind: ParamKind;
  shape: number[];
  init: () => tf.Tensor;
}

/** What building a layer knows: its block, the width it receives and the block's drawn Linear layer. */
export interface BuildContext {
  /** Block index 1..depth. */
  block: number;
  /** Width of this layer's input (H·W·C for an image). */
  width: number;
  /** The image shape of this layer's input (NHWC, flattened to B × H·W·C between layers), or null when flat. */
  shape: ImageShape | null;
  /** The block's Linear layer from drawNetwork(spec, seed) (the sampler's draws). */
  dense: LinearParams;
}

/** What an entry's build returns. */
export interface Built<D> {
  /** Its parameters, in the order the Mlp stores them (checkpoints and optimizer state follow it). */
  params: ParamInit[];
  /** Width of its output. */
  width: number;
  /** Whether it keeps running statistics (mean and variance per unit) for eval mode. */
  runningStats?: boolean;
  /** Length of its running statistics (default: width; C for BatchNorm2d) and the values per sample behind each (H·W). */
  statWidth?: number;
  statRows?: number;
  /** Several running-statistics slots (a resblock's BatchNorm2d layers), consecutive from Node.stat; overrides the three above. */
  statSlots?: { width: number; rows: number }[];
  /** Its output's image shape, when it changes it (conv2d, gap, flatten). */
  shape?: ImageShape | null;
  /** Layers it wraps (built and walked by the Mlp, with this layer's block). */
  inner?: readonly Layer[];
  /** Anything the forward needs that is fixed at build (e.g. the tf form of φ). */
  data: D;
}

/** A compiled layer: the list's layer, where its parameters and running statistics live, its inner nodes. */
export interface Node<K extends LayerKind = LayerKind, D = unknown> {
  layer: LayerOf<K>;
  block: number;
  /** Indices into the Mlp's parameters, in the order of Built.params. */
  params: number[];
  /** Its running-statistics slot (batchnorm), else −1. */
  stat: number;
  inner: Node[];
  data: D;
}

/** Batch statistics of one BN call (biased variance), kept for the running statistics. */
export interface BnBatchStats {
  mean: T1;
  variance: T1;
}

/** What a forward pass hands every node. */
export interface ForwardContext {
  mode: 'train' | 'eval';
  /** The parameters (the Mlp's order). */
  p: tf.Tensor[];
  /** Probe tensors to fill (kept; the caller disposes them). */
  capture?: Capture;
  /** Training mode: batch statistics per running-statistics slot (kept; the caller disposes them). */
  bnStats?: BnBatchStats[];
  /** Eval mode: the running statistics per slot. */
  runMean: T1[];
  runVar: T1[];
  /** Forward through a list of nodes (for wrappers). */
  run(nodes: readonly Node[], x: T2): T2;
}

/**
 * One kind's tfjs implementation: its parameters and its forward, training and eval mode (gradients by
 * tf.customGrad where autodiff is slow or broken). `unsupported` (network/support.ts) would say what the
 * trainer cannot do with the kind; every kind trains today.
 */
export interface TrainLayer<K extends LayerKind, D = undefined> extends MaybeSupported {
  build(layer: LayerOf<K>, ctx: BuildContext): Built<D>;
  forward(node: Node<K, D>, x: T2, ctx: ForwardContext): T2;
}
