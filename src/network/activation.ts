// Activation functions: one table (ACTIVATIONS) from which everything about an activation derives:
// the strings parseActivation accepts, ACTIVATION_FORMS, the "allowed" text of every error, the CLI
// help (activationHelp), φ and φ′ in float64, the points where φ is not smooth (kinks, as data) and
// the closed-form family where the theory has exact Gaussian moments. The tfjs forms are a second
// table keyed by the same names (src/train/activations.ts, `satisfies Record<ActivationName, …>`).
import { InputError } from './errors.js';
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
  /** The table entry it was built from (absent for expressions and API function pairs). */
  base?: ActivationName;
  /** The entry's argument (slope, alpha), when the entry takes one. */
  arg?: number;
  /** Where φ is not smooth (φ′ or φ″ jumps), from the table; absent for expressions and API pairs. */
  kinks?: readonly number[];
}

/** A user-supplied activation for the API: a function pair and a name for records. */
export interface ActivationFns {
  name: string;
  phi: (x: number) => number;
  dphi: (x: number) => number;
}

/** φ, φ′, kinks and family of one entry at one argument value. */
export interface ActivationDef {
  phi: (x: number) => number;
  dphi: (x: number) => number;
  /** Points where φ′ or φ″ jumps (quadrature panels are cut there); [] when φ is smooth. */
  kinks: readonly number[];
  /** The piecewise-linear family, only where it is exact. */
  family?: PiecewiseLinear;
}

/** The numeric argument of an entry ("leaky-relu:<slope>"). */
export interface ActivationArg {
  name: string;
  default: number;
  /** What is allowed, for the error message; `check` returns false for a value outside it. */
  allowed: string;
  check: (v: number) => boolean;
  /** Other values the tests run the entry at (besides the default). */
  examples: readonly number[];
}

export interface ActivationEntry {
  /** One line of doc: the formula and where it comes from. */
  doc: string;
  arg?: ActivationArg;
  /** Other names accepted for it (canonicalized to the entry's name). */
  aliases?: readonly string[];
  define(arg: number): ActivationDef;
}

const finite: Pick<ActivationArg, 'allowed' | 'check'> = { allowed: 'a finite number', check: Number.isFinite };

function piecewise(a: number, b: number): ActivationDef {
  return {
    phi: (x) => (x > 0 ? b * x : a * x),
    dphi: (x) => (x > 0 ? b : a),
    kinks: a === b ? [] : [0],
    family: { kind: 'piecewise-linear', a, b },
  };
}

/** The activation table. Adding an entry here (and its tfjs form) is all a new activation needs. */
export const ACTIVATIONS = {
  relu: { doc: 'max(0, x)', define: () => piecewise(0, 1) },
  'leaky-relu': {
    doc: 'x for x > 0, slope·x otherwise',
    arg: { name: 'slope', default: 0.01, ...finite, examples: [0.2, -0.5, 1.5] },
    define: (a) => piecewise(a, 1),
  },
  identity: { doc: 'x (a linear network)', aliases: ['linear'], define: () => piecewise(1, 1) },
  tanh: { doc: 'tanh x', define: () => ({ phi: Math.tanh, dphi: (x) => 1 - Math.tanh(x) ** 2, kinks: [] }) },
  gelu: {
    doc: 'x·Φ(x), the exact (erf) GELU',
    define: () => ({
      phi: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
      dphi: (x) => normCdf(x) + x * normPdf(x),
      kinks: [],
    }),
  },
  silu: {
    doc: 'x·σ(x), σ the logistic function (swish)',
    define: () => ({
      phi: (x) => x / (1 + Math.exp(-x)),
      dphi: (x) => {
        const s = 1 / (1 + Math.exp(-x));
        return s * (1 + x * (1 - s));
      },
      kinks: [],
    }),
  },
  elu: {
    doc: 'x for x > 0, alpha·(eˣ − 1) otherwise',
    arg: { name: 'alpha', default: 1, ...finite, examples: [0.7, 2] },
    // φ″ jumps at 0 (0 against alpha) even where φ′ does not (alpha = 1)
    define: (alpha) => ({ phi: (x) => (x > 0 ? x : alpha * Math.expm1(x)), dphi: (x) => (x > 0 ? 1 : alpha * Math.exp(x)), kinks: [0] }),
  },
  softplus: {
    doc: 'ln(1 + eˣ), a smooth ReLU; φ′ = σ(x)',
    // max(x, 0) + ln(1 + e^−|x|): no overflow of eˣ, and no cancellation for x ≪ 0
    define: () => ({ phi: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))), dphi: (x) => 1 / (1 + Math.exp(-x)), kinks: [] }),
  },
} as const satisfies Record<string, ActivationEntry>;

export type ActivationName = keyof typeof ACTIVATIONS;

/** The names of the table, in its order. */
export const ACTIVATION_NAMES = Object.keys(ACTIVATIONS) as ActivationName[];

/** The table entry of a name (typed as the interface, whatever the entry's literal type). */
export function activationEntry(name: ActivationName): ActivationEntry {
  return ACTIVATIONS[name];
}

const EXPR_FORM = 'expr:<expression in x>';

function formOf(name: ActivationName): string {
  const arg = activationEntry(name).arg;
  return arg ? `${name}:<${arg.name}>` : name;
}

/** Every string form parseActivation accepts: one per table entry, then expressions. */
export const ACTIVATION_FORMS: readonly string[] = [...ACTIVATION_NAMES.map(formOf), EXPR_FORM];

/**
 * The help text of an activation flag: the forms joined by " | " (short), or one line per form with
 * its doc, default argument and aliases (long).
 */
export function activationHelp(opts: { long?: boolean } = {}): string {
  if (!opts.long) return ACTIVATION_FORMS.join(' | ');
  const lines = ACTIVATION_NAMES.map((n) => {
    const e = activationEntry(n);
    const extra = [
      e.arg ? `${e.arg.name} ${e.arg.allowed}, default ${e.arg.default}` : '',
      e.aliases ? `also ${e.aliases.join(', ')}` : '',
    ].filter(Boolean);
    return `${formOf(n)}: ${e.doc}${extra.length ? ` (${extra.join('; ')})` : ''}`;
  });
  return [...lines, `${EXPR_FORM}: any expression in x that mathjs can differentiate`].join('\n');
}

export class ActivationError extends InputError {
  constructor(value: string, allowed: string) {
    super('activation', value, allowed);
    this.name = 'ActivationError';
  }
}

function parseNumberArg(text: string, arg: ActivationArg, full: string): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || !arg.check(v)) {
    throw new ActivationError(full, `${arg.allowed} as the ${arg.name}, not "${text}"`);
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

/** The name parseActivation gives an entry at an argument: "relu", "leaky-relu:0.01", "elu:1". */
export function canonicalName(base: ActivationName, arg?: number): string {
  return activationEntry(base).arg ? `${base}:${arg ?? activationEntry(base).arg!.default}` : base;
}

/** One table entry at one argument value (its default when omitted). */
export function makeActivation(base: ActivationName, arg?: number): Activation {
  const e = activationEntry(base);
  const a = e.arg ? (arg ?? e.arg.default) : undefined;
  const d = e.define(a ?? Number.NaN);
  const out: Activation = { name: canonicalName(base, a), phi: d.phi, dphi: d.dphi, base, kinks: d.kinks };
  if (a !== undefined) out.arg = a;
  if (d.family) out.family = d.family;
  return out;
}

const BY_NAME = new Map<string, ActivationName>(
  ACTIVATION_NAMES.flatMap((n) => [n, ...(activationEntry(n).aliases ?? [])].map((s) => [s, n] as [string, ActivationName])),
);

/** Parse an activation string; throws ActivationError naming the value and the allowed forms. */
export function parseActivation(input: string): Activation {
  const full = input.trim();
  const [head, ...rest] = full.split(':');
  const arg = rest.join(':');
  if (head === 'expr' && arg) return fromExpression(full, arg);
  const base = BY_NAME.get(head);
  if (base !== undefined) {
    const def = activationEntry(base).arg;
    if (def) return makeActivation(base, arg ? parseNumberArg(arg, def, full) : def.default);
    if (!arg) return makeActivation(base);
  }
  throw new ActivationError(full, `one of ${ACTIVATION_FORMS.join(', ')}`);
}

/** Resolve a spec's activation field (a string or a user function pair) to an Activation. */
export function resolveActivation(a: string | ActivationFns | Activation): Activation {
  if (typeof a === 'string') return parseActivation(a);
  return a;
}
