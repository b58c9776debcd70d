// The explorer's state: every control of the page, and its form in the URL's query string (so that a view can
// be linked). Pure (no DOM): the page reads `location.search` and writes `history.replaceState`; Node tests
// round-trip it. A bad value in a link falls back to its default and is reported, never thrown.
import { DEFAULT_SPEC, PRESET_NAMES, type PresetName } from '../../network/index.js';

export const DYNAMICS = ['auto', 'never'] as const;
export const INIT_KINDS = ['gaussian', 'orthogonal'] as const;

export interface ExploreState {
  /** The layer preset (network/presets.ts). */
  order: PresetName;
  /** An activation string as parseActivation reads it: "relu", "leaky-relu:0.1", "expr:x*tanh(x)". */
  activation: string;
  depth: number;
  width: number;
  /** Batch size B; null is the large-batch limit B → ∞. */
  batch: number | null;
  sigmaW2: number;
  sigmaB2: number;
  gamma: number;
  beta: number;
  eps: number;
  /** x + scale·block(x) around each block of a 'wrap' preset; null for none. */
  residual: number | null;
  init: (typeof INIT_KINDS)[number];
  /** predict's Gram-dynamics mode (the Node API's default is 'auto'). */
  dynamics: (typeof DYNAMICS)[number];
}

export const DEFAULT_STATE: ExploreState = {
  order: DEFAULT_SPEC.order as PresetName,
  activation: String(DEFAULT_SPEC.activation),
  depth: DEFAULT_SPEC.depth,
  width: DEFAULT_SPEC.width as number,
  batch: DEFAULT_SPEC.batch,
  sigmaW2: DEFAULT_SPEC.init.sigmaW2,
  sigmaB2: DEFAULT_SPEC.init.sigmaB2,
  gamma: DEFAULT_SPEC.bn.gamma,
  beta: DEFAULT_SPEC.bn.beta,
  eps: DEFAULT_SPEC.bn.eps,
  residual: null,
  init: DEFAULT_SPEC.init.kind,
  dynamics: 'auto',
};

type Key = keyof ExploreState;

/** The query-string name of each field (short, readable in a link). */
export const URL_KEYS: Record<Key, string> = {
  order: 'order',
  activation: 'act',
  depth: 'depth',
  width: 'width',
  batch: 'B',
  sigmaW2: 'sw2',
  sigmaB2: 'sb2',
  gamma: 'gamma',
  beta: 'beta',
  eps: 'eps',
  residual: 'res',
  init: 'init',
  dynamics: 'dyn',
};

const INF = 'inf';
const NONE = 'none';

/** Parse one field from its text; null when the text is not allowed (then `allowed` says what is). */
interface FieldCodec {
  parse(text: string): unknown | null;
  allowed: string;
}

function decimal(text: string): number | null {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text.trim())) return null;
  const v = Number(text);
  return Number.isFinite(v) ? v : null;
}

const num = (ok: (v: number) => boolean, allowed: string): FieldCodec => ({
  parse: (t) => {
    const v = decimal(t);
    return v !== null && ok(v) ? v : null;
  },
  allowed,
});

const isInt = Number.isInteger;

const CODECS: Record<Key, FieldCodec> = {
  order: { parse: (t) => ((PRESET_NAMES as string[]).includes(t) ? t : null), allowed: PRESET_NAMES.join(' | ') },
  activation: { parse: (t) => (t.trim() === '' ? null : t), allowed: 'an activation string (relu, tanh, leaky-relu:0.1, expr:…)' },
  depth: num((v) => isInt(v) && v >= 1 && v <= 100000, 'an integer from 1 to 100000'),
  width: num((v) => isInt(v) && v >= 1 && v <= 65536, 'an integer from 1 to 65536'),
  batch: {
    parse: (t) => {
      if (t === INF) return null;
      const v = decimal(t);
      return v !== null && isInt(v) && v >= 2 && v <= 1_000_000 ? v : undefined;
    },
    allowed: `an integer from 2 to 1000000, or ${INF}`,
  },
  sigmaW2: num((v) => v > 0, 'a number > 0'),
  sigmaB2: num((v) => v >= 0, 'a number >= 0'),
  gamma: num((v) => v !== 0, 'a number != 0'),
  beta: num(() => true, 'a number'),
  eps: num((v) => v >= 0, 'a number >= 0'),
  residual: {
    parse: (t) => {
      if (t === NONE) return null;
      const v = decimal(t);
      return v !== null && v > 0 ? v : undefined;
    },
    allowed: `a number > 0, or ${NONE}`,
  },
  init: { parse: (t) => ((INIT_KINDS as readonly string[]).includes(t) ? t : null), allowed: INIT_KINDS.join(' | ') },
  dynamics: { parse: (t) => ((DYNAMICS as readonly string[]).includes(t) ? t : null), allowed: DYNAMICS.join(' | ') },
};

/** The fields whose parse uses null as a value (B = ∞, no residual): there `undefined` means "not allowed". */
const NULLABLE = new Set<Key>(['batch', 'residual']);

function formatField(key: Key, v: unknown): string {
  if (v === null) return key === 'batch' ? INF : NONE;
  return String(v);
}

/** The query string of a state (fields at their default are left out, so a plain link stays short). */
export function encodeState(s: ExploreState): string {
  const p = new URLSearchParams();
  for (const key of Object.keys(URL_KEYS) as Key[]) {
    if (Object.is(s[key], DEFAULT_STATE[key])) continue;
    p.set(URL_KEYS[key], formatField(key, s[key]));
  }
  return p.toString();
}

export interface DecodedState {
  state: ExploreState;
  /** One line per value of the link that was not allowed (each fell back to its default). */
  problems: string[];
  /** The `records` parameters (paths the served page asks its server for). */
  records: string[];
}

/** Read a query string (with or without its leading "?"); unknown keys and bad values are reported. */
export function decodeState(search: string): DecodedState {
  const p = new URLSearchParams(search.startsWith('?') ? search.slice(1) : search);
  const state: ExploreState = { ...DEFAULT_STATE };
  const problems: string[] = [];
  const byName = new Map(Object.entries(URL_KEYS).map(([k, n]) => [n, k as Key]));
  for (const [name, text] of p) {
    if (name === 'records') continue;
    const key = byName.get(name);
    if (key === undefined) {
      problems.push(`${name}: unknown parameter; expected one of ${[...byName.keys(), 'records'].join(', ')}`);
      continue;
    }
    const v = CODECS[key].parse(text);
    if (v === undefined || (v === null && !NULLABLE.has(key))) {
      problems.push(`${name}: "${text}" is not allowed; expected ${CODECS[key].allowed} (using ${formatField(key, DEFAULT_STATE[key])})`);
      continue;
    }
    (state as unknown as Record<string, unknown>)[key] = v;
  }
  return { state, problems, records: p.getAll('records') };
}
