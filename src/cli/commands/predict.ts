// signalprop predict: mean-field predictions for a spec (per-layer variances, correlations, gradient
// growth; λ(B) for BatchNorm nets), as a readable table or JSON records.
import type { Command } from 'commander';
import { specToJSON } from '../../network/index.js';
import { autoRunsGramDynamics, DYNAMICS_MODES, type DynamicsMode, predict } from '../../theory/index.js';
import { checkOutPath, numberFlag, progress, UsageError, writeFileAtomic } from '../io.js';
import { reportNonFinite } from '../nonFinite.js';
import { addSpecFlags, specFromFlags } from '../specFlags.js';
import { maxOf } from '../../io/arrays.js';
import { estimatePredict, memoryProblem } from '../../io/memory.js';

function fmt(v: number | undefined): string {
  if (v === undefined) return '-';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : v < 0 ? '-inf' : '-';
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(4) : v.toFixed(5);
}

const COLUMNS = ['preact_var', 'postact_mean', 'postact_var', 'corr', 'q', 'grad_growth', 'log_grad_h_sq', 'log_grad_w_sq'] as const;
/** Columns of the Gram dynamics, shown where they ran. */
const DYN_COLUMNS = ['norm_spread', 'distinct'] as const;

export function register(program: Command): void {
  const cmd = program
    .command('predict')
    .description(
      'Mean-field theory for a network spec: per-layer forward statistics and gradient growth (λ(B) of Yang et al. for Linear-BN-φ). Without --batch: the large-batch limit.',
    );
  addSpecFlags(cmd)
    .option('--input-corr <rho>', 'pairwise correlation of the input samples (default 0)')
    .option(
      '--top-grad-corr <c>',
      'correlation between samples of ∂L/∂x_L: 1 for the readout loss (default), 0 for per-sample-independent gradients',
    )
    .option(
      '--dynamics [mode]',
      `iterate the batch Gram dynamics: auto (where BSB1 is not attracting; the default), always (also bare --dynamics), never`,
    )
    .option(
      '--dynamics-samples <m>',
      'Monte Carlo samples per layer of the Gram dynamics (default 1024; M samples are in law a width-M net)',
    )
    .option('--dynamics-replicas <r>', 'independent replicas of the Gram dynamics, for the error bars (default 4)')
    .option('--seed <s>', 'seed of the Gram dynamics (default 1)')
    .option('--rows <n>', 'table: at most this many layers, evenly spaced (default 20)')
    .option('--json', 'print { spec, predictedGrowth, depthScale, logGrowthTotal, notes, records } as JSON')
    .option('--out <file>', 'also write that JSON to a file (atomically)')
    .action((opts: Record<string, any>) => {
      const spec = specFromFlags(opts, { batch: null }, { theoryBatch: true });
      const inputCorr = numberFlag('--input-corr', opts.inputCorr, { min: 0, max: 0.999999 });
      const topGradientCorr = numberFlag('--top-grad-corr', opts.topGradCorr, { min: 0, max: 1 });
      const rows = numberFlag('--rows', opts.rows, { int: true, min: 1 }) ?? 20;
      const raw = opts.dynamics === true ? 'always' : (opts.dynamics ?? 'auto');
      if (!(DYNAMICS_MODES as readonly string[]).includes(raw))
        throw new UsageError(`--dynamics: "${raw}" is not allowed; expected ${DYNAMICS_MODES.join(' | ')}`);
      checkOutPath('--out', opts.out, 'file');
      const samples = numberFlag('--dynamics-samples', opts.dynamicsSamples, { int: true, min: 16, max: 1 << 20 });
      const replicas = numberFlag('--dynamics-replicas', opts.dynamicsReplicas, { int: true, min: 1, max: 1000 });
      const seed = numberFlag('--seed', opts.seed, { int: true, min: 1, max: 2147483647 });
      // auto runs the Gram dynamics only where BSB1 is not attracting; only when they would not fit is that
      // asked here, of the theory (autoRunsGramDynamics: predict's own conditions)
      if (raw !== 'never') {
        const mem = memoryProblem(
          'predict',
          estimatePredict(spec, { samples: samples ?? 1024 }),
          '--batch, --dynamics-samples or --dynamics never',
        );
        if (mem && (raw === 'always' || autoRunsGramDynamics(spec))) throw new UsageError(mem);
      }
      let last = 0;
      const p = predict(spec, {
        inputCorr,
        topGradientCorr,
        dynamics: raw as DynamicsMode,
        dynamicsOptions: {
          ...(samples !== undefined ? { samples } : {}),
          ...(replicas !== undefined ? { replicas } : {}),
          ...(seed !== undefined ? { seed } : {}),
          progress: (g) => {
            const now = performance.now();
            if (now - last < 1000 && g.layer < g.layers) return;
            last = now;
            progress(`gram dynamics: replica ${g.replica + 1}, layer ${g.layer}/${g.layers}`);
          },
        },
      });
      const json = {
        spec: specToJSON(spec),
        predictedGrowth: p.predictedGrowth,
        depthScale: Number.isFinite(p.depthScale) ? p.depthScale : null,
        logGrowthTotal: p.logGrowthTotal,
        predictedGrowthSE: p.predictedGrowthSE,
        bsb1Growth: p.bsb1Growth,
        stability: p.stability,
        attractor: p.dynamics ? p.dynamics.attractor : null,
        notes: p.notes,
        records: p.records,
      };
      const text = `${JSON.stringify(json, null, opts.json ? 2 : 0)}\n`;
      if (opts.out) writeFileAtomic(opts.out, text);
      reportNonFinite('predict', spec, p.records, { name: 'predicted growth', value: p.predictedGrowth });
      if (opts.json) {
        process.stdout.write(text);
        return;
      }
      const L = spec.depth;
      const byLayer = new Map<number, Map<string, number>>();
      for (const r of p.records) {
        if (r.layer === null) continue;
        let m = byLayer.get(r.layer);
        if (!m) byLayer.set(r.layer, (m = new Map()));
        m.set(r.quantity, r.value);
      }
      const pick = new Set<number>();
      if (L <= rows) for (let l = 1; l <= L; l++) pick.add(l);
      else for (let i = 0; i < rows; i++) pick.add(1 + Math.round((i * (L - 1)) / (rows - 1)));
      const cols: string[] = p.dynamics ? [...COLUMNS, ...DYN_COLUMNS] : [...COLUMNS];
      const head = ['layer', ...cols];
      const lines = [head];
      for (const l of [...pick].sort((a, b) => a - b)) {
        const m = byLayer.get(l)!;
        lines.push([String(l), ...cols.map((c) => fmt(m.get(c) ?? m.get(`log_${c}`)))]);
      }
      const widths = head.map((_, j) => maxOf(lines.map((row) => row[j].length)));
      const out: string[] = [];
      out.push(
        `signalprop predict: ${spec.order}, ${typeof spec.activation === 'string' ? spec.activation : spec.activation.name}, depth ${L}, batch ${spec.batch ?? '∞ (large-batch limit)'}${spec.residual ? `, residual ×${spec.residual.scale}` : ''}`,
      );
      out.push(
        `predicted growth of ‖∂L/∂h‖² per layer: ${fmt(p.predictedGrowth)}${p.predictedGrowthSE > 0 ? ` ± ${fmt(p.predictedGrowthSE)} (Gram dynamics)` : ''}   depth scale 1/ln(growth): ${Number.isFinite(p.depthScale) ? fmt(p.depthScale) : 'infinite'} layers`,
      );
      if (p.stability) {
        const st = p.stability;
        const word = st.attracting ? (st.marginal ? 'attracting (marginal)' : 'attracting') : 'NOT attracting';
        out.push(
          `BSB1 fixed point: ${word}, λ_L = ${fmt(st.lambdaL)}, λ_M = ${fmt(st.lambdaM)}; λ(B) there = ${fmt(p.bsb1Growth ?? Number.NaN)}`,
        );
      }
      if (p.dynamics) {
        const a = p.dynamics.attractor;
        out.push(
          `attracting state (Gram dynamics): ${a.state === 'broken' ? 'symmetry-broken' : 'BSB1'}, growth ${fmt(a.rate)} ± ${fmt(a.rateSE)} over layers ${a.from}..${a.to}${a.settled ? '' : ' (not settled)'}`,
        );
      }
      out.push(`ln(‖∂L/∂h_1‖²/‖∂L/∂h_L‖²) = ${fmt(p.logGrowthTotal)}`);
      for (const n of p.notes) out.push(`note: ${n}`);
      out.push('');
      for (const row of lines) out.push(row.map((c, j) => c.padStart(widths[j])).join('  '));
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
