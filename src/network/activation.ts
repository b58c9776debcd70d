// Activation functions: one parsed object per activation string, read by theory (φ, φ′ in
// float64, and the closed-form family where one exists) and by the real networks.
import { derivative, type MathNode, parse } from 'mathjs';
import { erf, normCdf, normPdf } from './special.js';

/** Piecewise-linear family φ(x) = b·x for x > 0, a·x for x < 0 (ReLU a=0,b=1; identity a=b=1). */
export interface PiecewiseLinear {
  kind: 'piecewise-linear';
  a: number;
  b: number;
}

export interface Activation {
  /** Canonical name, e.g. "relu", "leaky-relu:0.1", "expr:x*tanh(x)". */
  name: string;
  phi: (x: number) => number;
  dphi: (x: number) => number;
  /** Closed-form family, when the theory has exact Gaussian moments for it. */
  family?: PiecewiseLinear;
  /** Source text of a parsed expression (expr:...), for back ends that compile it themselves. */
  expression?: string;
}

/** A user-supplied activation for the API: a function pair and a name for records. */
export interface ActivationFns {
  name: string;
  phi: (x: number) => number;
  dphi: (x: number) => number;
}

export const ACTIVATION_FORMS = [
  'relu',
  'leaky-relu:<slope>',
  'identity',
  'tanh',
  'gelu',
  'silu',
  'elu:<alpha>',
  'expr:<expression in x>',
] as const;

export class ActivationError extends Error {
  constructor(
    public readonly value: string,
    public readonly allowed: string,
  ) {
    super(`activation: ${JSON.stringify(value)} is not allowed; expected ${allowed}`);
    this.name = 'ActivationError';
  }
}

function piecewise(name: string, a: number, b: number): Activation {
  return {
    name,
    phi: (x) => (x > 0 ? b * x : a * x),
    dphi: (x) => (x > 0 ? b : a),
    family: { kind: 'piecewise-linear', a, b },
  };
}

function parseNumberArg(text: string, what: string, full: string): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v)) {
    throw new ActivationError(full, `a finite number as the ${what}, not "${text}"`);
  }
  return v;
}

function fromExpression(full: string, src: string): Activation {
  let node: MathNode;
  let dnode: MathNode;
  try {
    node = parse(src);
    dnode = derivative(node, 'x');
  } catch (e) {
    throw new ActivationError(full, `an expression in x that mathjs can parse and differentiate (${(e as Error).message})`);
  }
  const symbols = new Set<string>();
  node.traverse((n: any) => {
    if (n.type === 'SymbolNode' && n.name !== 'x') {
      // function names appear as SymbolNodes under FunctionNode.fn; constants like pi and e are allowed
      symbols.add(n.name);
    }
  });
  const allowed = new Set(['pi', 'e', 'PI', 'E']);
  const fnNames = new Set<string>();
  node.traverse((n: any) => {
    if (n.type === 'FunctionNode') fnNames.add(n.fn.name ?? n.name);
  });
  for (const s of symbols) {
    if (!allowed.has(s) && !fnNames.has(s)) {
      throw new ActivationError(full, `an expression in x alone (and constants pi, e); it uses "${s}"`);
    }
  }
  const f = node.compile();
  const df = dnode.compile();
  const phi = (x: number) => Number(f.evaluate({ x }));
  const dphi = (x: number) => Number(df.evaluate({ x }));
  for (const x of [-1.3, 0.7]) {
    if (!Number.isFinite(phi(x)) || !Number.isFinite(dphi(x))) {
      throw new ActivationError(full, `an expression that is finite and real for real x; it is not at x = ${x}`);
    }
  }
  return { name: `expr:${src}`, phi, dphi, expression: src };
}

/** Parse an activation string; throws ActivationError naming the value and the allowed forms. */
export function parseActivation(input: string): Activation {
  const full = input.trim();
  const [head, ...rest] = full.split(':');
  const arg = rest.join(':');
  switch (head) {
    case 'relu':
      if (arg) break;
      return piecewise('relu', 0, 1);
    case 'identity':
    case 'linear':
      if (arg) break;
      return piecewise('identity', 1, 1);
    case 'leaky-relu': {
      const a = arg ? parseNumberArg(arg, 'slope', full) : 0.01;
      return piecewise(`leaky-relu:${a}`, a, 1);
    }
    case 'tanh':
      if (arg) break;
      return { name: 'tanh', phi: Math.tanh, dphi: (x) => 1 - Math.tanh(x) ** 2 };
    case 'gelu':
      if (arg) break;
      // exact (erf) GELU: x Φ(x)
      return {
        name: 'gelu',
        phi: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
        dphi: (x) => normCdf(x) + x * normPdf(x),
      };
    case 'silu':
      if (arg) break;
      return {
        name: 'silu',
        phi: (x) => x / (1 + Math.exp(-x)),
        dphi: (x) => {
          const s = 1 / (1 + Math.exp(-x));
          return s * (1 + x * (1 - s));
        },
      };
    case 'elu': {
      const alpha = arg ? parseNumberArg(arg, 'alpha', full) : 1;
      return {
        name: `elu:${alpha}`,
        phi: (x) => (x > 0 ? x : alpha * Math.expm1(x)),
        dphi: (x) => (x > 0 ? 1 : alpha * Math.exp(x)),
      };
    }
    case 'expr':
      if (!arg) break;
      return fromExpression(full, arg);
    default:
      break;
  }
  throw new ActivationError(full, `one of ${ACTIVATION_FORMS.join(', ')}`);
}

/** Resolve a spec's activation field (a string or a user function pair) to an Activation. */
export function resolveActivation(a: string | ActivationFns | Activation): Activation {
  if (typeof a === 'string') return parseActivation(a);
  return a;
}
