/// <reference lib="dom" />
// The explorer's controls, built from the network room's own tables (presets, activations): each control
// reads its value from the state and calls `onChange` with a patch. The preset is chosen as a norm (BN, LN,
// RMSNorm, none) and a placement; the two select the preset of network/presets.ts.
import { ACTIVATION_NAMES, activationEntry, type ActivationName, PRESETS, type PresetName } from '../../network/index.js';
import { DYNAMICS, type ExploreState, INIT_KINDS } from './state.js';

export const NORMS = { BN: 'BatchNorm', LN: 'LayerNorm', RMS: 'RMSNorm', none: 'none' } as const;
export type Norm = keyof typeof NORMS;
export const PLACEMENTS = {
  before: 'dense → norm → φ',
  after: 'dense → φ → norm',
  pre: 'pre-LN residual',
  post: 'post-LN residual',
} as const;
export type Placement = keyof typeof PLACEMENTS;

/** The preset of each (norm, placement) the presets table has. */
export const PRESET_OF: Record<Norm, Partial<Record<Placement, PresetName>>> = {
  BN: { before: 'linear-bn-act', after: 'linear-act-bn' },
  LN: { before: 'linear-ln-act', after: 'linear-act-ln', pre: 'preln-residual', post: 'postln-residual' },
  RMS: { before: 'linear-rms-act' },
  none: { before: 'linear-act' },
};

export function normOf(order: PresetName): { norm: Norm; placement: Placement } {
  for (const [norm, m] of Object.entries(PRESET_OF))
    for (const [placement, p] of Object.entries(m)) if (p === order) return { norm: norm as Norm, placement: placement as Placement };
  throw new Error(`no norm and placement for preset ${order}`);
}

export type Patch = Partial<ExploreState>;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function row(label: string, ...inputs: HTMLElement[]): HTMLElement {
  const r = el('div', { class: 'row' });
  r.append(el('label', {}, label), ...inputs);
  return r;
}

function select(id: string, options: [string, string][]): HTMLSelectElement {
  const s = el('select', { id });
  for (const [v, t] of options) s.append(el('option', { value: v }, t));
  return s;
}

/** A slider and a number box for one numeric field; the slider may be on a log scale. */
interface NumberControl {
  key: 'depth' | 'width' | 'batch' | 'sigmaW2' | 'sigmaB2' | 'gamma' | 'beta' | 'eps' | 'residual';
  label: string;
  min: number;
  max: number;
  step: number;
  log2?: boolean;
  int?: boolean;
}

const NUMBERS: NumberControl[] = [
  { key: 'depth', label: 'depth L', min: 1, max: 200, step: 1, int: true },
  { key: 'width', label: 'width N', min: 1, max: 4096, step: 1, int: true },
  { key: 'batch', label: 'batch B', min: 2, max: 13, step: 0.05, log2: true, int: true },
  { key: 'sigmaW2', label: 'σ_w²', min: 0.05, max: 6.5, step: 0.01 },
  { key: 'sigmaB2', label: 'σ_b²', min: 0, max: 1, step: 0.01 },
  { key: 'gamma', label: 'γ', min: -3, max: 3, step: 0.01 },
  { key: 'beta', label: 'β', min: -2, max: 2, step: 0.01 },
  { key: 'eps', label: 'ε', min: -10, max: 0, step: 0.1 },
  { key: 'residual', label: 'residual scale', min: 0.05, max: 2, step: 0.01 },
];

export interface Controls {
  /** Show the state in every control (after a change, or a link). */
  show(s: ExploreState): void;
}

/** Build the controls into `root`; every user change calls onChange with the fields it sets. */
export function buildControls(root: HTMLElement, onChange: (p: Patch) => void): Controls {
  const norm = select('norm', Object.entries(NORMS));
  const placement = select('placement', Object.entries(PLACEMENTS));
  const act = select('activation', [...ACTIVATION_NAMES.map((n) => [n, n] as [string, string]), ['expr', 'expression…']]);
  const actArg = el('input', { id: 'activation-arg', type: 'number', step: 'any', title: 'the activation’s argument' });
  const expr = el('input', { id: 'activation-expr', type: 'text', placeholder: 'x*tanh(x)', title: 'an expression in x (mathjs)' });
  const init = select(
    'init',
    INIT_KINDS.map((k) => [k, k]),
  );
  const dyn = select(
    'dynamics',
    DYNAMICS.map((k) => [k, k === 'auto' ? 'auto (where BSB1 does not attract)' : 'never (BSB1 rate only)']),
  );
  const preset = el('div', { id: 'preset-doc', class: 'doc' });
  root.append(row('norm', norm), row('placement', placement), preset, row('activation', act, actArg, expr));

  const activationText = (): string => {
    if (act.value === 'expr') return `expr:${expr.value.trim()}`;
    const e = activationEntry(act.value as ActivationName);
    return e.arg ? `${act.value}:${actArg.value === '' ? e.arg.default : actArg.value}` : act.value;
  };
  norm.addEventListener('change', () => {
    const m = PRESET_OF[norm.value as Norm];
    onChange({ order: m[placement.value as Placement] ?? (Object.values(m)[0] as PresetName) });
  });
  placement.addEventListener('change', () => {
    const p = PRESET_OF[norm.value as Norm][placement.value as Placement];
    if (p) onChange({ order: p });
  });
  act.addEventListener('change', () => {
    const e = act.value === 'expr' ? undefined : activationEntry(act.value as ActivationName).arg;
    if (e) actArg.value = String(e.default);
    if (act.value === 'expr' && expr.value.trim() === '') expr.value = 'x*tanh(x)';
    onChange({ activation: activationText() });
  });
  actArg.addEventListener('change', () => onChange({ activation: activationText() }));
  expr.addEventListener('change', () => onChange({ activation: activationText() }));

  const shows: ((s: ExploreState) => void)[] = [];
  for (const c of NUMBERS) {
    const slider = el('input', { id: `${c.key}-slider`, type: 'range', min: String(c.min), max: String(c.max), step: String(c.step) });
    const box = el('input', { id: c.key, type: 'number', step: 'any' });
    const extra: HTMLElement[] = [];
    let toggle: HTMLInputElement | null = null;
    if (c.key === 'batch' || c.key === 'residual') {
      toggle = el('input', { id: `${c.key}-toggle`, type: 'checkbox' });
      const lab = el('label', { class: 'toggle' });
      lab.append(toggle, document.createTextNode(c.key === 'batch' ? ' ∞' : ' on'));
      extra.push(lab);
    }
    const fromSlider = (v: number) =>
      c.key === 'eps' ? (v <= c.min ? 0 : 10 ** v) : c.log2 ? Math.round(2 ** v) : c.int ? Math.round(v) : v;
    const toSlider = (v: number) => (c.key === 'eps' ? (v > 0 ? Math.log10(v) : c.min) : c.log2 ? Math.log2(v) : v);
    const send = (v: number) => {
      if (!Number.isFinite(v)) return;
      onChange({ [c.key]: v } as Patch);
    };
    slider.addEventListener('input', () => send(fromSlider(Number(slider.value))));
    box.addEventListener('change', () => {
      if (box.value.trim() !== '') send(Number(box.value));
    });
    toggle?.addEventListener('change', () => {
      if (c.key === 'batch') onChange({ batch: toggle!.checked ? null : fromSlider(Number(slider.value)) });
      else onChange({ residual: toggle!.checked ? Number(box.value) || 1 : null });
    });
    root.append(row(c.label, slider, box, ...extra));
    shows.push((s) => {
      const v = s[c.key];
      if (toggle) toggle.checked = c.key === 'batch' ? v === null : v !== null;
      if (v === null) {
        slider.disabled = box.disabled = true;
        return;
      }
      slider.disabled = box.disabled = false;
      if (document.activeElement !== box) box.value = String(v);
      if (document.activeElement !== slider) slider.value = String(toSlider(v));
    });
  }
  root.append(row('weights', init), row('Gram dynamics', dyn));
  init.addEventListener('change', () => onChange({ init: init.value as ExploreState['init'] }));
  dyn.addEventListener('change', () => onChange({ dynamics: dyn.value as ExploreState['dynamics'] }));

  return {
    show(s) {
      const { norm: n, placement: p } = normOf(s.order);
      norm.value = n;
      for (const o of Array.from(placement.options)) o.disabled = PRESET_OF[n][o.value as Placement] === undefined;
      placement.value = p;
      preset.textContent = `${s.order}: ${PRESETS[s.order].doc}`;
      const wraps = PRESETS[s.order].residual === 'wrap';
      const resRow = document.getElementById('residual-toggle');
      if (resRow) (resRow as HTMLInputElement).disabled = !wraps;
      const [head, ...rest] = s.activation.split(':');
      const isExpr = head === 'expr';
      act.value = isExpr ? 'expr' : (ACTIVATION_NAMES as string[]).includes(head) ? head : act.value;
      const arg = isExpr ? undefined : activationEntry(act.value as ActivationName)?.arg;
      actArg.hidden = !arg;
      expr.hidden = !isExpr;
      if (arg) actArg.value = rest.length ? rest.join(':') : String(arg.default);
      if (isExpr && document.activeElement !== expr) expr.value = rest.join(':');
      init.value = s.init;
      dyn.value = s.dynamics;
      for (const f of shows) f(s);
    },
  };
}
