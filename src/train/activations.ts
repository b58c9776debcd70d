// The tfjs form of every activation: one table keyed by the names of the float64 table
// (ACTIVATIONS in src/network/activation.ts), so an entry without a tf form is a compile error, and
// `expr:` activations compiled from their mathjs syntax tree.
import * as tf from '@tensorflow/tfjs';
import { type MathNode, parse } from 'mathjs';
import { ACTIVATION_FORMS, type Activation, type ActivationName, parseActivation, resolveActivation } from '../network/index.js';
import { TrainConfigError } from './errors.js';

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

/**
 * The tf form of each table entry at its argument (the same function as the entry's float64 φ; the
 * tests check every entry against it in float32).
 */
export const TF_ACTIVATIONS = {
  relu: () => (x) => tf.relu(x),
  'leaky-relu': (slope) =>
    slope === 0
      ? (x) => tf.relu(x)
      : slope === 1
        ? (x) => x
        : slope > 0 && slope < 1
          ? (x) => tf.leakyRelu(x, slope)
          : piecewiseTf(slope, 1),
  identity: () => (x) => x,
  tanh: () => (x) => tf.tanh(x),
  // exact GELU x·Φ(x) = x·(1 + erf(x/√2))/2, as in the spec
  gelu: () => (x) => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)),
  silu: () => (x) => tf.mul(x, tf.sigmoid(x)),
  // relu(x) + α·(e^min(x, 0) − 1): the branches add (one is exactly 0), so tf can differentiate it (a
  // tf.where on tf.greater cannot be: Greater has no gradient), and exp stays finite for x ≫ 0
  elu: (alpha) => (x) => tf.add(tf.relu(x), tf.mul(tf.sub(tf.exp(tf.minimum(x, 0)), 1), alpha)),
  // tf's Softplus kernel is the stable one (x above, eˣ below float32's thresholds); its gradient is σ(x)
  softplus: () => (x) => tf.softplus(x),
} satisfies Record<ActivationName, (arg: number) => TfActivation>;

/** hi·relu(x) + lo·min(x, 0): equal to b·x / a·x on each side, and differentiable by tf (unlike a tf.where on tf.greater). */
function piecewiseTf(lo: number, hi: number): TfActivation {
  return hi === 1
    ? (x) => tf.add(tf.relu(x), tf.mul(tf.minimum(x, 0), lo))
    : (x) => tf.add(tf.mul(tf.relu(x), hi), tf.mul(tf.minimum(x, 0), lo));
}

const NO_TF_FORM = `an activation string (${ACTIVATION_FORMS.join(', ')}); an API function pair {name, phi, dphi} has no tf form`;

/** The tf form of a spec activation (same function as the spec's float64 φ). */
export function tfActivation(act: string | Activation | { name: string; phi: (x: number) => number }): TfActivation {
  const a = resolveActivation(act as any);
  if (a.expression !== undefined) return compileExpression(a.expression);
  let base = a.base;
  let arg = a.arg;
  if (base === undefined) {
    // an Activation object built by hand: its name, if it is one of the table's
    try {
      const p = parseActivation(a.name);
      if (p.expression === undefined) ({ base, arg } = p);
    } catch {
      // not a table name
    }
  }
  if (base !== undefined) return TF_ACTIVATIONS[base](arg ?? Number.NaN);
  if (a.family?.kind === 'piecewise-linear') return piecewiseTf(a.family.a, a.family.b);
  throw new TrainConfigError('spec.activation', a.name, NO_TF_FORM);
}
