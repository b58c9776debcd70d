// CLI plumbing shared by every command: usage errors (exit 2), atomic writes, stderr progress.
import { readFileSync } from 'node:fs';

import { outPathProblem } from '../io/outPath.js';
import { InputError, inputErrorFromMessage } from '../network/errors.js';
import { DEFAULT_RNG, RNGS, type RngName } from '../network/random.js';

export { writeFileAtomic } from '../io/files.js';

/** Bad input: printed as one line, exit code 2. */
export class UsageError extends InputError {
  constructor(message: string) {
    const { field } = inputErrorFromMessage(message);
    super(field, undefined, '', message);
    this.name = 'UsageError';
  }
}

export function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(
      `${what}: "${path}" is not allowed; expected a readable JSON file (cannot read it: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  try {
    // a UTF-8 byte-order mark (some Windows editors write one) is not part of the JSON
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    throw new UsageError(`${what}: "${path}" is not valid JSON (${(e as Error).message}); expected a JSON file`);
  }
}

/** The help text of --rng. */
export const RNG_FLAG_HELP = `generator of every draw: ${RNGS.join(' | ')} (default ${DEFAULT_RNG}; mt19937 redraws results written before the switch, docs/random.md)`;

/** Parse --rng (undefined when absent); names the flag, the value and what is allowed. */
export function rngFlag(value: unknown, flag = '--rng'): RngName | undefined {
  if (value === undefined) return undefined;
  if (!(RNGS as readonly unknown[]).includes(value))
    throw new UsageError(`${flag}: "${value}" is not allowed; expected ${RNGS.join(' | ')}`);
  return value as RngName;
}

/** Parse a numeric flag; names the flag, the value and what is allowed. */
export function numberFlag(
  flag: string,
  raw: string | undefined,
  opts: { int?: boolean; min?: number; max?: number } = {},
): number | undefined {
  if (raw === undefined) return undefined;
  // decimal only: Number() would also read "0x10" as 16, "0b11" as 3 and "" as 0
  const decimal = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw.trim());
  const v = Number(raw);
  const ok =
    decimal &&
    Number.isFinite(v) &&
    (!opts.int || Number.isInteger(v)) &&
    (opts.min === undefined || v >= opts.min) &&
    (opts.max === undefined || v <= opts.max);
  if (!ok) {
    const kind = opts.int ? 'a decimal integer' : 'a decimal number';
    const range = [opts.min !== undefined ? `>= ${opts.min}` : '', opts.max !== undefined ? `<= ${opts.max}` : '']
      .filter(Boolean)
      .join(' and ');
    throw new UsageError(`${flag}: "${raw}" is not allowed; expected ${kind}${range ? ` ${range}` : ''}`);
  }
  return v;
}

/** Progress to stderr, one line per call (never on stdout). */
export function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** Check an output path before any work (see src/io/outPath.ts); a bad one is a UsageError naming the flag. */
export function checkOutPath(flag: string, path: string | undefined, kind: 'file' | 'dir'): void {
  if (path === undefined) return;
  const problem = outPathProblem(String(path), kind);
  if (problem) throw new UsageError(`${flag}: "${path}" ${problem}`);
}
