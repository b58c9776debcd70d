/// <reference lib="dom" />
// The explorer page: controls → state (in the URL) → the theory room's functions (model.ts) → four Vega-Lite
// figures drawn by vega's SVG renderer, with loaded records overlaid. An update runs its plots one after the
// other, yielding between them, and stops when a newer state arrives; the phase diagram is kept per activation.
import { SpecError } from '../../network/index.js';
import type { SPRecord } from '../../records/index.js';
import { batchChart, depthChart, messageChart, phaseChart, spectrumChart } from './charts.js';
import { buildControls, type Patch } from './controls.js';
import {
  batchGrid,
  batchMethod,
  criticalPoint,
  type DepthView,
  depthView,
  lambdaAt,
  PHASE_SB2,
  PHASE_SW2,
  phaseCell,
  specOf,
  spectrumView,
} from './model.js';
import { type Overlays, overlaysOf } from './overlay.js';
import { parseRecordsText, RecordsParseError } from './records.js';
import { draw, makePanel, type Panel } from './render.js';
import { decodeState, encodeState, type ExploreState } from './state.js';
import { collectDropped, collectPicked, type NamedText } from './files.js';

/** What the page shows, for a test or a curious user (window.__explore): read it, never write it. */
export interface ExplorerHook {
  state: ExploreState;
  /** true when every plot of the latest state is drawn */
  idle: boolean;
  generation: number;
  stats: Record<string, number | null>;
  data: {
    depth: { layer: number; value: number }[];
    batch: { batch: number; lambda: number }[];
    phaseCritical: { sigmaB2: number; sigmaW2: number }[];
    spectrum: { sv: number; density: number }[];
  };
  overlays: Overlays;
  /** ms since navigation start to the first figure; per update, ms from the change to its first and last figure */
  timings: { firstPlot: number | null; updates: { first: number; all: number }[] };
  problems: string[];
}

declare global {
  interface Window {
    __explore?: ExplorerHook;
  }
}

const tick = () => new Promise<void>((r) => setTimeout(r, 0));

function isInputError(e: unknown): boolean {
  return e instanceof SpecError || e instanceof RecordsParseError;
}

function fmt(v: number | null): string {
  if (v === null || Number.isNaN(v)) return '—';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  return Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(4) : v.toPrecision(6);
}

const STAT_LABELS: Record<string, string> = {
  lambda: 'λ(B) at this B',
  lambdaInf: 'λ at B → ∞',
  growth: 'predicted growth (predict)',
  growthSE: '± (Monte Carlo SE)',
  depthScale: 'depth scale 1/ln λ (layers)',
  slope: 'depth-plot slope (interior)',
  chi1: 'χ₁ at (σ_w², σ_b²)',
  critical: 'critical σ_w² at this σ_b²',
  m1: 'Jacobian m₁ = tr JJᵀ/N',
  zeroMass: 'singular values at 0 (mass)',
};

function boot(): void {
  const app = document.getElementById('app') as HTMLElement;
  app.innerHTML = `<header><h1>signalprop explore</h1><p>Signal propagation theory of signalprop, computed live in this page (float64, no server).</p></header>
<aside id="controls"></aside><div id="side"><dl id="stats"></dl><div id="records-box"><div id="drop">Drop records (.jsonl, .json) or a run directory here, or
<label class="pick">choose files<input id="records-file" type="file" multiple accept=".jsonl,.json,.ndjson"></label>
<label class="pick">a run directory<input id="records-dir" type="file" webkitdirectory></label>
<button id="records-clear">clear</button></div><div id="records-status"></div></div><ul id="problems"></ul><ul id="notes"></ul></div><main id="plots"></main>`;
  const decoded = decodeState(location.search);
  let state = decoded.state;
  const recordsParams = decoded.records;
  const hook: ExplorerHook = {
    state,
    idle: false,
    generation: 0,
    stats: {},
    data: { depth: [], batch: [], phaseCritical: [], spectrum: [] },
    overlays: overlaysOf([]),
    timings: { firstPlot: null, updates: [] },
    problems: [...decoded.problems],
  };
  window.__explore = hook;
  const plots = document.getElementById('plots') as HTMLElement;
  const panels: Record<'depth' | 'batch' | 'phase' | 'spectrum', Panel> = {
    depth: makePanel(plots, 'depth'),
    batch: makePanel(plots, 'batch'),
    phase: makePanel(plots, 'phase'),
    spectrum: makePanel(plots, 'spectrum'),
  };
  const loaded: { name: string; records: SPRecord[] }[] = [];
  const phaseCache = new Map<string, { cells: ReturnType<typeof phaseCell>[]; critical: { sigmaB2: number; sigmaW2: number }[] }>();

  const showProblems = (extra: string[]) => {
    hook.problems = [...decoded.problems, ...extra];
    const ul = document.getElementById('problems') as HTMLElement;
    ul.replaceChildren(
      ...hook.problems.map((p) => {
        const li = document.createElement('li');
        li.textContent = p;
        return li;
      }),
    );
  };
  const showNotes = (notes: string[]) => {
    const ul = document.getElementById('notes') as HTMLElement;
    ul.replaceChildren(
      ...notes.map((n) => {
        const li = document.createElement('li');
        li.textContent = n;
        return li;
      }),
    );
  };
  const showStats = () => {
    const dl = document.getElementById('stats') as HTMLElement;
    dl.replaceChildren();
    for (const [k, label] of Object.entries(STAT_LABELS)) {
      if (!(k in hook.stats)) continue;
      const dt = document.createElement('dt');
      dt.textContent = label;
      const dd = document.createElement('dd');
      dd.id = `stat-${k}`;
      const v = hook.stats[k];
      dd.dataset.value = v === null ? '' : String(v);
      dd.textContent = fmt(v);
      dl.append(dt, dd);
    }
  };

  const controls = buildControls(document.getElementById('controls') as HTMLElement, (p: Patch) => setState(p));
  controls.show(state);

  let scheduled = false;
  let changedAt = performance.now();
  function setState(p: Patch): void {
    state = { ...state, ...p };
    hook.state = state;
    controls.show(state);
    const q = encodeState(state);
    const rec = recordsParams.map((r) => `records=${encodeURIComponent(r)}`).join('&');
    history.replaceState(
      null,
      '',
      `${location.pathname}${[q, rec].filter(Boolean).length ? `?${[q, rec].filter(Boolean).join('&')}` : ''}`,
    );
    schedule();
  }
  function schedule(): void {
    changedAt = performance.now();
    hook.idle = false;
    hook.generation++;
    if (scheduled) return;
    scheduled = true;
    setTimeout(() => {
      scheduled = false;
      void update(hook.generation);
    }, 0);
  }

  async function update(gen: number): Promise<void> {
    const start = changedAt;
    const stale = () => gen !== hook.generation;
    const errors: string[] = [];
    const notes: string[] = [];
    const overlays = overlaysOf(loaded.flatMap((l) => l.records));
    hook.overlays = overlays;
    let first: number | null = null;
    const drawn = () => {
      if (first === null) first = performance.now();
      if (hook.timings.firstPlot === null) hook.timings.firstPlot = performance.now();
    };
    const fail = (panel: Panel, title: string, e: unknown) => {
      if (!isInputError(e)) console.error(e);
      const msg = (e as Error).message ?? String(e);
      errors.push(`${title}: ${msg}`);
      return draw(panel, messageChart(title, msg));
    };
    hook.stats = {};
    let spec: ReturnType<typeof specOf>;
    try {
      spec = specOf(state);
    } catch (e) {
      if (!isInputError(e)) console.error(e);
      showProblems([(e as Error).message]);
      showStats();
      hook.idle = true;
      return;
    }
    // 1. the depth plot: predict
    let dv: DepthView | null = null;
    try {
      dv = depthView(spec, state.dynamics);
      const p = dv.prediction;
      hook.stats.growth = p.predictedGrowth;
      if (p.predictedGrowthSE > 0) hook.stats.growthSE = p.predictedGrowthSE;
      hook.stats.depthScale = p.depthScale;
      hook.stats.slope = dv.slope;
      hook.data.depth = dv.points;
      notes.push(...p.notes);
      await draw(
        panels.depth,
        depthChart(
          dv.points,
          overlays.depth,
          `predict(spec, { dynamics: '${state.dynamics}' }): λ = ${fmt(p.predictedGrowth)}; interior layers ${dv.interior[0]}–${dv.interior[1]}`,
        ),
      );
    } catch (e) {
      hook.data.depth = [];
      await fail(panels.depth, 'Gradient norm against depth', e);
    }
    drawn();
    showStats();
    if (stale()) return;
    await tick();
    if (stale()) return;
    // 2. λ(B)
    try {
      const method = batchMethod(spec);
      const B = state.batch;
      if (method === 'none') {
        const g = dv ? dv.prediction.predictedGrowth : lambdaAt(spec, B);
        hook.stats.lambda = g;
        hook.stats.lambdaInf = g;
        const curve = batchGrid(method, B).map((b) => ({ batch: b, lambda: g }));
        hook.data.batch = curve;
        notes.push('λ(B): no BatchNorm in this net, so the growth does not depend on B (flat line: predict)');
        await draw(panels.batch, batchChart(curve, g, null, overlays.batch, 'no BatchNorm: λ does not depend on B'));
      } else {
        const lam = B === null ? null : lambdaAt(spec, B);
        const limit = lambdaAt(spec, null);
        hook.stats.lambda = lam ?? limit;
        hook.stats.lambdaInf = limit;
        showStats();
        const curve: { batch: number; lambda: number }[] = [];
        let t = performance.now();
        for (const b of batchGrid(method, B)) {
          curve.push({ batch: b, lambda: b === B && lam !== null ? lam : lambdaAt(spec, b) });
          if (performance.now() - t > 40) {
            await tick();
            if (stale()) return;
            t = performance.now();
          }
        }
        hook.data.batch = curve;
        const how = method === 'bnGradientRate' ? 'bnGradientRate(φ, B, bn, { sigmaW2 })' : "predict at each B (dynamics 'never')";
        notes.push(`λ(B) by ${how}; the dashed line is B → ∞`);
        await draw(panels.batch, batchChart(curve, limit, lam === null ? null : { batch: B as number, lambda: lam }, overlays.batch, how));
      }
    } catch (e) {
      hook.data.batch = [];
      await fail(panels.batch, 'λ against batch size', e);
    }
    showStats();
    if (stale()) return;
    await tick();
    if (stale()) return;
    // 3. the phase diagram of the plain net's q/c-maps (kept per activation)
    try {
      const act = String(spec.activation);
      let ph = phaseCache.get(act);
      if (!ph) {
        const cells: ReturnType<typeof phaseCell>[] = [];
        const critical: { sigmaB2: number; sigmaW2: number }[] = [];
        let t = performance.now();
        const pause = async () => {
          if (performance.now() - t > 40) {
            await tick();
            t = performance.now();
            return stale();
          }
          return false;
        };
        for (const sb of PHASE_SB2) {
          const c = criticalPoint(act, sb);
          if (c) critical.push(c);
          if (await pause()) return;
          for (const sw of PHASE_SW2) {
            cells.push(phaseCell(act, sw, sb));
            if (await pause()) return;
          }
        }
        ph = { cells, critical };
        phaseCache.set(act, ph);
      }
      const here = phaseCell(act, state.sigmaW2, state.sigmaB2);
      hook.stats.chi1 = here.chi1;
      hook.stats.critical = criticalPoint(act, state.sigmaB2)?.sigmaW2 ?? null;
      hook.data.phaseCritical = ph.critical;
      await draw(
        panels.phase,
        phaseChart(
          ph.cells,
          ph.critical,
          { sigmaW2: state.sigmaW2, sigmaB2: state.sigmaB2 },
          { sw2: PHASE_SW2[1] - PHASE_SW2[0], sb2: PHASE_SB2[1] - PHASE_SB2[0] },
          `χ₁ = σ_w² E φ′(h)² at q* (chi1; no normalisation); line: criticalLine; + this σ_w², σ_b²`,
        ),
      );
    } catch (e) {
      hook.data.phaseCritical = [];
      await fail(panels.phase, 'Phase diagram', e);
    }
    showStats();
    if (stale()) return;
    await tick();
    if (stale()) return;
    // 4. the Jacobian's singular values
    try {
      const sv = spectrumView(spec);
      if ('reason' in sv) {
        hook.data.spectrum = [];
        notes.push(`spectrum: ${sv.reason}`);
        await draw(panels.spectrum, messageChart('Jacobian singular values', `no free-probability spectrum for this net: ${sv.reason}`));
      } else {
        const th = sv.theory;
        hook.stats.m1 = th.m1;
        hook.stats.zeroMass = th.zeroMass;
        const pts = th.sv.map((s, i) => ({ sv: s, density: th.densitySv[i] }));
        hook.data.spectrum = pts;
        const zeros = Object.entries(overlays.zeroFraction).map(([k, v]) => `${k.split(' · ')[0]} ${fmt(v)}`);
        const atoms = th.atoms.length ? `; atoms at σ = ${th.atoms.map((a) => fmt(Math.sqrt(a.lambda))).join(', ')}` : '';
        await draw(
          panels.spectrum,
          spectrumChart(
            pts,
            overlays.spectrum,
            `jacobianSpectrumTheory: mass at σ = 0 is ${fmt(th.zeroMass)}${zeros.length ? ` (measured ${zeros.join(', ')})` : ''}${atoms}`,
          ),
        );
      }
    } catch (e) {
      hook.data.spectrum = [];
      await fail(panels.spectrum, 'Jacobian singular values', e);
    }
    showStats();
    if (stale()) return;
    showProblems(errors);
    showNotes([...notes, ...overlays.notes]);
    hook.timings.updates.push({ first: (first ?? performance.now()) - start, all: performance.now() - start });
    hook.idle = true;
  }

  // records: dropped, picked, or (served page) ?records=
  const status = document.getElementById('records-status') as HTMLElement;
  const addTexts = (files: NamedText[]) => {
    const errs: string[] = [];
    for (const f of files) {
      try {
        const parsed = parseRecordsText(f.text, f.name);
        const records = f.tags ? parsed.records.map((r) => ({ ...r, tags: { ...f.tags, ...(r.tags ?? {}) } })) : parsed.records;
        loaded.push({ name: f.name, records });
        errs.push(...parsed.notes);
      } catch (e) {
        if (!isInputError(e)) console.error(e);
        errs.push((e as Error).message);
      }
    }
    const n = loaded.reduce((a, l) => a + l.records.length, 0);
    status.textContent = `${n} records from ${loaded.length} file${loaded.length === 1 ? '' : 's'}${errs.length ? `; ${errs.join('; ')}` : ''}`;
    status.dataset.count = String(n);
    schedule();
  };
  const drop = document.getElementById('drop') as HTMLElement;
  document.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  document.addEventListener('dragleave', () => drop.classList.remove('over'));
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer)
      void collectDropped(e.dataTransfer).then(addTexts, (err: Error) => {
        status.textContent = err.message;
      });
  });
  for (const id of ['records-file', 'records-dir']) {
    const input = document.getElementById(id) as HTMLInputElement;
    input.addEventListener('change', () => {
      if (input.files) void collectPicked(input.files).then(addTexts);
    });
  }
  (document.getElementById('records-clear') as HTMLElement).addEventListener('click', () => {
    loaded.length = 0;
    status.textContent = '';
    status.dataset.count = '0';
    schedule();
  });
  if (recordsParams.length) {
    if (location.protocol === 'file:')
      hook.problems.push('records=: a page opened from a file cannot fetch records; drop the file on the page instead');
    else
      void Promise.all(
        recordsParams.map(async (p) => {
          const r = await fetch(`api/records?path=${encodeURIComponent(p)}`);
          const text = await r.text();
          if (!r.ok) throw new RecordsParseError(`records=${p}: ${text.trim()}`);
          return { name: `${p}.jsonl`, text };
        }),
      ).then(addTexts, (e) => {
        status.textContent = (e as Error).message;
        schedule();
      });
  }
  showProblems([]);
  schedule();
}

boot();
