// Records in the browser: the file forms src/compare/load.ts reads (a JSON array or an object with `records`,
// JSON lines; a run directory's records.jsonl with its manifest's run id), checked against the record schema
// of src/records (RECORD_FIELDS, SOURCES). load.ts reads files with node:fs, so the page has its own reader
// of the text; the rules are load.ts's (a torn last JSON line is skipped, NaN/Infinity come as strings).
import { unknownField } from '../../network/index.js';
import { RECORD_FIELDS, SOURCES, type SPRecord } from '../../records/index.js';

/** A records file the page could not read: the message names the file (and line), the field and the value. */
export class RecordsParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordsParseError';
  }
}

const KNOWN = new Set(RECORD_FIELDS);
const show = (v: unknown) => JSON.stringify(v)?.slice(0, 80);

function parseValue(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v === null || v === 'NaN') return Number.NaN;
  if (v === 'Infinity' || v === '+Infinity') return Number.POSITIVE_INFINITY;
  if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
  return undefined;
}

/** One parsed object as a record, or a RecordsParseError naming `where`, the field and what is allowed. */
export function checkRecord(raw: unknown, where: string): SPRecord {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new RecordsParseError(`${where}: ${show(raw)} is not allowed; expected a record object`);
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r))
    if (!KNOWN.has(k))
      throw new RecordsParseError(`${where}: ${k} ${show(r[k])} is not allowed; expected ${unknownField(k, RECORD_FIELDS, 'a record')}`);
  if (!(SOURCES as readonly unknown[]).includes(r.source))
    throw new RecordsParseError(`${where}: source ${show(r.source)} is not allowed; expected ${SOURCES.join(' | ')}`);
  if (typeof r.quantity !== 'string' || r.quantity === '')
    throw new RecordsParseError(`${where}: quantity ${show(r.quantity)} is not allowed; expected a non-empty string`);
  const value = parseValue(r.value);
  if (value === undefined)
    throw new RecordsParseError(`${where}: value ${show(r.value)} is not allowed; expected a number (or null / "NaN" / "Infinity")`);
  const out: Record<string, unknown> = { ...r, value };
  for (const f of ['layer', 'step', 'seed'] as const) {
    const v = r[f] ?? null;
    if (v !== null && typeof v !== 'number')
      throw new RecordsParseError(`${where}: ${f} ${show(v)} is not allowed; expected a number or null`);
    out[f] = v;
  }
  for (const f of ['sd', 'lo', 'hi', 'n'] as const) {
    if (r[f] === undefined || r[f] === null) delete out[f];
    else if (typeof r[f] !== 'number') throw new RecordsParseError(`${where}: ${f} ${show(r[f])} is not allowed; expected a number`);
  }
  if (r.tags !== undefined && (r.tags === null || typeof r.tags !== 'object' || Array.isArray(r.tags)))
    throw new RecordsParseError(`${where}: tags ${show(r.tags)} is not allowed; expected an object`);
  return out as unknown as SPRecord;
}

export interface ParsedRecords {
  records: SPRecord[];
  /** What was skipped (a torn last line), one line each. */
  notes: string[];
}

function parseLines(text: string, name: string): ParsedRecords {
  const records: SPRecord[] = [];
  const notes: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      if (lines.slice(i + 1).every((l) => l.trim() === '')) {
        notes.push(`${name}:${i + 1}: skipped a torn last line (${line.length} characters; a run interrupted mid-write?)`);
        break;
      }
      throw new RecordsParseError(`${name}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    records.push(checkRecord(obj, `${name}:${i + 1}`));
  }
  return { records, notes };
}

function parseArray(text: string, name: string): ParsedRecords {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new RecordsParseError(`${name}: not valid JSON (${(e as Error).message})`);
  }
  const o = obj as { records?: unknown };
  const arr = Array.isArray(obj) ? obj : o && typeof o === 'object' && Array.isArray(o.records) ? o.records : null;
  if (!arr) throw new RecordsParseError(`${name}: expected a JSON array of records, or an object with a "records" array`);
  return { records: arr.map((r, i) => checkRecord(r, `${name}[${i}]`)), notes: [] };
}

/** Parse one records file's text by its name (.jsonl/.ndjson lines, .json array; else by its first character). */
export function parseRecordsText(text: string, name: string): ParsedRecords {
  const t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (/\.(jsonl|ndjson)$/i.test(name)) return parseLines(t, name);
  if (/\.json$/i.test(name)) return parseArray(t, name);
  return t.trimStart().startsWith('[') ? parseArray(t, name) : parseLines(t, name);
}

/** The run labels a run directory's manifest.json gives its records (as load.ts: the run id, optimizer, status). */
export function manifestTags(text: string | null, dirName: string): Record<string, string> {
  if (text === null) return { run: dirName };
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new RecordsParseError(`${dirName}/manifest.json: not valid JSON (${(e as Error).message})`);
  }
  const tags: Record<string, string> = { run: typeof m?.id === 'string' ? m.id : dirName };
  const opt = m?.optimizer as { name?: unknown; kind?: unknown } | string | undefined;
  const optName =
    typeof opt === 'string' ? opt : typeof opt?.name === 'string' ? opt.name : typeof opt?.kind === 'string' ? opt.kind : undefined;
  if (optName) tags.optimizer = optName;
  if (typeof m?.status === 'string') tags.status = m.status;
  return tags;
}

/** JSON lines of records with NaN and ±Infinity written as the strings the readers accept (JSON has neither). */
export function recordsToJsonl(records: readonly SPRecord[]): string {
  const safe = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v);
  return records.map((r) => JSON.stringify(r, safe)).join('\n') + (records.length ? '\n' : '');
}
