// A bad training configuration: names the field, the value and what is allowed (CLI: exit code 2).
export class TrainConfigError extends Error {
  constructor(
    public readonly field: string,
    public readonly value: unknown,
    public readonly allowed: string,
  ) {
    super(`${field}: ${fmt(value)} is not allowed; expected ${allowed}`);
    this.name = 'TrainConfigError';
  }
}

function fmt(v: unknown): string {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 200 ? `${s.slice(0, 200)}…` : s;
  } catch {
    return String(v);
  }
}
