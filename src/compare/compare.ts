// The gap between theory, sampled networks and training: a join of tidy records and the error of each pair.
import { studentT975 } from '../network/index.js';
import { agreement, type Source, type SPRecord, summarize } from '../records/index.js';
import { RecordsError } from './load.js';
import { maxOf } from '../io/arrays.js';

/**
 * Quantities of the forward pass at initialization: they depend on the inputs but not on the loss, so
 * they join across losses (every other quantity joins only records with the same data and the same loss).
 */
export const FORWARD_QUANTITIES = [
  'preact_var',
  'postact_mean',
  'postact_var',
  'corr',
  'unit_corr',
  'q',
  'norm_spread',
  'distinct',
  'eff_rank',
  'gram_dev_l',
  'gram_dev_m',
  'weight_norm',
];

/**
 * The data and loss a record was measured with: trained records carry tags.data and tags.loss; sampled
 * nets run on Gaussian inputs (which the synthetic training data also is) with tags.loss; theory has
 * neither and so pairs with any. Unknown (undefined) matches everything.
 */
export function settingOf(r: SPRecord): { data?: string; loss?: string } {
  const t = r.tags ?? {};
  let data = typeof t.data === 'string' ? t.data : undefined;
  if (data === undefined && r.source === 'sampled') data = 'gaussian';
  if (data === 'synthetic') data = 'gaussian';
  const loss = typeof t.loss === 'string' ? t.loss : undefined;
  return { data, loss };
}

export interface CompareOptions {
  /** Relative tolerance: a pair agrees when |ln(measured/reference)| ≤ ln(1 + tolerance). Default 0.05; per quantity as a map ("*" = default). */
  tolerance?: number | Record<string, number>;
  /** A pair also agrees when |measured − reference| ≤ spreadLevel × the combined 95% half-width of the seed spread. Default 1. */
  spreadLevel?: number;
  /** A quantity agrees when at least this fraction of its pairs agree. Default 0.95. */
  minAgreeFraction?: number;
  /** Join on specId (default) or on these spec fields (e.g. ['depth', 'batch', 'activation']). */
  joinOn?: 'specId' | string[];
  /** Tag names that split groups (e.g. ['optimizer']); a side without the tag matches every value. */
  by?: string[];
  /** Which sources to compare, reference first. Default theory–sampled, theory–trained, sampled–trained. */
  pairs?: [Source, Source][];
  /** Only these quantities. */
  quantities?: string[];
  /** A record with step null (at initialization) pairs with step 0 of the other side. Default true. */
  nullStepIsInit?: boolean;
}

/** One side of a pair: the value, its seed spread and the 95% half-width of the mean (null when unknown). */
export interface SideStat {
  value: number;
  sd: number | null;
  half: number | null;
  n: number;
}

export interface ComparePair {
  reference: Source;
  measured: Source;
  specKey: string;
  quantity: string;
  layer: number | null;
  step: number | null;
  tags: Record<string, string | number | boolean | null>;
  ref: SideStat;
  meas: SideStat;
  /** measured / reference (exp of the difference for log quantities). */
  ratio: number | null;
  /** ln(measured / reference); for log quantities (log_*, cum_log_*) the plain difference. */
  logError: number | null;
  /** measured − reference. */
  diff: number;
  /** (measured − reference) / sqrt(sd_ref² + sd_meas²): distance in seed standard deviations. */
  zSd: number | null;
  /** (measured − reference) / sqrt(h_ref² + h_meas²), h the 95% half-width: |zCi| ≤ 1 is inside the interval. */
  zCi: number | null;
  withinTolerance: boolean;
  agree: boolean;
}

export type CompareVerdict = 'agree' | 'disagree';

export interface CompareSummary {
  quantity: string;
  reference: Source;
  measured: Source;
  nPairs: number;
  nAgree: number;
  fracAgree: number;
  tolerance: number;
  /** exp(mean ln ratio) over pairs with a ratio. */
  geoMeanRatio: number | null;
  medianAbsLogError: number | null;
  maxAbsLogError: number | null;
  maxAbsZSd: number | null;
  maxAbsZCi: number | null;
  verdict: CompareVerdict;
}

/** Groups that matched on spec, quantity, layer and step but were not joined: their data or loss differ. */
export interface NotJoined {
  reference: Source;
  measured: Source;
  quantity: string;
  /** e.g. "data gaussian vs mnist" or "loss readout vs xent". */
  reason: string;
  /** How many (layer, step, spec) groups were left unjoined for this reason. */
  count: number;
}

export interface CompareResult {
  pairs: ComparePair[];
  summary: CompareSummary[];
  notJoined: NotJoined[];
  options: Required<Omit<CompareOptions, 'quantities'>> & { quantities: string[] | null };
}

/** Quantities whose values are already natural logs: their error is the difference. */
export function isLogQuantity(q: string): boolean {
  return q.startsWith('log_') || q.startsWith('cum_log');
}

function toleranceFor(tol: number | Record<string, number>, q: string): number {
  if (typeof tol === 'number') return tol;
  return tol[q] ?? tol['*'] ?? 0.05;
}

interface Group {
  source: Source;
  specKey: string;
  quantity: string;
  layer: number | null;
  step: number | null;
  tags: Record<string, string | number | boolean | null>;
  setting: { data?: string; loss?: string };
  records: SPRecord[];
}

function specKeyOf(r: SPRecord, joinOn: 'specId' | string[]): string {
  if (joinOn === 'specId') return String(r.specId ?? '');
  return joinOn.map((f) => `${f}=${JSON.stringify((r as any)[f] ?? null)}`).join(',');
}

/** Collapse one group to a value with its spread: an aggregate record (seed null) if present, else a summary of the seeds. */
export function sideStat(g: { records: SPRecord[]; source: string; quantity: string }, where = ''): SideStat {
  const aggs = g.records.filter((r) => r.seed === null);
  if (aggs.length > 0) {
    const distinct = new Set(aggs.map((r) => r.value));
    if (distinct.size > 1) {
      throw new RecordsError(
        `ambiguous join: ${aggs.length} ${g.source} records of ${g.quantity}${where} with different values (${[...distinct].slice(0, 3).join(', ')}); add spec fields to joinOn or tags to by`,
      );
    }
    const a = aggs.reduce((best, r) => ((r.n ?? 1) > (best.n ?? 1) ? r : best), aggs[0]);
    const n = a.n ?? 1;
    const half =
      a.lo !== undefined && a.hi !== undefined
        ? (a.hi - a.lo) / 2
        : a.sd !== undefined && n > 1
          ? (studentT975(n - 1) * a.sd) / Math.sqrt(n)
          : null;
    return { value: a.value, sd: a.sd ?? null, half, n };
  }
  const seen = new Map<number, number>();
  for (const r of g.records) {
    const prev = seen.get(r.seed!);
    if (prev !== undefined && prev !== r.value) {
      throw new RecordsError(
        `ambiguous join: two ${g.source} records of ${g.quantity}${where} for seed ${r.seed} with different values; add spec fields to joinOn or tags to by (e.g. optimizer)`,
      );
    }
    seen.set(r.seed!, r.value);
  }
  const s = summarize([...seen.values()]);
  return { value: s.mean, sd: s.n > 1 ? s.sd : null, half: s.n > 1 ? (s.hi - s.lo) / 2 : null, n: s.n };
}

const hyp = (a: number | null, b: number | null): number | null => {
  if (a === null && b === null) return null;
  const v = Math.hypot(a ?? 0, b ?? 0);
  return v > 0 ? v : null;
};

/**
 * The error measures of one reference/measured pair (exported for tests and other rooms). Its agree
 * flag is the one agreement rule (src/records/agreement.ts): |measured − reference| ≤ tol + z·se with
 * the tolerance band |ln(measured/reference)| ≤ ln(1 + tolerance) written as a distance (t·|r| above
 * the reference, t·|r|/(1 + t) below it; ln(1 + t) for log quantities; t·|r| where there is no ratio)
 * and the seed band in units of the combined Student-t 95% half-width, z = spreadLevel (1 ≈ two
 * standard errors for many seeds, more for few).
 */
export function pairErrors(quantity: string, ref: SideStat, meas: SideStat, tolerance: number, spreadLevel: number) {
  const diff = meas.value - ref.value;
  let ratio: number | null = null;
  let logError: number | null = null;
  if (isLogQuantity(quantity)) {
    logError = diff;
    ratio = Math.exp(diff);
  } else if (ref.value !== 0) {
    ratio = meas.value / ref.value;
    if (ratio > 0 && Number.isFinite(ratio)) logError = Math.log(ratio);
  }
  const sdC = hyp(ref.sd, meas.sd);
  const hC = hyp(ref.half, meas.half);
  const zSd = sdC === null ? null : diff / sdC;
  const zCi = hC === null ? null : diff / hC;
  const withinTolerance =
    logError !== null ? Math.abs(logError) <= Math.log1p(tolerance) : Math.abs(diff) <= tolerance * Math.abs(ref.value);
  const r = Math.abs(ref.value);
  const absTol = isLogQuantity(quantity)
    ? Math.log1p(tolerance)
    : logError !== null && logError < 0
      ? (tolerance * r) / (1 + tolerance)
      : tolerance * r;
  const agree = agreement(ref.value, meas.value, { relTol: tolerance, absTol, se: hC, z: spreadLevel }).verdict === 'agrees';
  return { diff, ratio, logError, zSd, zCi, withinTolerance, agree };
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const maxAbs = (xs: (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x)).map(Math.abs);
  return v.length ? maxOf(v) : null;
};

/**
 * Join theory, sampled and trained records on spec (specId or fields), quantity, layer and step, and measure each gap:
 * ratio, log error, distance in seed spreads; then a verdict per quantity and pair of sources.
 */
export function compareRecords(records: SPRecord[], opts: CompareOptions = {}): CompareResult {
  const o = {
    tolerance: opts.tolerance ?? 0.05,
    spreadLevel: opts.spreadLevel ?? 1,
    minAgreeFraction: opts.minAgreeFraction ?? 0.95,
    joinOn: opts.joinOn ?? 'specId',
    by: opts.by ?? [],
    pairs:
      opts.pairs ??
      ([
        ['theory', 'sampled'],
        ['theory', 'trained'],
        ['sampled', 'trained'],
      ] as [Source, Source][]),
    quantities: opts.quantities ?? null,
    nullStepIsInit: opts.nullStepIsInit ?? true,
  };
  if (!(typeof o.spreadLevel === 'number' && o.spreadLevel >= 0))
    throw new RecordsError(`spreadLevel: ${o.spreadLevel} is not allowed; expected a number >= 0`);
  if (!(o.minAgreeFraction >= 0 && o.minAgreeFraction <= 1))
    throw new RecordsError(`minAgreeFraction: ${o.minAgreeFraction} is not allowed; expected a number in [0, 1]`);
  const tols = typeof o.tolerance === 'number' ? { '*': o.tolerance } : o.tolerance;
  for (const [q, t] of Object.entries(tols)) {
    if (!(typeof t === 'number' && t >= 0 && Number.isFinite(t)))
      throw new RecordsError(`tolerance${q === '*' ? '' : ` for ${q}`}: ${t} is not allowed; expected a finite number >= 0`);
  }

  const groups = new Map<string, Group>();
  for (const r of records) {
    if (o.quantities && !o.quantities.includes(r.quantity)) continue;
    const step = r.step === null && o.nullStepIsInit ? 0 : r.step;
    const tags: Group['tags'] = {};
    for (const t of o.by) if (r.tags && r.tags[t] !== undefined) tags[t] = r.tags[t];
    const specKey = specKeyOf(r, o.joinOn);
    const setting = settingOf(r);
    const key = JSON.stringify([
      r.source,
      specKey,
      r.quantity,
      r.layer,
      step,
      o.by.map((t) => tags[t] ?? null),
      setting.data ?? null,
      setting.loss ?? null,
    ]);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { source: r.source, specKey, quantity: r.quantity, layer: r.layer, step, tags, setting, records: [] }));
    g.records.push(r);
  }

  const bySource = new Map<Source, Map<string, Group[]>>();
  for (const g of groups.values()) {
    const base = JSON.stringify([g.specKey, g.quantity, g.layer, g.step]);
    let m = bySource.get(g.source);
    if (!m) bySource.set(g.source, (m = new Map()));
    const list = m.get(base) ?? [];
    list.push(g);
    m.set(base, list);
  }

  const pairs: ComparePair[] = [];
  const notJoined = new Map<string, NotJoined>();
  for (const [refSrc, measSrc] of o.pairs) {
    const refMap = bySource.get(refSrc);
    const measMap = bySource.get(measSrc);
    if (!refMap || !measMap) continue;
    for (const [base, refGroups] of refMap) {
      const measGroups = measMap.get(base);
      if (!measGroups) continue;
      for (const rg of refGroups) {
        for (const mg of measGroups) {
          const compatible = o.by.every((t) => rg.tags[t] === undefined || mg.tags[t] === undefined || rg.tags[t] === mg.tags[t]);
          if (!compatible) continue;
          const why = settingMismatch(rg, mg);
          if (why) {
            const k = JSON.stringify([refSrc, measSrc, rg.quantity, why]);
            const nj = notJoined.get(k) ?? { reference: refSrc, measured: measSrc, quantity: rg.quantity, reason: why, count: 0 };
            nj.count++;
            notJoined.set(k, nj);
            continue;
          }
          const where = ` (spec ${rg.specKey}, layer ${rg.layer}, step ${rg.step})`;
          const ref = sideStat(rg, where);
          const meas = sideStat(mg, where);
          const tol = toleranceFor(o.tolerance, rg.quantity);
          const e = pairErrors(rg.quantity, ref, meas, tol, o.spreadLevel);
          pairs.push({
            reference: refSrc,
            measured: measSrc,
            specKey: rg.specKey,
            quantity: rg.quantity,
            layer: rg.layer,
            step: rg.step,
            tags: { ...rg.tags, ...mg.tags },
            ref,
            meas,
            ...e,
          });
        }
      }
    }
  }
  pairs.sort(
    (a, b) =>
      a.quantity.localeCompare(b.quantity) ||
      a.reference.localeCompare(b.reference) ||
      a.measured.localeCompare(b.measured) ||
      a.specKey.localeCompare(b.specKey) ||
      (a.layer ?? -1) - (b.layer ?? -1) ||
      (a.step ?? -1) - (b.step ?? -1),
  );

  const summary: CompareSummary[] = [];
  const sumKeys = new Map<string, ComparePair[]>();
  for (const p of pairs) {
    const k = JSON.stringify([p.quantity, p.reference, p.measured]);
    const list = sumKeys.get(k) ?? [];
    list.push(p);
    sumKeys.set(k, list);
  }
  for (const [k, ps] of sumKeys) {
    const [quantity, reference, measured] = JSON.parse(k) as [string, Source, Source];
    const logs = ps.map((p) => p.logError).filter((x): x is number => x !== null && Number.isFinite(x));
    const nAgree = ps.filter((p) => p.agree).length;
    const fracAgree = nAgree / ps.length;
    summary.push({
      quantity,
      reference,
      measured,
      nPairs: ps.length,
      nAgree,
      fracAgree,
      tolerance: toleranceFor(o.tolerance, quantity),
      geoMeanRatio: logs.length ? Math.exp(logs.reduce((a, b) => a + b, 0) / logs.length) : null,
      medianAbsLogError: median(logs.map(Math.abs)),
      maxAbsLogError: maxAbs(logs),
      maxAbsZSd: maxAbs(ps.map((p) => p.zSd)),
      maxAbsZCi: maxAbs(ps.map((p) => p.zCi)),
      verdict: fracAgree >= o.minAgreeFraction ? 'agree' : 'disagree',
    });
  }
  const nj = [...notJoined.values()].sort(
    (a, b) =>
      a.quantity.localeCompare(b.quantity) ||
      a.reference.localeCompare(b.reference) ||
      a.measured.localeCompare(b.measured) ||
      a.reason.localeCompare(b.reason),
  );
  return { pairs, summary, notJoined: nj, options: o };
}

/** Why two groups of one spec, quantity, layer and step are not comparable (different data, or loss), or null. */
function settingMismatch(a: Group, b: Group): string | null {
  const differ = (x?: string, y?: string) => x !== undefined && y !== undefined && x !== y;
  if (differ(a.setting.data, b.setting.data)) return `data ${a.setting.data} vs ${b.setting.data}`;
  if (!FORWARD_QUANTITIES.includes(a.quantity) && differ(a.setting.loss, b.setting.loss))
    return `loss ${a.setting.loss} vs ${b.setting.loss}`;
  return null;
}
