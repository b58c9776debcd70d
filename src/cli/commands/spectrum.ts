// signalprop spectrum: singular values of the input–output Jacobian of K sampled nets against the
// free-probability density (Pennington, Schoenholz & Ganguli 2017/2018).
import type { Command } from 'commander';
import { hasBN, type NetworkSpec, SpecError, specToJSON } from '../../network/index.js';
import { checkOutPath, numberFlag, progress, UsageError, writeFileAtomic } from '../io.js';
import { addSpecFlags, specFromFlags } from '../specFlags.js';
import { maxOf } from '../../io/arrays.js';
import { estimateSpectrum, memoryProblem } from '../../io/memory.js';
import { nonFiniteCell, reportNonFinite } from '../nonFinite.js';

/** Defaults of this command where they differ from the spec's: a plain net of moderate size. */
export const SPECTRUM_DEFAULTS = { order: 'linear-act', depth: 8, width: 256 } as const;

function fmt(v: number): string {
  if (!Number.isFinite(v)) return nonFiniteCell(v);
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(3) : v.toFixed(4);
}

export interface SvHistogram {
  lo: number[];
  hi: number[];
  empirical: number[];
  predicted: number[];
}

/** Fractions of singular values per bin on [0, σ_max], sampled and predicted (from the CDF). */
export function svHistogram(
  values: number[],
  F: (s: number) => number,
  Fleft: (s: number) => number,
  smax: number,
  bins: number,
  zeroTol: number,
): SvHistogram {
  const lo: number[] = [];
  const hi: number[] = [];
  const empirical: number[] = [];
  const predicted: number[] = [];
  const top = Math.max(smax, maxOf(values));
  for (let b = 0; b < bins; b++) {
    const a = (b * top) / bins;
    const c = ((b + 1) * top) / bins;
    lo.push(a);
    hi.push(c);
    // bin 0 is [0, c], the others (a, c]
    const inBin = values.filter((v) => {
      const s = v <= zeroTol ? 0 : v;
      return b === 0 ? s <= c : s > a && s <= c;
    }).length;
    empirical.push(inBin / values.length);
    predicted.push(F(c) - (b === 0 ? Fleft(0) : F(a)));
  }
  return { lo, hi, empirical, predicted };
}

export function register(program: Command): void {
  const cmd = program
    .command('spectrum')
    .description(
      'Singular values of the input–output Jacobian of K sampled nets (no BN, or BN with batch statistics held fixed) against the free-probability density (Pennington, Schoenholz & Ganguli). Defaults here: --order linear-act --depth 8 --width 256',
    );
  addSpecFlags(cmd)
    .option('--seeds <K>', 'number of sampled networks (default 4)')
    .option('--seed <s>', 'base seed; networks use seeds s, s+1, …, s+K−1 (default 1)')
    .option('--bins <n>', 'histogram bins of the printed summary (default 20)')
    .option('--points <n>', 'grid points of the predicted density (default 200)')
    .option('--json', 'print { spec, moments, ks, predicted: {sv, density}, zeroMass, atoms, histogram, records } as JSON')
    .option('--out <file>', 'also write that JSON to a file (atomically)')
    .action(async (opts: Record<string, any>) => {
      const spec: NetworkSpec = specFromFlags(opts, { ...SPECTRUM_DEFAULTS });
      const seeds = numberFlag('--seeds', opts.seeds, { int: true, min: 1, max: 10000 }) ?? 4;
      const seed = numberFlag('--seed', opts.seed, { int: true, min: 1, max: 2147483647 - seeds + 1 }) ?? 1;
      const bins = numberFlag('--bins', opts.bins, { int: true, min: 1, max: 10000 }) ?? 20;
      const points = numberFlag('--points', opts.points, { int: true, min: 10, max: 100000 }) ?? 200;
      // which nets the spectrum covers is the theory table's data (checkSupported), asked first (milliseconds):
      // a spec it refuses (residual, LayerNorm, a spectrum past float64) costs no sampling and prints no progress
      const { jacobianSpectrumTheory, singularValueCdf } = await import('../../theory/spectrum.js');
      let theory: ReturnType<typeof jacobianSpectrumTheory>;
      try {
        theory = jacobianSpectrumTheory(spec, { points });
      } catch (e) {
        if (e instanceof SpecError) throw new UsageError(e.message);
        throw e;
      }
      if (hasBN(spec) && spec.batch === null) throw new UsageError('--batch: BN nets need a batch size (an integer >= 6)');
      checkOutPath('--out', opts.out, 'file');
      const mem = memoryProblem('spectrum', estimateSpectrum(spec), '--width, --depth or --batch');
      if (mem) throw new UsageError(mem);
      const { jacobianSpectrum, spectrumRecords, ZERO_SV_REL } = await import('../../sample/spectrum.js');
      progress(
        `spectrum: ${seeds} network(s), depth ${spec.depth}, width ${Array.isArray(spec.width) ? spec.width.join(',') : spec.width}`,
      );
      const res = jacobianSpectrum(spec, {
        seeds,
        seed,
        theory: { points },
        precomputed: theory,
        onProgress: (done, total) => progress(`spectrum: ${done}/${total} networks`),
      });
      const cdf = singularValueCdf(res.theory);
      const smax = Math.sqrt(res.theory.lambdaMax);
      const hist = svHistogram(res.singularValues, cdf.F, cdf.Fleft, smax, bins, ZERO_SV_REL * smax);
      const out = {
        spec: specToJSON(spec),
        moments: res.moments,
        ks: res.ks,
        predicted: res.predicted,
        zeroMass: res.theory.zeroMass,
        atoms: res.theory.atoms.map((a) => ({ sv: Math.sqrt(a.lambda), mass: a.mass })),
        svMax: smax,
        histogram: hist,
        records: spectrumRecords(spec, res),
      };
      const json = JSON.stringify(out);
      if (opts.out) writeFileAtomic(opts.out, `${json}\n`);
      reportNonFinite('spectrum', spec, out.records, { name: 'first moment of JJᵀ', value: res.moments.m1Empirical });
      if (opts.json) {
        process.stdout.write(`${json}\n`);
        return;
      }
      const m = res.moments;
      const all = res.singularValues.slice().sort((a, b) => a - b);
      const q = (p: number) => all[Math.min(all.length - 1, Math.floor(p * all.length))];
      const lines: string[] = [];
      lines.push(
        `${all.length} singular values from ${seeds} net(s): min ${fmt(all[0])}  median ${fmt(q(0.5))}  max ${fmt(all[all.length - 1])}`,
      );
      lines.push(
        `moments of JJᵀ: m1 ${fmt(m.m1Empirical)} ± ${fmt(m.m1StdErr)} (theory ${fmt(m.m1)}), m2 ${fmt(m.m2Empirical)} ± ${fmt(m.m2StdErr)} (theory ${fmt(m.m2)})`,
      );
      lines.push(`KS distance to the predicted CDF: per seed ${res.ks.perSeed.map(fmt).join(', ')}; pooled ${fmt(res.ks.pooled)}`);
      lines.push(
        `predicted point masses: σ = 0 with ${fmt(res.theory.zeroMass)}${res.theory.atoms.map((a) => `, σ = ${fmt(Math.sqrt(a.lambda))} with ${fmt(a.mass)}`).join('')}; support up to σ = ${fmt(smax)}`,
      );
      lines.push('');
      lines.push('     σ from        σ to   sampled  predicted');
      for (let b = 0; b < bins; b++) {
        lines.push(
          `${fmt(hist.lo[b]).padStart(11)} ${fmt(hist.hi[b]).padStart(11)}  ${hist.empirical[b].toFixed(4).padStart(8)}  ${hist.predicted[b].toFixed(4).padStart(9)}`,
        );
      }
      lines.push('');
      lines.push('predicted density of σ:');
      const step = Math.max(1, Math.floor(res.predicted.sv.length / 20));
      for (let i = 0; i < res.predicted.sv.length; i += step)
        lines.push(`  σ ${fmt(res.predicted.sv[i]).padStart(10)}  ρ ${fmt(res.predicted.density[i])}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
