// Finite-size study: how the measured growth of ‖∂L/∂h‖² per layer departs from the mean-field rate
// λ(B) as the width N shrinks and as the batch B approaches N, with a least-squares fit of the 1/N
// correction g(N) = g∞ + a/N. Also the linear-BN net (identity), whose mean-field rate is (B−2)/(B−3);
// its readout loss is constant (Σ_i ẑ_i = 0), so it is sampled with sampleNetwork's default for it, the
// per-sample projection loss (src/network/loss.ts), whose gradient is real.
// Returns tidy records (tags.study = 'finite-size', tags.loss); docs/sampling.md reads the numbers.
import { makeSpec, type NetworkSpec, specFields, type SpecInput, studentT975 } from '../network/index.js';
import { record, type SPRecord } from '../records/index.js';
import { predict } from '../theory/index.js';
import { growthDf, sampleNetwork } from './sampler.js';

export interface FiniteSizeOptions {
  /** Depth of every net (default 24). */
  depth?: number;
  /** Widths for the sweep over N at fixed B (default 64, 128, 256, 512, 1024). */
  widths?: number[];
  /** Batch of the width sweep (default 32). */
  batch?: number;
  /** Width of the sweep over B (default 64). */
  narrowWidth?: number;
  /** Batches of that sweep (default 8, 16, 32, 64, 128, 256). */
  batches?: number[];
  /** Activations: ReLU (Yang's λ(B)) and identity (linear BN, (B−2)/(B−3)) by default. */
  activations?: string[];
  seeds?: number;
  baseSeed?: number;
  threads?: number;
  onProgress?: (message: string) => void;
}

interface Point {
  spec: NetworkSpec;
  growth: number;
  se: number;
  /** Degrees of freedom of se (seeds − 1): the interval is Student-t. */
  df: number;
  predicted: number | null;
  loss: string;
}

/** Weighted least squares of y = c + a·x with weights 1/se²; returns c, a and their standard errors. */
export function fitInverse(xs: number[], ys: number[], ses: number[]): { c: number; a: number; seC: number; seA: number } {
  let sw = 0;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  xs.forEach((x, i) => {
    const w = 1 / Math.max(ses[i], 1e-12) ** 2;
    sw += w;
    sx += w * x;
    sy += w * ys[i];
    sxx += w * x * x;
    sxy += w * x * ys[i];
  });
  const det = sw * sxx - sx * sx;
  const a = (sw * sxy - sx * sy) / det;
  const c = (sy - a * sx) / sw;
  return { c, a, seC: Math.sqrt(sxx / det), seA: Math.sqrt(sw / det) };
}

async function point(input: SpecInput, opts: FiniteSizeOptions): Promise<Point> {
  const spec = makeSpec(input);
  const res = await sampleNetwork(spec, { seeds: opts.seeds ?? 8, baseSeed: opts.baseSeed ?? 1, threads: opts.threads });
  let predicted: number | null = null;
  try {
    predicted = predict(spec).predictedGrowth;
  } catch {
    predicted = null;
  }
  return {
    spec,
    growth: res.measuredGrowth,
    se: res.measuredGrowthSE,
    df: growthDf(res.seeds.length, res.interior),
    predicted,
    loss: res.loss,
  };
}

/** Run the study; every point is one spec sampled at K seeds. */
export async function finiteSizeStudy(opts: FiniteSizeOptions = {}): Promise<SPRecord[]> {
  const depth = opts.depth ?? 24;
  const widths = opts.widths ?? [64, 128, 256, 512, 1024];
  const batch = opts.batch ?? 32;
  const narrow = opts.narrowWidth ?? 64;
  const batches = opts.batches ?? [8, 16, 32, 64, 128, 256];
  const acts = opts.activations ?? ['relu', 'identity'];
  const out: SPRecord[] = [];
  const push = (p: Point, sweep: string) => {
    const f = specFields(p.spec);
    const tags = { study: 'finite-size', sweep, ratioBN: (p.spec.batch ?? 0) / f.width, loss: p.loss };
    out.push(
      record(f, 'sampled', 'growth', null, p.growth, {
        sd: p.se,
        lo: p.growth - studentT975(p.df) * p.se,
        hi: p.growth + studentT975(p.df) * p.se,
        tags,
      }),
    );
    if (p.predicted !== null) out.push(record(f, 'theory', 'growth', null, p.predicted, { tags }));
  };
  for (const activation of acts) {
    const pts: Point[] = [];
    for (const width of widths) {
      opts.onProgress?.(`finite-size: ${activation}, width ${width}, batch ${batch}`);
      const p = await point({ depth, width, batch, activation }, opts);
      pts.push(p);
      push(p, 'width');
    }
    if (pts.length < 2) {
      for (const B of batches) {
        opts.onProgress?.(`finite-size: ${activation}, width ${narrow}, batch ${B}`);
        push(await point({ depth, width: narrow, batch: B, activation }, opts), 'batch');
      }
      continue;
    }
    const fit = fitInverse(
      pts.map((p) => 1 / (p.spec.width as number)),
      pts.map((p) => p.growth),
      pts.map((p) => p.se),
    );
    const f = specFields(pts[pts.length - 1].spec);
    const tags = { study: 'finite-size', sweep: 'width', fit: 'growth = g_inf + a/N', widths: widths.join(',') };
    out.push(record({ ...f, width: Number.POSITIVE_INFINITY }, 'sampled', 'growth_fit_intercept', null, fit.c, { sd: fit.seC, tags }));
    out.push(record({ ...f, width: Number.POSITIVE_INFINITY }, 'sampled', 'growth_fit_slope', null, fit.a, { sd: fit.seA, tags }));
    for (const B of batches) {
      opts.onProgress?.(`finite-size: ${activation}, width ${narrow}, batch ${B}`);
      push(await point({ depth, width: narrow, batch: B, activation }, opts), 'batch');
    }
  }
  return out;
}
