/// <reference lib="dom" />
// The explorer page: controls → state (in the URL) → the theory room's functions (model.ts) → four Vega-Lite
// figures drawn by vega's SVG renderer, with loaded records overlaid. An update runs its plots one after the
// other, yielding between them, and stops when a newer state arrives; the phase diagram is kept per activation.
import { SpecError } from '../../network/index.js';
import type { SPRecord } from '../../records/index.js';
import { batchChart, depthChart, messageChart, phaseChart, spectrumChart } from './charts.js';
import { buildControls, type Patch } from './controls.js';
import { batchGrid, batchMethod, type DepthView, depthView, lambdaAt, PHASE_SB2, PHASE_SW2, specOf, spectrumView } from './model.js';
import { type Overlays, overlaysOf } from './overlay.js';
import { cellJob, criticalJob, type PhaseResults, runPhaseJobs } from './phaseJobs.js';
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

/** Above this many ms for one predict, the λ(B) curve (one predict per B) is computed only on request. */
const SLOW_MS = 150;
/** The phase diagram: ms one chi1 or criticalLine may take (in its worker), and ms for all of one update. */
const PHASE_BUDGET_MS = 1500;
const PHASE_TOTAL_MS = 30_000;

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
  const phaseCache = new Map<string, PhaseResults>();

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

  // the λ(B) curve of a slow net (predict per B takes seconds), computed for this state on request
  let fullCurve: string | null = null;
  const curveButton = document.createElement('button');
  curveButton.id = 'batch-curve';
  curveButton.hidden = true;
  panels.batch.root.querySelector('.downloads')?.prepend(curveButton);

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
    const t0 = performance.now();
    let depthMs = 0;
    try {
      dv = depthView(spec, state.dynamics);
      depthMs = performance.now() - t0;
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
        // 'predict' nets: predict at this B is the depth plot's own prediction (the dynamics never run there)
        const lam = B === null ? null : method === 'predict' && dv ? dv.prediction.predictedGrowth : lambdaAt(spec, B);
        const limit = lambdaAt(spec, null);
        hook.stats.lambda = lam ?? limit;
        hook.stats.lambdaInf = limit;
        showStats();
        const grid = batchGrid(method, B);
        // predict at a finite B can take seconds (Linear → φ → BN: a Monte Carlo per B); then the curve waits for a click
        const key = JSON.stringify(state);
        const slow = method === 'predict' && depthMs > SLOW_MS && fullCurve !== key;
        curveButton.hidden = !slow;
        curveButton.textContent = `compute λ at ${grid.length} batch sizes (about ${Math.ceil((depthMs * grid.length) / 1000)} s)`;
        curveButton.onclick = () => {
          fullCurve = key;
          schedule();
        };
        const curve: { batch: number; lambda: number }[] = [];
        let t = performance.now();
        for (const b of slow ? (B === null ? [] : [B]) : grid) {
          curve.push({ batch: b, lambda: b === B && lam !== null ? lam : lambdaAt(spec, b) });
          if (performance.now() - t > 40) {
            await tick();
            if (stale()) return;
            t = performance.now();
          }
        }
        if (slow)
          notes.push(
            `λ(B): predict takes ${depthMs.toFixed(0)} ms per batch size for this net; the curve is drawn on request (the button under the plot)`,
          );
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
    // 3. the phase diagram of the plain net's q/c-maps: in a worker, kept per activation
    try {
      const act = String(spec.activation);
      let known = phaseCache.get(act);
      if (!known) {
        known = new Map();
        phaseCache.set(act, known);
      }
      const here = cellJob(state.sigmaW2, state.sigmaB2);
      const hereCritical = criticalJob(state.sigmaB2);
      // the cells first: most are quick, and a slow critical point (a bisection through the slow region) comes last
      const grid = [...PHASE_SB2.flatMap((sb) => PHASE_SW2.map((sw) => cellJob(sw, sb))), ...PHASE_SB2.map(criticalJob)];
      await runPhaseJobs(act, [here, hereCritical, ...grid], known, { budgetMs: PHASE_BUDGET_MS, totalMs: PHASE_TOTAL_MS, stale });
      if (stale()) return;
      const cells: { sigmaW2: number; sigmaB2: number; chi1: number }[] = [];
      const critical: { sigmaB2: number; sigmaW2: number }[] = [];
      let late = 0;
      let skipped = 0;
      let missing = 0;
      for (const j of grid) {
        const r = known.get(j.key);
        if (r === undefined) missing++;
        else if (r === 'timeout') late++;
        else if (r === 'skipped') skipped++;
        else if ('cell' in r) cells.push(r.cell);
        else if ('critical' in r) {
          if (r.critical) critical.push(r.critical);
        } else errors.push(`phase diagram: ${r.error}`);
      }
      const h = known.get(here.key);
      const hc = known.get(hereCritical.key);
      hook.stats.chi1 = h && typeof h !== 'string' && 'cell' in h ? h.cell.chi1 : null;
      hook.stats.critical = hc && typeof hc !== 'string' && 'critical' in hc ? (hc.critical?.sigmaW2 ?? null) : null;
      if (typeof h === 'string' || typeof hc === 'string')
        notes.push(
          `χ₁ or the critical σ_w² at this point: the theory took over ${PHASE_BUDGET_MS / 1000} s (its q* iteration, for ${act}); not shown`,
        );
      const diverging = cells.filter((c) => c.chi1 === Number.POSITIVE_INFINITY).length;
      if (diverging)
        notes.push(
          `phase diagram: ${diverging} of ${grid.length - PHASE_SB2.length} points have no q* (the q-map diverges for ${act}: the forward pass explodes, so χ₁ is not defined there); not drawn`,
        );
      const gap = late + skipped + missing;
      if (gap)
        notes.push(
          `phase diagram: ${gap} of ${grid.length} points not drawn: ${late} took over ${PHASE_BUDGET_MS / 1000} s each in chi1 or criticalLine for ${act}, ${skipped} skipped after them (larger σ_w² on their row, the other critical points)${missing ? `, ${missing} past this update's ${PHASE_TOTAL_MS / 1000} s` : ''}`,
        );
      hook.data.phaseCritical = critical;
      await draw(
        panels.phase,
        phaseChart(
          cells,
          critical,
          { sigmaW2: state.sigmaW2, sigmaB2: state.sigmaB2 },
          { sw2: PHASE_SW2[1] - PHASE_SW2[0], sb2: PHASE_SB2[1] - PHASE_SB2[0] },
          `χ₁ = σ_w² E φ′(h)² at q* (chi1; no normalisation); line: criticalLine; + this σ_w², σ_b²${gap ? `; ${gap} points not computed` : ''}`,
          {
            sw2: [PHASE_SW2[0] - (PHASE_SW2[1] - PHASE_SW2[0]) / 2, PHASE_SW2[PHASE_SW2.length - 1] + (PHASE_SW2[1] - PHASE_SW2[0]) / 2],
            sb2: [PHASE_SB2[0] - (PHASE_SB2[1] - PHASE_SB2[0]) / 2, PHASE_SB2[PHASE_SB2.length - 1] + (PHASE_SB2[1] - PHASE_SB2[0]) / 2],
          },
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
