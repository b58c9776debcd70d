// The one input layer: zod schemas whose error message is what a field allows, and one parser that turns
// the first problem into an InputError naming the field (a dotted path), the value and what is allowed.
// Each room writes its schemas with these builders (a network's layers, a train config, a sweep file);
// types and field lists derive from the schemas, so a field is written down once.
import { z } from 'zod';
import type { InputError } from './errors.js';
import { didYouMean } from './suggest.js';

/** Builds the room's InputError subclass (TrainConfigError, SweepError, …). */
export type MakeInputError = (field: string, value: unknown, allowed: string) => InputError;

const finite = (v: number) => Number.isFinite(v);

/** A finite number for which ok holds; its error is `allowed`. */
export function num(allowed: string, ok: (v: number) => boolean = () => true) {
  return z.number({ error: allowed }).refine((v) => finite(v) && ok(v), { error: allowed });
}

/** An integer for which ok holds. */
export function int(allowed: string, ok: (v: number) => boolean = () => true) {
  return z.number({ error: allowed }).refine((v) => Number.isInteger(v) && ok(v), { error: allowed });
}

/** true or false. */
export function bool(allowed = 'true or false') {
  return z.boolean({ error: allowed });
}

/** One of a list of names. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T, allowed: string = values.join(' | ')) {
  return z.enum(values, { error: allowed });
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const p of path) v = isObject(v) || Array.isArray(v) ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

function fieldName(where: string, path: readonly PropertyKey[]): string {
  let f = where;
  for (const p of path) f = typeof p === 'number' ? `${f}[${p}]` : f ? `${f}.${String(p)}` : String(p);
  return f;
}

export interface ParseOptions {
  /** The message for a value that is not an object. */
  notObject: string;
  /** The field named when the value is not an object and `where` is '' (a top-level input), e.g. "config". */
  self?: string;
  /** The allowed text for an unknown key, given the known ones (default: "no such option (did you mean …); options are …"). */
  unknown?: (key: string, known: readonly string[]) => string;
}

/**
 * Parse an object with a zod object schema: an unknown key, or the first field that fails, becomes one
 * InputError (`where.field`, its value, the schema's message for it). Defaults are filled by the schema.
 */
export function parseObject<S extends z.ZodObject>(
  schema: S,
  input: unknown,
  where: string,
  err: MakeInputError,
  opts: ParseOptions,
): z.output<S> {
  if (!isObject(input)) throw err(where || (opts.self ?? ''), input, opts.notObject);
  const known = Object.keys(schema.shape);
  for (const k of Object.keys(input)) {
    if (!known.includes(k)) {
      const allowed = opts.unknown ? opts.unknown(k, known) : `no such option${didYouMean(k, known)}; options are ${known.join(', ')}`;
      throw err(fieldName(where, [k]), input[k], allowed);
    }
  }
  const r = schema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw err(fieldName(where, issue.path), valueAt(input, issue.path), issue.message);
  }
  return r.data;
}

/** The keys of an object schema, in order: the one list of its fields. */
export function fieldsOf(schema: z.ZodObject): string[] {
  return Object.keys(schema.shape);
}
