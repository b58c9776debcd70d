// Sweep specs: a base network spec, kind options and axes, expanded into cells with stable ids.
//
//   { "name": "depth-batch", "kind": "sample",
//     "base": { "order": "linear-bn-act", "width": 128 },
//     "options": { "loss": "readout", "seedsPerCell": 4 },
//     "axes": { "depth": [8, 16, 32], "batch": [8, 32, 128], "bn.eps": [1e-5, 1e-3] },
//     "seeds": [1, 2] }
//
// An axis path whose first segment is a spec field (depth, width, inputDim, batch, order, activation,
// init, bn, residual) sets the network spec; any other path sets the kind's options (optimizer.name,
// data.kind, loss, steps, ...). Cells are the cartesian product of the axes and the seeds; a cell's id is
// stableHash of its full configuration {v, kind, spec, options, seed}, so it does not depend on the order
// of the axes, the sweep's name or the cell's position.
import { z } from 'zod';
import { fieldsOf, parseObject } from '../network/input.js';
import {
  checkSeed,
  InputError,
  makeSpec,
  type NetworkSpec,
  nearestName,
  SpecError,
  type SpecInput,
  specToJSON,
  stableHash,
  unknownField,
} from '../network/index.js';
import { type CellKindModule, cellKindModules, loadCellKind } from './kinds.js';

/** A bad sweep file: names the field, the value and what is allowed (exit code 2 from the CLI). */
export class SweepError extends SpecError {
  constructor(field: string, value: unknown, allowed: string) {
    super(field, value, allowed);
    this.name = 'SweepError';
  }
}

/** Version of the cell format; part of every cell id. */
export const CELL_VERSION = 1;

/** The fields of a network spec that an axis path may start with. */
export const SPEC_ROOTS = ['depth', 'width', 'inputDim', 'batch', 'order', 'activation', 'init', 'bn', 'residual', 'layers'] as const;

const MAX_CELLS = 1_000_000;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const isPlainObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * A sweep file as written by the user: the one list of its fields. The kind's options, the spec and the
 * axes' values are checked against the kind's module after this shape (parseSweep).
 */
export const SWEEP_SCHEMA = z.object({
  name: z
    .string({ error: 'letters, digits, ".", "_" or "-" (1 to 100 characters, starting with a letter or digit)' })
    .regex(NAME_RE, { error: 'letters, digits, ".", "_" or "-" (1 to 100 characters, starting with a letter or digit)' })
    .optional(),
  /** A cell kind: predict | sample | train, or one registered with registerCellKind. */
  kind: z.custom<string>((v) => typeof v === 'string' && v in cellKindModules(), {
    error: () => Object.keys(cellKindModules()).join(' | '),
  }),
  base: z
    .custom<SpecInput>(isPlainObject, {
      error: 'a network spec object (depth, width, batch, order, activation, init, bn, residual; or layers, a layer list)',
    })
    .default({}),
  options: z.custom<Record<string, unknown>>(isPlainObject, { error: "an object of the kind's options" }).default({}),
  axes: z
    .custom<Record<string, unknown[]>>(isPlainObject, {
      error: 'an object mapping a dotted path (e.g. "depth", "bn.eps", "optimizer.name") to a list of values',
    })
    .default({}),
  /** A count K (seeds 1..K) or a list of seeds; default [1]. */
  seeds: z.unknown().optional(),
});
const SWEEP_FIELDS = fieldsOf(SWEEP_SCHEMA);

/** A sweep file as written by the user. */
export type SweepInput = Omit<z.input<typeof SWEEP_SCHEMA>, 'seeds'> & { seeds?: number | number[] };

export interface Axis {
  /** Dotted path, e.g. "depth", "bn.eps", "optimizer.name". */
  path: string;
  target: 'spec' | 'options';
  values: unknown[];
}

/** A validated sweep. */
export interface Sweep {
  name: string;
  kind: string;
  base: SpecInput;
  options: Record<string, unknown>;
  axes: Axis[];
  seeds: number[];
}

/** One unit of work: everything a worker needs, and nothing else. */
export interface Cell {
  v: number;
  /** stableHash of {v, kind, spec, options, seed}. */
  id: string;
  kind: string;
  /** The complete network spec in JSON form (specToJSON of the validated spec). */
  spec: Record<string, unknown>;
  /** The kind's options with defaults filled. */
  options: Record<string, unknown>;
  seed: number;
  /** This cell's value on each axis (path → value); labels only, not part of the id. */
  axes: Record<string, unknown>;
  /** Position in the sweep's expansion; not part of the id. */
  index: number;
}

/** The id of a cell's configuration. */
export function cellId(c: Pick<Cell, 'v' | 'kind' | 'spec' | 'options' | 'seed'>): string {
  return stableHash({ v: c.v, kind: c.kind, spec: c.spec, options: c.options, seed: c.seed });
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A copy of obj with the dotted path set to value (intermediate objects created; null replaced). */
export function setPath(obj: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = path;
  const out = { ...obj };
  if (rest.length === 0) out[head] = value;
  else out[head] = setPath(isObject(obj[head]) ? (obj[head] as Record<string, unknown>) : {}, rest, value);
  return out;
}

function rewrap(prefix: string, e: unknown): never {
  if (e instanceof InputError) throw new SweepError(`${prefix}${e.field}`, e.value, e.allowed);
  throw e;
}

/** Parse the seeds field: a count K means 1..K. */
function parseSeeds(raw: unknown): number[] {
  if (raw === undefined) return [1];
  if (typeof raw === 'number') {
    if (!Number.isInteger(raw) || raw < 1 || raw > 100_000)
      throw new SweepError('seeds', raw, 'a count from 1 to 100000 (seeds 1..K) or a list of distinct integer seeds from 1 to 2147483647');
    return Array.from({ length: raw }, (_, i) => i + 1);
  }
  if (!Array.isArray(raw) || raw.length === 0)
    throw new SweepError(
      'seeds',
      raw,
      'a count from 1 to 100000 (seeds 1..K) or a non-empty list of distinct integer seeds from 1 to 2147483647',
    );
  const seen = new Set<number>();
  raw.forEach((s, i) => {
    try {
      checkSeed(s as number, `seeds[${i}]`);
    } catch {
      throw new SweepError(`seeds[${i}]`, s, 'an integer from 1 to 2147483647');
    }
    if (seen.has(s as number)) throw new SweepError(`seeds[${i}]`, s, 'distinct seeds (this one appears twice)');
    seen.add(s as number);
  });
  return raw as number[];
}

function describeOptions(kind: string, mod: CellKindModule): string {
  const names = Object.keys(mod.optionFields);
  return names.length ? `an option of kind ${kind} (${names.join(', ')})` : `kind ${kind} takes no options`;
}

/** Validate options against a kind (unknown names, then the kind's own checks); returns them with defaults. */
function resolveOptions(kind: string, mod: CellKindModule, options: Record<string, unknown>, where: string): Record<string, unknown> {
  for (const k of Object.keys(options)) {
    if (!(k in mod.optionFields)) {
      const near = nearestName(k, [...Object.keys(mod.optionFields), ...SPEC_ROOTS]);
      throw new SweepError(
        `${where}${k}`,
        options[k],
        `${describeOptions(kind, mod)}${near ? ` (did you mean "${near}"?)` : ''}; a spec field belongs in "base"`,
      );
    }
  }
  try {
    return mod.resolveOptions ? mod.resolveOptions(options) : { ...options };
  } catch (e) {
    rewrap(where, e);
  }
}

function checkSpec(mod: CellKindModule, input: SpecInput, where: string, options: Record<string, unknown>): NetworkSpec {
  let spec: NetworkSpec;
  try {
    spec = makeSpec(mod.prepareSpec ? mod.prepareSpec(input, options) : input);
  } catch (e) {
    rewrap(where, e);
  }
  try {
    mod.checkSpec?.(spec);
  } catch (e) {
    rewrap(where, e);
  }
  return spec;
}

/**
 * Validate a sweep file's content. Throws SweepError naming the field (e.g. `axes.depth[2]`), the value
 * and what is allowed. Loads the kind's module (not the heavy library behind it) to check its options.
 */
export async function parseSweep(raw: unknown, defaults: { name?: string } = {}): Promise<Sweep> {
  const kinds = cellKindModules();
  const top = parseObject(
    SWEEP_SCHEMA,
    isObject(raw) && raw.name === undefined && defaults.name !== undefined ? { ...raw, name: defaults.name } : raw,
    '',
    (f, v, a) => new SweepError(f, v, a),
    {
      notObject: `an object with fields ${SWEEP_FIELDS.join(', ')}`,
      self: 'sweep',
      unknown: (k, known) => unknownField(k, known, 'a sweep'),
    },
  );
  const name = top.name ?? 'sweep';
  const kind = top.kind;
  const mod = await loadCellKind(kind, kinds);
  const { base, options } = top;
  if (isObject(raw) && raw.options !== undefined && !isObject(raw.options))
    throw new SweepError('options', raw.options, `an object: ${describeOptions(kind, mod)}`);
  resolveOptions(kind, mod, options, 'options.');
  checkSpec(mod, base as SpecInput, 'base.', options);

  const axesRaw = top.axes;
  const axes: Axis[] = [];
  for (const [path, values] of Object.entries(axesRaw)) {
    const segs = path.split('.');
    const field = `axes.${path}`;
    if (segs.some((s) => s === '')) throw new SweepError(field, path, 'a dotted path such as "depth", "bn.eps" or "optimizer.name"');
    if (segs[0] === 'seed' || segs[0] === 'seeds')
      throw new SweepError(field, values, 'seeds go in the top-level "seeds" field, not in axes');
    const target = (SPEC_ROOTS as readonly string[]).includes(segs[0]) ? 'spec' : 'options';
    if (target === 'options' && !(segs[0] in mod.optionFields)) {
      const near = nearestName(segs[0], [...SPEC_ROOTS, ...Object.keys(mod.optionFields)]);
      throw new SweepError(
        field,
        path,
        `a spec field (${SPEC_ROOTS.join(', ')}) or ${describeOptions(kind, mod)}${near ? ` (did you mean "${near}"?)` : ''}`,
      );
    }
    for (const other of axes) {
      if (other.path === path || other.path.startsWith(`${path}.`) || path.startsWith(`${other.path}.`)) {
        throw new SweepError(field, path, `an axis that does not overlap another axis (it overlaps axes.${other.path})`);
      }
    }
    if (!Array.isArray(values) || values.length === 0) throw new SweepError(field, values, 'a non-empty list of values');
    const seen = new Set<string>();
    values.forEach((v, i) => {
      const key = stableHash(v);
      if (seen.has(key)) throw new SweepError(`${field}[${i}]`, v, 'distinct values (this one appears twice)');
      seen.add(key);
      if (v === undefined) throw new SweepError(`${field}[${i}]`, v, 'a JSON value');
      // Each value on its own against the base: the error names the axis entry.
      const where = `${field}[${i}] → `;
      if (target === 'spec') checkSpec(mod, setPath(base, segs, v) as SpecInput, where, options);
      else resolveOptions(kind, mod, setPath(options, segs, v), where);
    });
    axes.push({ path, target, values });
  }
  const seeds = parseSeeds(top.seeds);
  const count = axes.reduce((n, a) => n * a.values.length, seeds.length);
  if (count > MAX_CELLS) throw new SweepError('axes', `${count} cells`, `at most ${MAX_CELLS} cells per sweep`);
  return { name, kind, base: base as SpecInput, options, axes, seeds };
}

function describeCell(axes: Record<string, unknown>, seed: number): string {
  const parts = Object.entries(axes).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `cell (${[...parts, `seed=${seed}`].join(', ')})`;
}

/**
 * Expand a sweep into cells: the cartesian product of its axes (first axis outermost) and its seeds
 * (innermost). Each combination is validated as a whole (e.g. a width list against a depth axis).
 */
export async function expandSweep(sweep: Sweep): Promise<Cell[]> {
  const mod = await loadCellKind(sweep.kind);
  const cells: Cell[] = [];
  // (no spread of `next` into a call: a million combinations would overflow the stack)
  let combos: Record<string, unknown>[] = [{}];
  for (const axis of sweep.axes) {
    const next: Record<string, unknown>[] = [];
    for (const c of combos) for (const v of axis.values) next.push({ ...c, [axis.path]: v });
    combos = next;
  }
  for (const combo of combos) {
    let specInput = sweep.base as Record<string, unknown>;
    let options = sweep.options;
    for (const axis of sweep.axes) {
      if (axis.target === 'spec') specInput = setPath(specInput, axis.path.split('.'), combo[axis.path]);
      else options = setPath(options, axis.path.split('.'), combo[axis.path]);
    }
    // The seed (innermost) changes neither the options nor the spec: check them once per combination.
    const first = `${describeCell(combo, sweep.seeds[0])} → `;
    const resolved = resolveOptions(sweep.kind, mod, options, first);
    const full = checkSpec(mod, specInput as SpecInput, first, resolved);
    const spec = specToJSON(full);
    for (const seed of sweep.seeds) {
      try {
        mod.checkCell?.(full, resolved, seed);
      } catch (e) {
        rewrap(`${describeCell(combo, seed)} → `, e);
      }
      const cell = { v: CELL_VERSION, kind: sweep.kind, spec, options: resolved, seed };
      cells.push({ ...cell, id: cellId(cell), axes: combo, index: cells.length });
    }
  }
  const ids = new Set<string>();
  for (const c of cells) {
    if (ids.has(c.id))
      throw new SweepError(
        'axes',
        describeCell(c.axes, c.seed),
        'axes whose combinations give distinct configurations (two cells have the same full configuration)',
      );
    ids.add(c.id);
  }
  return cells;
}

/** The sweep in the JSON form of a sweep file (for the manifest). */
export function sweepToJSON(sweep: Sweep): SweepInput & { name: string } {
  return {
    name: sweep.name,
    kind: sweep.kind,
    base: sweep.base,
    options: sweep.options,
    axes: Object.fromEntries(sweep.axes.map((a) => [a.path, a.values])),
    seeds: sweep.seeds,
  };
}
