// The building blocks of a trained network on tfjs: Linear and BatchNorm with hand-written gradients
// (tf.customGrad), and activations as tf ops, including `expr:` activations compiled from their
// mathjs syntax tree.
//
// Why custom gradients: on the wasm backend a matMul with a transposed operand is ~30x slower than a
// plain one, and tfjs's autodiff of matMul uses transposed operands. On wasm our gradients transpose
// explicitly (tf.transpose) and then call a plain matMul; on backends whose transposed matMul costs
// nothing extra (blas: sgemm takes the transpose as a flag; tfjs-node) they pass the flag. The
// arithmetic is the same either way. See docs/training.md.
import * as tf from '@tensorflow/tfjs';
import { type MathNode, parse } from 'mathjs';
import { type Activation, resolveActivation } from '../network/index.js';
import { TrainConfigError } from './errors.js';
import { bnBackward, bnForward } from './ops.js';

type T2 = tf.Tensor2D;
type T1 = tf.Tensor1D;

/** Whether the active backend needs explicit transposes before a matMul (wasm and the JS cpu backend). */
export function explicitTranspose(): boolean {
  const b = tf.getBackend();
  return b !== 'blas' && b !== 'tensorflow';
}

/**
 * h = x·K + b with K = Wᵀ (fan_in × fan_out, "kernel" layout, so the forward is a plain matMul).
 * Gradients: dx = dh·Kᵀ, dK = xᵀ·dh, db = Σ_batch dh; the transposes are explicit on wasm and cpu,
 * matMul flags on blas and tfjs-node (see explicitTranspose).
 * `onGrad` (optional) receives dh = ∂L/∂h inside the backward pass (used by probes; it must not
 * return or modify anything).
 */
export function linear(x: T2, K: T2, b: T1, onGrad?: (dh: T2) => void): T2 {
  const f = tf.customGrad(((xx: tf.Tensor, kk: tf.Tensor, bb: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xx, kk]);
    const value = tf.add(tf.matMul(xx as T2, kk as T2), bb) as T2;
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const dh = dy as T2;
        const [xs, ks] = saved as [T2, T2];
        if (onGrad) onGrad(dh);
        const explicit = explicitTranspose();
        const dx = explicit ? tf.matMul(dh, tf.transpose(ks)) : tf.matMul(dh, ks, false, true);
        const dk = explicit ? tf.matMul(tf.transpose(xs), dh) : tf.matMul(xs, dh, true, false);
        const db = tf.sum(dh, 0);
        return [dx, dk, db];
      },
    };
  }) as any);
  return f(x, K, b) as T2;
}

/** Batch statistics of one BN call, handed out for running statistics and probes. */
export interface BnBatchStats {
  mean: T1;
  /** Biased batch variance (1/B), the one used to normalize. */
  variance: T1;
}

/**
 * Training-mode BatchNorm over the batch axis: ẑ = (h − μ_B)/√(σ²_B + ε), out = γ·ẑ + β, with the
 * biased batch variance σ²_B (Ioffe & Szegedy 2015, Alg. 1). Closed-form backward (Ioffe & Szegedy
 * §3; Luther 2020): dγ = Σ dy·ẑ, dβ = Σ dy, dh = (dẑ − mean(dẑ) − ẑ·mean(dẑ·ẑ))/√(σ²_B + ε),
 * dẑ = γ·dy. `onStats` receives μ_B and σ²_B (the caller must tf.keep what it keeps).
 */
export function batchNorm(h: T2, gamma: T1, beta: T1, eps: number, onStats?: (s: BnBatchStats) => void): T2 {
  const f = tf.customGrad(((hh: tf.Tensor, g: tf.Tensor, bt: tf.Tensor, save: tf.GradSaveFunc) => {
    const { out, zhat, inv, mean, variance } = bnForward(hh as T2, g as T1, bt as T1, eps);
    if (onStats) onStats({ mean, variance });
    save([zhat, inv, g]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [zh, iv, gm] = saved as [T2, T1, T1];
        return bnBackward(dy as T2, zh, iv, gm);
      },
    };
  }) as any);
  return f(h, gamma, beta) as T2;
}

/** Eval-mode BatchNorm with running statistics (no batch dependence). */
export function batchNormEval(h: T2, gamma: T1, beta: T1, eps: number, runMean: T1, runVar: T1): T2 {
  return tf.add(tf.mul(tf.mul(tf.sub(h, runMean), tf.rsqrt(tf.add(runVar, eps))), gamma), beta) as T2;
}

// ---- activations -------------------------------------------------------------------------------

export type TfActivation = (x: tf.Tensor) => tf.Tensor;

/**
 * The functions an `expr:` activation may use in the trainer: those of mathjs that mathjs can also
 * differentiate (the spec requires φ′) and that have a tf op.
 */
export const EXPR_FUNCTIONS = ['exp', 'log', 'sqrt', 'abs', 'tanh', 'sinh', 'cosh', 'sin', 'cos', 'atan', 'asinh'] as const;
export const EXPR_SUBSET = 'numbers, x, pi, e; + - * / ^ and unary minus; parentheses; functions ' + EXPR_FUNCTIONS.join(', ');

type Val = tf.Tensor | number;

function compileNode(node: MathNode, x: tf.Tensor, full: string): Val {
  const n: any = node;
  const bad = (what: string): never => {
    throw new TrainConfigError('spec.activation', full, `an expression using only ${EXPR_SUBSET} (found ${what})`);
  };
  const asT = (v: Val): tf.Tensor => (typeof v === 'number' ? tf.fill(x.shape, v) : v);
  switch (n.type) {
    case 'ConstantNode':
      if (typeof n.value !== 'number') bad(`constant ${JSON.stringify(n.value)}`);
      return n.value as number;
    case 'SymbolNode':
      if (n.name === 'x') return x;
      if (n.name === 'pi' || n.name === 'PI') return Math.PI;
      if (n.name === 'e' || n.name === 'E') return Math.E;
      return bad(`symbol ${n.name}`);
    case 'ParenthesisNode':
      return compileNode(n.content, x, full);
    case 'OperatorNode': {
      const args: Val[] = n.args.map((a: MathNode) => compileNode(a, x, full));
      const [a, b] = args;
      const num = args.every((v) => typeof v === 'number');
      switch (n.fn) {
        case 'unaryMinus':
          return num ? -(a as number) : tf.neg(a as tf.Tensor);
        case 'unaryPlus':
          return a;
        case 'add':
          return num ? (a as number) + (b as number) : tf.add(a as any, b as any);
        case 'subtract':
          return num ? (a as number) - (b as number) : tf.sub(a as any, b as any);
        case 'multiply':
          return num ? (a as number) * (b as number) : tf.mul(a as any, b as any);
        case 'divide':
          return num ? (a as number) / (b as number) : tf.div(a as any, b as any);
        case 'pow':
          if (num) return (a as number) ** (b as number);
          if (typeof b === 'number' && b === 2) return tf.square(a as tf.Tensor);
          return tf.pow(asT(a), b as any);
        default:
          return bad(`operator ${n.op}`);
      }
    }
    case 'FunctionNode': {
      const name: string = n.fn?.name ?? n.name;
      const args: Val[] = n.args.map((a: MathNode) => compileNode(a, x, full));
      const t = asT(args[0]);
      switch (name) {
        case 'exp':
          return tf.exp(t);
        case 'log':
          if (args.length !== 1) bad('log with a base');
          return tf.log(t);
        case 'sqrt':
          return tf.sqrt(t);
        case 'abs':
          return tf.abs(t);
        case 'tanh':
          return tf.tanh(t);
        case 'sinh':
          return tf.sinh(t);
        case 'cosh':
          return tf.cosh(t);
        case 'sin':
          return tf.sin(t);
        case 'cos':
          return tf.cos(t);
        case 'atan':
          return tf.atan(t);
        case 'asinh':
          return tf.asinh(t);
        default:
          return bad(`function ${name}`);
      }
    }
    default:
      return bad(`${n.type}`);
  }
}

/** Compile an expression in x (mathjs syntax) to a tf function; throws TrainConfigError outside EXPR_SUBSET. */
export function compileExpression(src: string): TfActivation {
  const full = `expr:${src}`;
  let node: MathNode;
  try {
    node = parse(src);
  } catch (e) {
    throw new TrainConfigError('spec.activation', full, `an expression mathjs can parse (${(e as Error).message})`);
  }
  // Compile once on a probe tensor so unsupported syntax fails at configuration time.
  tf.tidy(() => {
    const v = compileNode(node, tf.zeros([1, 1]), full);
    if (typeof v === 'number') throw new TrainConfigError('spec.activation', full, 'an expression that depends on x');
  });
  return (x) => {
    const v = compileNode(node, x, full);
    return typeof v === 'number' ? tf.fill(x.shape, v) : v;
  };
}

/** The tf form of a spec activation (same function as the spec's float64 φ). */
export function tfActivation(act: string | Activation | { name: string; phi: (x: number) => number }): TfActivation {
  const a = resolveActivation(act as any);
  if (a.expression !== undefined) return compileExpression(a.expression);
  if (a.family?.kind === 'piecewise-linear') {
    const { a: lo, b: hi } = a.family;
    if (lo === 0 && hi === 1) return (x) => tf.relu(x);
    if (lo === 1 && hi === 1) return (x) => x;
    if (hi === 1 && lo >= 0 && lo <= 1) return (x) => tf.leakyRelu(x, lo);
    return (x) => tf.where(tf.greater(x, 0), tf.mul(x, hi), tf.mul(x, lo));
  }
  const [head, arg] = a.name.split(':');
  switch (head) {
    case 'tanh':
      return (x) => tf.tanh(x);
    case 'gelu':
      // exact GELU x·Φ(x) = x·(1 + erf(x/√2))/2, as in the spec
      return (x) => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
    case 'silu':
      return (x) => tf.mul(x, tf.sigmoid(x));
    case 'elu': {
      const alpha = Number(arg ?? 1);
      // α·expm1(min(x, 0)) keeps exp finite in the unselected branch (its gradient would be 0·∞)
      return (x) => tf.where(tf.greater(x, 0), x, tf.mul(tf.sub(tf.exp(tf.minimum(x, 0)), 1), alpha));
    }
    default:
      throw new TrainConfigError(
        'spec.activation',
        a.name,
        'an activation string (relu, leaky-relu:<slope>, identity, tanh, gelu, silu, elu:<alpha>, expr:<expression>); an API function pair {name, phi, dphi} has no tf form',
      );
  }
}
