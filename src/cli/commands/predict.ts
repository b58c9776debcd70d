// signalprop predict: mean-field predictions for a spec (per-layer variances, correlations, gradient
// growth; λ(B) for BatchNorm nets), as a readable table or JSON records.
import type { Command } from 'commander';
import { specToJSON } from '../../spec/index.js';
import { predict } from '../../theory/index.js';
import { numberFlag, writeFileAtomic } from '../io.js';
import { addSpecFlags, specFromFlags } from '../specFlags.js';

function fmt(v: number | undefined): string {
  if (v === undefined) return '-';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : v < 0 ? '-inf' : '-';
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(4) : v.toFixed(5);
}

const COLUMNS = ['preact_var', 'postact_mean', 'postact_var', 'corr', 'q', 'grad_growth', 'log_grad_h_sq', 'log_grad_w_sq'] as const;

export function register(program: Command): void {
  const cmd = program
    .command('predict')
    .description('Mean-field theory for a network spec: per-layer forward statistics and gradient growth (λ(B) of Yang et al. for Linear-BN-φ). Without --batch: the large-batch limit.');
  addSpecFlags(cmd)
    .option('--input-corr <rho>', 'pairwise correlation of the input samples (default 0)')
    .option('--top-grad-corr <c>', 'correlation between samples of ∂L/∂x_L: 1 for the readout loss (default), 0 for per-sample-independent gradients')
    .option('--rows <n>', 'table: at most this many layers, evenly spaced (default 20)')
    .option('--json', 'print { spec, predictedGrowth, depthScale, logGrowthTotal, notes, records } as JSON')
    .option('--out <file>', 'also write that JSON to a file (atomically)')
    .action((opts: Record<string, any>) => {
      const spec = specFromFlags(opts, { batch: null });
      const inputCorr = numberFlag('--input-corr', opts.inputCorr, { min: 0, max: 0.999999 });
      const topGradientCorr = numberFlag('--top-grad-corr', opts.topGradCorr, { min: 0, max: 1 });
      const rows = numberFlag('--rows', opts.rows, { int: true, min: 1 }) ?? 20;
      const p = predict(spec, { inputCorr, topGradientCorr });
      const json = {
        spec: specToJSON(spec),
        predictedGrowth: p.predictedGrowth,
        depthScale: Number.isFinite(p.depthScale) ? p.depthScale : null,
        logGrowthTotal: p.logGrowthTotal,
        notes: p.notes,
        records: p.records,
      };
      const text = `${JSON.stringify(json, null, opts.json ? 2 : 0)}\n`;
      if (opts.out) writeFileAtomic(opts.out, text);
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
      const head = ['layer', ...COLUMNS];
      const lines = [head];
      for (const l of [...pick].sort((a, b) => a - b)) {
        const m = byLayer.get(l)!;
        lines.push([String(l), ...COLUMNS.map((c) => fmt(m.get(c) ?? m.get(`log_${c}`)))]);
      }
      const widths = head.map((_, j) => Math.max(...lines.map((row) => row[j].length)));
      const out: string[] = [];
      out.push(`signalprop predict: ${spec.order}, ${typeof spec.activation === 'string' ? spec.activation : spec.activation.name}, depth ${L}, batch ${spec.batch ?? '∞ (large-batch limit)'}${spec.residual ? `, residual ×${spec.residual.scale}` : ''}`);
      out.push(`predicted growth of ‖∂L/∂h‖² per layer: ${fmt(p.predictedGrowth)}   depth scale 1/ln(growth): ${Number.isFinite(p.depthScale) ? fmt(p.depthScale) : 'infinite'} layers`);
      out.push(`ln(‖∂L/∂h_1‖²/‖∂L/∂h_L‖²) = ${fmt(p.logGrowthTotal)}`);
      for (const n of p.notes) out.push(`note: ${n}`);
      out.push('');
      for (const row of lines) out.push(row.map((c, j) => c.padStart(widths[j])).join('  '));
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
