// The one error class for bad user input, in every room: a network description, a train config, a sweep
// file, a records file, a CLI flag. Its message is one line naming the field, the value and what is allowed;
// the CLI prints it and exits 2 when `e instanceof InputError` (src/cli/program.ts), with no stack trace.
// Rooms keep named subclasses (SpecError, TrainConfigError, …) so that callers can tell where it came from.

/** A value as it appears in a message: JSON, with non-finite numbers spelled out and long values cut. */
export function formatValue(v: unknown): string {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (typeof v === 'bigint') return `${v}`;
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 200 ? `${s.slice(0, 200)}…` : s;
  } catch {
    return String(v);
  }
}

/** The message format: `<field>: <value> is not allowed; expected <allowed>`. */
export function inputMessage(field: string, value: unknown, allowed: string): string {
  return `${field}: ${formatValue(value)} is not allowed; expected ${allowed}`;
}

/** Bad user input: the field (a dotted path, a flag or a file:line), the value and what is allowed. */
export class InputError extends Error {
  constructor(
    public readonly field: string,
    public readonly value: unknown,
    public readonly allowed: string,
    /** A message in other words, for input that is not one value (a file that cannot be read, …). */
    message?: string,
  ) {
    super(message ?? inputMessage(field, value, allowed));
    this.name = 'InputError';
  }
}

/** An InputError whose message is already written (the field is the part before the first ": "). */
export function inputErrorFromMessage(message: string): { field: string; message: string } {
  const i = message.indexOf(': ');
  return { field: i > 0 ? message.slice(0, i) : '', message };
}
